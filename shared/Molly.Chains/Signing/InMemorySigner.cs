using Molly.Chains.Crypto;

namespace Molly.Chains.Signing;

/// <summary>
/// An <see cref="ISigner"/> over private keys held in process memory: for tests and vectors only (the keystore and KMS
/// signers are the production ones). Key material never appears in messages.
/// </summary>
public sealed class InMemorySigner : ISigner
{
    private readonly Dictionary<string, (SignerKeyAlgorithm Algorithm, byte[] Secret)> _keys = new(StringComparer.Ordinal);

    public InMemorySigner Add(string keyId, SignerKeyAlgorithm algorithm, ReadOnlySpan<byte> secret)
    {
        SignerGuard.KeyId(keyId);
        if (secret.Length != 32) throw new ArgumentException($"A {algorithm} private key/seed is 32 bytes, got {secret.Length}.", nameof(secret));
        if (algorithm == SignerKeyAlgorithm.Secp256k1 && !Secp256k1.IsValidPrivateKey(secret))
            throw new ArgumentException("The secp256k1 private key is out of range.", nameof(secret));
        _keys[keyId] = (algorithm, secret.ToArray());
        return this;
    }

    public Task<EcdsaSignature> SignDigestAsync(string keyId, ReadOnlyMemory<byte> digest32, CancellationToken cancellationToken = default)
    {
        SignerGuard.Digest(digest32);
        var secret = Get(keyId, SignerKeyAlgorithm.Secp256k1);
        return Task.FromResult(Secp256k1.Sign(digest32.Span, secret));
    }

    public Task<byte[]> SignEd25519Async(string keyId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        Task.FromResult(Ed25519.Sign(Get(keyId, SignerKeyAlgorithm.Ed25519), message.Span));

    public Task<SignerPublicKey> GetPublicKeyAsync(string keyId, CancellationToken cancellationToken = default)
    {
        SignerGuard.KeyId(keyId);
        if (!_keys.TryGetValue(keyId, out var key)) throw new SignerKeyNotFoundException(keyId);
        var pub = key.Algorithm == SignerKeyAlgorithm.Secp256k1
            ? Secp256k1.GetPublicKey(key.Secret, compressed: false)
            : Ed25519.PublicKeyFromSeed(key.Secret);
        return Task.FromResult(new SignerPublicKey(key.Algorithm, pub));
    }

    private byte[] Get(string keyId, SignerKeyAlgorithm wanted)
    {
        SignerGuard.KeyId(keyId);
        if (!_keys.TryGetValue(keyId, out var key)) throw new SignerKeyNotFoundException(keyId);
        if (key.Algorithm != wanted) throw new SignerKeyAlgorithmMismatchException(keyId, key.Algorithm, wanted);
        return key.Secret;
    }
}
