using BcEd25519 = Org.BouncyCastle.Math.EC.Rfc8032.Ed25519;

namespace Molly.Chains.Crypto;

/// <summary>Ed25519 (RFC 8032) on BouncyCastle: a 32-byte seed is the private key.</summary>
public static class Ed25519
{
    public const int SeedSize = 32;
    public const int PublicKeySize = 32;
    public const int SignatureSize = 64;

    public static byte[] PublicKeyFromSeed(ReadOnlySpan<byte> seed)
    {
        CheckSeed(seed);
        var pk = new byte[PublicKeySize];
        BcEd25519.GeneratePublicKey(seed.ToArray(), 0, pk, 0);
        return pk;
    }

    public static (byte[] Seed, byte[] PublicKey) KeyPairFromSeed(ReadOnlySpan<byte> seed) => (seed.ToArray(), PublicKeyFromSeed(seed));

    public static byte[] Sign(ReadOnlySpan<byte> seed, ReadOnlySpan<byte> message)
    {
        CheckSeed(seed);
        var sig = new byte[SignatureSize];
        var msg = message.ToArray();
        BcEd25519.Sign(seed.ToArray(), 0, msg, 0, msg.Length, sig, 0);
        return sig;
    }

    public static bool Verify(ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature)
    {
        if (publicKey.Length != PublicKeySize || signature.Length != SignatureSize) return false;
        var msg = message.ToArray();
        return BcEd25519.Verify(signature.ToArray(), 0, publicKey.ToArray(), 0, msg, 0, msg.Length);
    }

    private static void CheckSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length != SeedSize) throw new ArgumentException("Ed25519 private key seed must be 32 bytes.", nameof(seed));
    }
}
