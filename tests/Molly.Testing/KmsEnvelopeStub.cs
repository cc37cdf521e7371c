using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.KeyManagementService;
using Amazon.Runtime;

namespace Molly.Testing;

public sealed record KmsStubCall(string Target, JsonElement Body);

/// <summary>
/// A KMS stand-in on 127.0.0.1 for symmetric envelope encryption (a real HTTP server speaking the KMS JSON 1.1 protocol, so
/// the real SDK client is exercised): GenerateDataKey returns a random data key and its encryption under a stub master key
/// (AES-256-GCM with the key id and the canonical EncryptionContext as associated data); Decrypt really decrypts and so fails
/// with InvalidCiphertextException when the blob or the EncryptionContext differ. Records every request.
/// </summary>
public sealed class KmsEnvelopeStub : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private readonly byte[] _masterKey = RandomNumberGenerator.GetBytes(32);

    public KmsEnvelopeStub(string keyArn = "arn:aws:kms:eu-west-1:111122223333:key/0f0e0d0c-envelope")
    {
        KeyArn = keyArn;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public string KeyArn { get; }
    public int Port { get; }

    /// <summary>When set, every call answers with this KMS error type (HTTP 400).</summary>
    public string? FailWith { get; set; }

    public List<KmsStubCall> Calls { get; } = [];

    public IReadOnlyList<KmsStubCall> CallsTo(string operation)
    {
        lock (Calls) return Calls.Where(c => c.Target == "TrentService." + operation).ToList();
    }

    /// <summary>The real SDK client pointed at this stub (no retries, so a stub error surfaces at once).</summary>
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
            catch (Exception e) when (e is JsonException or FormatException or KeyNotFoundException or InvalidOperationException)
            {
                await WriteAsync(context, 400, Error("SerializationException", e.GetType().Name));
            }
            finally { context.Response.Close(); }
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
        var body = JsonDocument.Parse(await reader.ReadToEndAsync()).RootElement.Clone();
        var target = context.Request.Headers["X-Amz-Target"] ?? "";
        lock (Calls) Calls.Add(new KmsStubCall(target, body));

        if (FailWith is { } error)
        {
            await WriteAsync(context, 400, Error(error, "stub error"));
            return;
        }
        if (!body.TryGetProperty("KeyId", out var keyId) || keyId.GetString() != KeyArn)
        {
            await WriteAsync(context, 400, Error("NotFoundException", "Key does not exist"));
            return;
        }
        var aad = AssociatedData(body);
        switch (target)
        {
            case "TrentService.GenerateDataKey" when body.GetProperty("KeySpec").GetString() == "AES_256":
            {
                var dataKey = RandomNumberGenerator.GetBytes(32);
                var blob = new byte[12 + 32 + 16];
                RandomNumberGenerator.Fill(blob.AsSpan(0, 12));
                using (var aes = new AesGcm(_masterKey, 16))
                    aes.Encrypt(blob.AsSpan(0, 12), dataKey, blob.AsSpan(12, 32), blob.AsSpan(44, 16), aad);
                await WriteAsync(context, 200, new JsonObject
                {
                    ["CiphertextBlob"] = Convert.ToBase64String(blob), ["KeyId"] = KeyArn, ["Plaintext"] = Convert.ToBase64String(dataKey),
                });
                break;
            }
            case "TrentService.Decrypt":
            {
                var blob = Convert.FromBase64String(body.GetProperty("CiphertextBlob").GetString()!);
                var dataKey = new byte[32];
                try
                {
                    if (blob.Length != 60) throw new CryptographicException();
                    using var aes = new AesGcm(_masterKey, 16);
                    aes.Decrypt(blob.AsSpan(0, 12), blob.AsSpan(12, 32), blob.AsSpan(44, 16), dataKey, aad);
                }
                catch (CryptographicException)
                {
                    await WriteAsync(context, 400, Error("InvalidCiphertextException", ""));
                    return;
                }
                await WriteAsync(context, 200, new JsonObject
                {
                    ["KeyId"] = KeyArn, ["Plaintext"] = Convert.ToBase64String(dataKey), ["EncryptionAlgorithm"] = "SYMMETRIC_DEFAULT",
                });
                break;
            }
            default:
                await WriteAsync(context, 400, Error("ValidationException", target));
                break;
        }
    }

    /// <summary>The key id and the EncryptionContext, sorted by key: what KMS binds a ciphertext to.</summary>
    private byte[] AssociatedData(JsonElement body)
    {
        var text = new StringBuilder(KeyArn);
        if (body.TryGetProperty("EncryptionContext", out var ec))
            foreach (var p in ec.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                text.Append('\n').Append(p.Name).Append('=').Append(p.Value.GetString());
        return Encoding.UTF8.GetBytes(text.ToString());
    }

    private static JsonObject Error(string type, string message) => new() { ["__type"] = type, ["message"] = message };

    private static async Task WriteAsync(HttpListenerContext context, int status, JsonObject body)
    {
        var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/x-amz-json-1.1";
        context.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        context.Response.ContentLength64 = bytes.Length;
        await context.Response.OutputStream.WriteAsync(bytes);
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }
}
