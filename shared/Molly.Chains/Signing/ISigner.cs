using Molly.Chains.Crypto;

namespace Molly.Chains.Signing;

/// <summary>
/// The signing seam: AWS KMS in the cloud, an encrypted keystore file on one machine. Private keys never cross it;
/// callers name a key by id and get signatures and public keys back.
/// </summary>
public interface ISigner
{
    /// <summary>
    /// Signs a 32-byte digest with a secp256k1 key. The result is low-S and carries the recovery id that recovers
    /// the key's public key from <paramref name="digest32"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The digest is not 32 bytes.</exception>
    /// <exception cref="SignerKeyNotFoundException">No key has this id.</exception>
    /// <exception cref="SignerKeyAlgorithmMismatchException">The key is not a secp256k1 key.</exception>
    Task<EcdsaSignature> SignDigestAsync(string keyId, ReadOnlyMemory<byte> digest32, CancellationToken cancellationToken = default);

    /// <summary>Signs <paramref name="message"/> (not a hash of it) with an Ed25519 key; returns the 64-byte signature.</summary>
    Task<byte[]> SignEd25519Async(string keyId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default);

    /// <summary>The public key and algorithm of a key.</summary>
    Task<SignerPublicKey> GetPublicKeyAsync(string keyId, CancellationToken cancellationToken = default);
}

/// <summary>Argument checks every <see cref="ISigner"/> applies the same way.</summary>
public static class SignerGuard
{
    public static void KeyId(string keyId)
    {
        if (string.IsNullOrWhiteSpace(keyId)) throw new ArgumentException("A key id is required.", nameof(keyId));
    }

    public static void Digest(ReadOnlyMemory<byte> digest32)
    {
        if (digest32.Length != 32)
            throw new ArgumentException($"A secp256k1 signature is over a 32-byte digest, got {digest32.Length} bytes.", nameof(digest32));
    }
}
