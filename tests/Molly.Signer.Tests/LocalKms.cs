using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.KeyManagementService;
using Amazon.Runtime;
using Molly.Chains.Crypto;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;

namespace Molly.Signer.Tests;

internal sealed record KmsCall(string Target, string? Authorization, string ContentType, JsonElement Body);

/// <summary>
/// A KMS stand-in on 127.0.0.1 (a real HTTP server; the SDK client talks to it over the network): answers GetPublicKey and
/// Sign for one secp256k1 key with the recorded response shapes in TestData, signing with a random k like KMS does and
/// returning the HIGH-S form of each signature (KMS does not normalise s), and records every request.
/// </summary>
internal sealed class LocalKms : IAsyncDisposable
{
    /// <summary>Hardhat's development account #0: a published test key, address 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266.</summary>
    public static readonly byte[] TestPrivateKey = Convert.FromHexString("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
    public const string TestAddress = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private readonly SecureRandom _random = new();

    public LocalKms(string keyArn)
    {
        KeyArn = keyArn;
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public string KeyArn { get; }

    public int Port { get; }

    public List<KmsCall> Calls { get; } = [];

    /// <summary>When set, Sign answers with this KMS error type (HTTP 400) instead of a signature.</summary>
    public string? SignError { get; set; }

    public IAmazonKeyManagementService Client() => new AmazonKeyManagementServiceClient(
        new BasicAWSCredentials("AKIDEXAMPLE", "test-secret"),
        new AmazonKeyManagementServiceConfig { ServiceURL = $"http://127.0.0.1:{Port}", AuthenticationRegion = "eu-west-1", MaxErrorRetry = 0 });

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
            try { await AnswerAsync(context); }
            finally { context.Response.Close(); }
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
        var body = JsonDocument.Parse(await reader.ReadToEndAsync()).RootElement.Clone();
        var target = context.Request.Headers["X-Amz-Target"] ?? "";
        lock (Calls) Calls.Add(new KmsCall(target, context.Request.Headers["Authorization"], context.Request.ContentType ?? "", body));

        if (body.GetProperty("KeyId").GetString() != KeyArn)
        {
            await WriteAsync(context, 400, new JsonObject { ["__type"] = "NotFoundException", ["message"] = "Key does not exist" });
            return;
        }
        switch (target)
        {
            case "TrentService.GetPublicKey":
                var key = Recorded("kms-get-public-key-response.json");
                key["KeyId"] = KeyArn;
                key["PublicKey"] = Convert.ToBase64String(new SubjectPublicKeyInfo(
                    new AlgorithmIdentifier(X9ObjectIdentifiers.IdECPublicKey, SecObjectIdentifiers.SecP256k1),
                    Secp256k1.GetPublicKey(TestPrivateKey, compressed: false)).GetDerEncoded());
                await WriteAsync(context, 200, key);
                break;
            case "TrentService.Sign" when SignError is { } error:
                await WriteAsync(context, 400, new JsonObject { ["__type"] = error, ["message"] = "stub error" });
                break;
            case "TrentService.Sign":
                var signature = Recorded("kms-sign-response.json");
                signature["KeyId"] = KeyArn;
                signature["Signature"] = Convert.ToBase64String(SignHighS(Convert.FromBase64String(body.GetProperty("Message").GetString()!)));
                await WriteAsync(context, 200, signature);
                break;
            default:
                await WriteAsync(context, 400, new JsonObject { ["__type"] = "UnsupportedOperationException", ["message"] = target });
                break;
        }
    }

    private byte[] SignHighS(byte[] digest)
    {
        var ecdsa = new ECDsaSigner();
        ecdsa.Init(true, new ParametersWithRandom(new ECPrivateKeyParameters(new Org.BouncyCastle.Math.BigInteger(1, TestPrivateKey), Secp256k1.Domain), _random));
        var rs = ecdsa.GenerateSignature(digest);
        var s = rs[1].CompareTo(Secp256k1.HalfN) > 0 ? rs[1] : Secp256k1.N.Subtract(rs[1]);
        return new EcdsaSignature(rs[0], s).ToDer();
    }

    private static JsonObject Recorded(string file) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", file)))!.AsObject();

    private static async Task WriteAsync(HttpListenerContext context, int status, JsonObject body)
    {
        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/x-amz-json-1.1";
        context.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        context.Response.ContentLength64 = bytes.Length;
        await context.Response.OutputStream.WriteAsync(bytes);
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
