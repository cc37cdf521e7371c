using Molly.Chains.Crypto;

namespace Molly.Chains.Signing;

/// <summary>The signature scheme a key is for; every key has exactly one.</summary>
public enum SignerKeyAlgorithm
{
    /// <summary>ECDSA on secp256k1 over a 32-byte digest (EVM, Tron, Bitcoin family).</summary>
    Secp256k1,

    /// <summary>Ed25519 (RFC 8032, pure) over the raw message (Solana).</summary>
    Ed25519,
}

/// <summary>Helpers for <see cref="EcdsaSignature"/> as signers return it (low-S, recovery id set).</summary>
public static class EcdsaSignatureRsv
{
    /// <summary>The recovery id, which every signature from an <see cref="ISigner"/> carries.</summary>
    public static int RequireRecoveryId(this EcdsaSignature signature) =>
        signature.RecoveryId ?? throw new ArgumentException("The signature carries no recovery id.", nameof(signature));

    /// <summary>r(32) || s(32) || v(1) with v = recovery id + <paramref name="vOffset"/> (0 for Tron transactions, 27 for message signatures).</summary>
    public static byte[] ToRsv(this EcdsaSignature signature, int vOffset = 0)
    {
        var result = new byte[65];
        signature.ToCompact().CopyTo(result, 0);
        result[64] = checked((byte)(signature.RequireRecoveryId() + vOffset));
        return result;
    }

    /// <summary>Parses r(32) || s(32) || v(1); v may be the raw recovery id (0..3) or 27..30.</summary>
    public static EcdsaSignature FromRsv(ReadOnlySpan<byte> rsv)
    {
        if (rsv.Length != 65) throw new FormatException($"An r||s||v signature is 65 bytes, got {rsv.Length}.");
        int v = rsv[64];
        var recoveryId = v >= 27 ? v - 27 : v;
        if (recoveryId is < 0 or > 3) throw new FormatException($"Signature v byte {v} is not a recovery id (0..3 or 27..30).");
        return EcdsaSignature.FromCompact(rsv[..64], recoveryId);
    }
}

/// <summary>
/// A signer's public key. For <see cref="SignerKeyAlgorithm.Secp256k1"/> the key is the 65-byte uncompressed SEC1 point
/// (0x04 || X || Y); for <see cref="SignerKeyAlgorithm.Ed25519"/> it is the 32-byte RFC 8032 encoding.
/// </summary>
public sealed record SignerPublicKey
{
    public SignerPublicKey(SignerKeyAlgorithm algorithm, ReadOnlyMemory<byte> key)
    {
        var expected = algorithm == SignerKeyAlgorithm.Secp256k1 ? 65 : 32;
        if (key.Length != expected)
            throw new ArgumentException($"A {algorithm} public key here is {expected} bytes, got {key.Length}.", nameof(key));
        if (algorithm == SignerKeyAlgorithm.Secp256k1 && key.Span[0] != 0x04)
            throw new ArgumentException("A secp256k1 public key here is uncompressed (first byte 0x04).", nameof(key));
        Algorithm = algorithm;
        Key = key.ToArray();
    }

    public SignerKeyAlgorithm Algorithm { get; }

    public ReadOnlyMemory<byte> Key { get; }

    public bool Equals(SignerPublicKey? other) =>
        other is not null && Algorithm == other.Algorithm && Key.Span.SequenceEqual(other.Key.Span);

    public override int GetHashCode() => HashCode.Combine(Algorithm, Convert.ToHexString(Key.Span));

    public override string ToString() => $"{Algorithm}:{Convert.ToHexStringLower(Key.Span)}";
}

/// <summary>A key a signer holds: its id and public key (never the private part).</summary>
public sealed record SignerKeyInfo(string KeyId, SignerPublicKey PublicKey);

/// <summary>Any failure of a signer. Messages name the key id and what went wrong, never key material.</summary>
public class SignerException : Exception
{
    public SignerException(string message) : base(message) { }

    public SignerException(string message, Exception inner) : base(message, inner) { }
}

/// <summary>The key id is not known to the signer.</summary>
public sealed class SignerKeyNotFoundException(string keyId)
    : SignerException($"Signing key '{keyId}' was not found.")
{
    public string KeyId { get; } = keyId;
}

/// <summary>The key exists but is for another algorithm than the operation asked for.</summary>
public sealed class SignerKeyAlgorithmMismatchException(string keyId, SignerKeyAlgorithm actual, SignerKeyAlgorithm wanted)
    : SignerException($"Signing key '{keyId}' is a {actual} key; this operation needs a {wanted} key.");
