using System.Net;
using System.Text;
using System.Text.Json;
using Amazon.KeyManagementService;
using Amazon.Runtime;
using Molly.Chains.Crypto;
using Molly.Chains.Kms;
using Molly.Chains.Signing;
using Org.BouncyCastle.Asn1.EdEC;
using Org.BouncyCastle.Asn1.Sec;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;
using Xunit;

namespace Molly.Chains.Tests.Signing;

/// <summary>
/// Runs the signer contract against <see cref="KmsSigner"/> with the real AWS SDK client, whose HTTP calls reach a fake
/// KMS that checks the documented JSON 1.1 wire format (X-Amz-Target TrentService.*) and signs with BouncyCastle keys.
/// </summary>
public sealed class KmsSignerContractTests : SignerContractTests
{
    internal readonly FakeKms Kms = new();

    protected override Task<ISigner> CreateSignerAsync() => Task.FromResult<ISigner>(new KmsSigner(Kms.Client()));

    [Fact]
    public async Task Requests_carry_the_documented_fields()
    {
        var signer = await CreateSignerAsync();
        await signer.SignDigestAsync(SecpId, new byte[32]);
        await signer.SignEd25519Async(EdId, "raw"u8.ToArray());
        Assert.Contains(Kms.Requests, r => r.Target == "TrentService.GetPublicKey");
        var ecdsa = Kms.Requests.Single(r => r.Target == "TrentService.Sign" && r.Body.GetProperty("KeyId").GetString() == SecpId);
        Assert.Equal("ECDSA_SHA_256", ecdsa.Body.GetProperty("SigningAlgorithm").GetString());
        Assert.Equal("DIGEST", ecdsa.Body.GetProperty("MessageType").GetString());
        Assert.Equal(Convert.ToBase64String(new byte[32]), ecdsa.Body.GetProperty("Message").GetString());
        var ed = Kms.Requests.Single(r => r.Target == "TrentService.Sign" && r.Body.GetProperty("KeyId").GetString() == EdId);
        Assert.Equal("ED25519_SHA_512", ed.Body.GetProperty("SigningAlgorithm").GetString());
        Assert.Equal("RAW", ed.Body.GetProperty("MessageType").GetString());
        Assert.Equal(Convert.ToBase64String("raw"u8.ToArray()), ed.Body.GetProperty("Message").GetString());
    }

    [Fact]
    public async Task High_s_signatures_from_kms_are_normalised()
    {
        var signer = await CreateSignerAsync();
        for (var i = 0; i < 12; i++) await signer.SignDigestAsync(SecpId, System.Security.Cryptography.SHA256.HashData([(byte)i]));
        Assert.True(Kms.HighSReturned > 0, "the fake should have produced at least one high-S signature in 12 tries");
    }

    [Fact]
    public void Rejects_a_public_key_of_another_curve()
    {
        var p256 = new SubjectPublicKeyInfo(new AlgorithmIdentifier(X9ObjectIdentifiers.IdECPublicKey, SecObjectIdentifiers.SecP256r1),
            Secp256k1.GetPublicKey(new byte[31].Append((byte)1).ToArray(), compressed: false)).GetDerEncoded();
        var ex = Assert.Throws<SignerException>(() => KmsSigner.ParseSubjectPublicKeyInfo("k", p256));
        Assert.Contains("not a secp256k1 or Ed25519", ex.Message);
    }
}

internal sealed record KmsRequest(string Target, JsonElement Body);

