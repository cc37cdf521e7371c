using System.Security.Cryptography;
using Org.BouncyCastle.Crypto.Digests;

namespace Molly.Chains.Crypto;

/// <summary>Keccak-256 as Ethereum uses it (the original Keccak padding, not FIPS-202 SHA3-256).</summary>
public static class Keccak256
{
    public const int HashSize = 32;

    public static byte[] Compute(ReadOnlySpan<byte> data)
    {
        var output = new byte[HashSize];
        Compute(data, output);
        return output;
    }

    public static void Compute(ReadOnlySpan<byte> data, Span<byte> output)
    {
        if (output.Length < HashSize) throw new ArgumentException("Output buffer must hold 32 bytes.", nameof(output));
        var digest = new KeccakDigest(256);
        digest.BlockUpdate(data.ToArray(), 0, data.Length);
        var result = new byte[HashSize];
        digest.DoFinal(result, 0);
        result.CopyTo(output);
    }
}

/// <summary>RIPEMD160(SHA256(data)): the key and script hash of the Bitcoin family.</summary>
public static class Hash160
{
    public const int HashSize = 20;

    public static byte[] Compute(ReadOnlySpan<byte> data)
    {
        var output = new byte[HashSize];
        Compute(data, output);
        return output;
    }

    public static void Compute(ReadOnlySpan<byte> data, Span<byte> output)
    {
        if (output.Length < HashSize) throw new ArgumentException("Output buffer must hold 20 bytes.", nameof(output));
        Span<byte> sha = stackalloc byte[32];
        SHA256.HashData(data, sha);
        var ripemd = new RipeMD160Digest();
        var shaArray = sha.ToArray();
        ripemd.BlockUpdate(shaArray, 0, shaArray.Length);
        var result = new byte[HashSize];
        ripemd.DoFinal(result, 0);
        result.CopyTo(output);
    }
}

/// <summary>Double SHA-256 (Bitcoin's hash for checksums, txids and sighashes).</summary>
public static class Hash256
{
    public static byte[] Compute(ReadOnlySpan<byte> data)
    {
        var output = new byte[32];
        Compute(data, output);
        return output;
    }

    public static void Compute(ReadOnlySpan<byte> data, Span<byte> output)
    {
        Span<byte> first = stackalloc byte[32];
        SHA256.HashData(data, first);
        SHA256.HashData(first, output);
    }
}
