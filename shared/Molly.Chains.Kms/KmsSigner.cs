using System.Collections.Concurrent;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Molly.Chains.Crypto;
using Molly.Chains.Signing;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;

namespace Molly.Chains.Kms;

/// <summary>
/// An <see cref="ISigner"/> over AWS KMS asymmetric keys. ECC_SECG_P256K1 keys sign a 32-byte digest with ECDSA_SHA_256 and
/// MessageType DIGEST; the DER signature is parsed strictly, normalised to low-S, and its recovery id found by recovering
/// against the key's public key. ECC_NIST_EDWARDS25519 keys sign the raw message with ED25519_SHA_512 (MessageType RAW).
/// Public keys (DER SubjectPublicKeyInfo) are fetched once per key and cached.
/// </summary>
public sealed class KmsSigner(IAmazonKeyManagementService kms) : ISigner
{
    private const string Secp256k1Oid = "1.3.132.0.10";
    private const string EcPublicKeyOid = "1.2.840.10045.2.1";
    private const string Ed25519Oid = "1.3.101.112";

    private readonly ConcurrentDictionary<string, SignerPublicKey> _publicKeys = new(StringComparer.Ordinal);

    public async Task<EcdsaSignature> SignDigestAsync(string keyId, ReadOnlyMemory<byte> digest32, CancellationToken cancellationToken = default)
    {
        SignerGuard.KeyId(keyId);
        SignerGuard.Digest(digest32);
        var pub = await RequireAsync(keyId, SignerKeyAlgorithm.Secp256k1, cancellationToken).ConfigureAwait(false);
        var response = await CallAsync(keyId, () => kms.SignAsync(new SignRequest
        {
            KeyId = keyId,
            Message = new MemoryStream(digest32.ToArray()),
            MessageType = MessageType.DIGEST,
            SigningAlgorithm = SigningAlgorithmSpec.ECDSA_SHA_256,
        }, cancellationToken)).ConfigureAwait(false);
        if (!EcdsaSignature.TryFromDer(response.Signature.ToArray(), out var der, out var error))
            throw new SignerException($"KMS returned a malformed signature for key '{keyId}': {error}");
        var low = der.NormalizeS();
        for (var recoveryId = 0; recoveryId < 2; recoveryId++)
        {
            var candidate = new EcdsaSignature(low.R, low.S, recoveryId);
            byte[] recovered;
            try { recovered = Secp256k1.RecoverPublicKey(digest32.Span, candidate); }
            catch (ArgumentException) { continue; }
            if (recovered.AsSpan().SequenceEqual(pub.Key.Span)) return candidate;
        }
        throw new SignerException($"KMS signature for key '{keyId}' does not recover to the key's public key.");
    }

    public async Task<byte[]> SignEd25519Async(string keyId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default)
    {
        SignerGuard.KeyId(keyId);
        await RequireAsync(keyId, SignerKeyAlgorithm.Ed25519, cancellationToken).ConfigureAwait(false);
        var response = await CallAsync(keyId, () => kms.SignAsync(new SignRequest
        {
            KeyId = keyId,
            Message = new MemoryStream(message.ToArray()),
            MessageType = MessageType.RAW,
            SigningAlgorithm = SigningAlgorithmSpec.ED25519_SHA_512,
        }, cancellationToken)).ConfigureAwait(false);
        var signature = response.Signature.ToArray();
        if (signature.Length != Ed25519.SignatureSize)
            throw new SignerException($"KMS returned a {signature.Length}-byte Ed25519 signature for key '{keyId}'; expected 64.");
        return signature;
    }

    public async Task<SignerPublicKey> GetPublicKeyAsync(string keyId, CancellationToken cancellationToken = default)
    {
        SignerGuard.KeyId(keyId);
        if (_publicKeys.TryGetValue(keyId, out var cached)) return cached;
        var response = await CallAsync(keyId, () => kms.GetPublicKeyAsync(new GetPublicKeyRequest { KeyId = keyId }, cancellationToken)).ConfigureAwait(false);
        var key = ParseSubjectPublicKeyInfo(keyId, response.PublicKey.ToArray());
        _publicKeys[keyId] = key;
        return key;
    }

    /// <summary>Reads a DER SubjectPublicKeyInfo: id-ecPublicKey with secp256k1 parameters, or id-Ed25519.</summary>
    public static SignerPublicKey ParseSubjectPublicKeyInfo(string keyId, byte[] der)
    {
        SubjectPublicKeyInfo info;
        try { info = SubjectPublicKeyInfo.GetInstance(Asn1Object.FromByteArray(der)); }
        catch (Exception ex) when (ex is IOException or ArgumentException or InvalidCastException)
        { throw new SignerException($"KMS public key of '{keyId}' is not a DER SubjectPublicKeyInfo.", ex); }
        var algorithm = info.AlgorithmID.Algorithm.Id;
        var keyBytes = info.PublicKeyData.GetBytes();
        if (algorithm == Ed25519Oid)
            return keyBytes.Length == 32 ? new SignerPublicKey(SignerKeyAlgorithm.Ed25519, keyBytes)
                : throw new SignerException($"KMS Ed25519 public key of '{keyId}' is {keyBytes.Length} bytes, not 32.");
        if (algorithm == EcPublicKeyOid && info.AlgorithmID.Parameters is DerObjectIdentifier curve && curve.Id == Secp256k1Oid)
        {
            if (!Secp256k1.TryParsePublicKey(keyBytes, out _)) throw new SignerException($"KMS secp256k1 public key of '{keyId}' is not a point on the curve.");
            return new SignerPublicKey(SignerKeyAlgorithm.Secp256k1, Secp256k1.DecompressPublicKey(keyBytes));
        }
        throw new SignerException($"KMS key '{keyId}' is not a secp256k1 or Ed25519 key (algorithm {algorithm}).");
    }

    private async Task<SignerPublicKey> RequireAsync(string keyId, SignerKeyAlgorithm wanted, CancellationToken cancellationToken)
    {
        var pub = await GetPublicKeyAsync(keyId, cancellationToken).ConfigureAwait(false);
        return pub.Algorithm == wanted ? pub : throw new SignerKeyAlgorithmMismatchException(keyId, pub.Algorithm, wanted);
    }

    private static async Task<T> CallAsync<T>(string keyId, Func<Task<T>> call)
    {
        try { return await call().ConfigureAwait(false); }
        catch (NotFoundException) { throw new SignerKeyNotFoundException(keyId); }
        catch (AmazonKeyManagementServiceException ex) { throw new SignerException($"KMS refused to use key '{keyId}': {ex.ErrorCode}.", ex); }
    }
}