internal sealed class FakeKms : HttpMessageHandler
{
    private readonly byte[] _secp = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
    private readonly byte[] _edSeed = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);
    private readonly SecureRandom _random = new();

    public List<KmsRequest> Requests { get; } = [];

    public int HighSReturned { get; private set; }

    public IAmazonKeyManagementService Client() => new AmazonKeyManagementServiceClient(
        new BasicAWSCredentials("AKIDEXAMPLE", "test-secret"),
        new AmazonKeyManagementServiceConfig
        {
            ServiceURL = "http://127.0.0.1:9", AuthenticationRegion = "us-east-1", MaxErrorRetry = 0,
            HttpClientFactory = new Factory(this),
        });

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var target = request.Headers.GetValues("X-Amz-Target").Single();
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.StartsWith("application/x-amz-json-1.1", request.Content!.Headers.ContentType!.ToString());
        Assert.True(request.Headers.TryGetValues("Authorization", out var authorization), "request is not SigV4-signed");
        Assert.Contains("AWS4-HMAC-SHA256", string.Join(",", authorization));
        var body = JsonDocument.Parse(await request.Content.ReadAsStringAsync(cancellationToken)).RootElement.Clone();
        Requests.Add(new KmsRequest(target, body));
        var keyId = body.GetProperty("KeyId").GetString()!;
        if (keyId is not (SignerContractTests_Ids.Secp or SignerContractTests_Ids.Ed))
            return Json(HttpStatusCode.BadRequest, new { __type = "NotFoundException", message = $"Key '{keyId}' does not exist" });
        var arn = $"arn:aws:kms:us-east-1:111122223333:key/{keyId}";
        return target switch
        {
            "TrentService.GetPublicKey" => Json(HttpStatusCode.OK, keyId == SignerContractTests_Ids.Secp
                ? new Dictionary<string, object> { ["KeyId"] = arn, ["KeySpec"] = "ECC_SECG_P256K1", ["KeyUsage"] = "SIGN_VERIFY", ["SigningAlgorithms"] = new[] { "ECDSA_SHA_256" }, ["PublicKey"] = Convert.ToBase64String(SecpSpki()) }
                : new Dictionary<string, object> { ["KeyId"] = arn, ["KeySpec"] = "ECC_NIST_EDWARDS25519", ["KeyUsage"] = "SIGN_VERIFY", ["SigningAlgorithms"] = new[] { "ED25519_SHA_512" }, ["PublicKey"] = Convert.ToBase64String(EdSpki()) }),
            "TrentService.Sign" => Json(HttpStatusCode.OK, new Dictionary<string, object>
            {
                ["KeyId"] = arn, ["SigningAlgorithm"] = body.GetProperty("SigningAlgorithm").GetString()!,
                ["Signature"] = Convert.ToBase64String(Sign(keyId, body)),
            }),
            _ => Json(HttpStatusCode.BadRequest, new { __type = "UnsupportedOperationException", message = target }),
        };
    }

    private byte[] Sign(string keyId, JsonElement body)
    {
        var message = Convert.FromBase64String(body.GetProperty("Message").GetString()!);
        if (keyId == SignerContractTests_Ids.Ed)
        {
            Assert.Equal("RAW", body.GetProperty("MessageType").GetString());
            return Ed25519.Sign(_edSeed, message);
        }
        Assert.Equal("DIGEST", body.GetProperty("MessageType").GetString());
        Assert.Equal(32, message.Length);
        var ecdsa = new ECDsaSigner(); // random k, like KMS: s may be high
        ecdsa.Init(true, new ParametersWithRandom(new ECPrivateKeyParameters(new Org.BouncyCastle.Math.BigInteger(1, _secp), Secp256k1.Domain), _random));
        var rs = ecdsa.GenerateSignature(message);
        var sig = new EcdsaSignature(rs[0], rs[1]);
        if (!sig.IsLowS) HighSReturned++;
        return sig.ToDer();
    }

    private byte[] SecpSpki() => new SubjectPublicKeyInfo(new AlgorithmIdentifier(X9ObjectIdentifiers.IdECPublicKey, SecObjectIdentifiers.SecP256k1),
        Secp256k1.GetPublicKey(_secp, compressed: false)).GetDerEncoded();

    private byte[] EdSpki() => new SubjectPublicKeyInfo(new AlgorithmIdentifier(EdECObjectIdentifiers.id_Ed25519), Ed25519.PublicKeyFromSeed(_edSeed)).GetDerEncoded();

    private static HttpResponseMessage Json(HttpStatusCode status, object body)
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/x-amz-json-1.1") };
        response.Headers.Add("x-amzn-RequestId", Guid.NewGuid().ToString());
        return response;
    }

    private sealed class Factory(HttpMessageHandler handler) : HttpClientFactory
    {
        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(handler, disposeHandler: false);
    }
}

internal static class SignerContractTests_Ids
{
    public const string Secp = "secp-key";
    public const string Ed = "ed-key";
}
