using System.Buffers.Binary;
using Molly.Chains.Crypto;

namespace Molly.Chains.Hd;

/// <summary>The 78-byte BIP32 serialisation shared by <see cref="ExtKey"/> and <see cref="ExtPubKey"/>.</summary>
internal static class ExtKeyCodec
{
    public const int Length = 78;

    public static string Encode(uint version, byte depth, uint parentFingerprint, uint child, ReadOnlySpan<byte> chainCode, ReadOnlySpan<byte> key33)
    {
        Span<byte> buffer = stackalloc byte[Length];
        BinaryPrimitives.WriteUInt32BigEndian(buffer, version);
        buffer[4] = depth;
        BinaryPrimitives.WriteUInt32BigEndian(buffer[5..], parentFingerprint);
        BinaryPrimitives.WriteUInt32BigEndian(buffer[9..], child);
        chainCode.CopyTo(buffer[13..]);
        key33.CopyTo(buffer[45..]);
        return Base58Check.Encode(buffer);
    }

    public sealed record Decoded(uint Version, ExtKeyVersion KeyVersion, bool IsPrivate, byte Depth, uint ParentFingerprint, uint Child, byte[] ChainCode, byte[] Key33);

    public static Decoded Decode(string text, IReadOnlyList<ExtKeyVersion>? allowed)
    {
        const string prefix = "Invalid extended key: ";
        if (!Base58Check.TryDecode(text?.Trim(), out var data, out var error))
            throw new FormatException(prefix + error.Replace("Invalid Base58Check string: ", string.Empty, StringComparison.Ordinal));
        if (data.Length != Length) throw new FormatException($"{prefix}{data.Length} bytes, expected {Length}.");

        var version = BinaryPrimitives.ReadUInt32BigEndian(data);
        var candidates = allowed ?? ExtKeyVersion.Known;
        var keyVersion = candidates.FirstOrDefault(v => v.Public == version || v.Private == version);
        if (keyVersion is null)
        {
            var other = ExtKeyVersion.Known.FirstOrDefault(v => v.Public == version || v.Private == version);
            throw new FormatException(other is null
                ? $"{prefix}unknown version bytes 0x{version:x8}."
                : $"{prefix}version '{other.Name}' does not belong to this network (expected {string.Join(" or ", candidates.Select(c => c.Name))}).");
        }

        var isPrivate = keyVersion.Private == version;
        var depth = data[4];
        var fingerprint = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(5));
        var child = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(9));
        if (depth == 0 && fingerprint != 0) throw new FormatException(prefix + "zero depth with a non-zero parent fingerprint.");
        if (depth == 0 && child != 0) throw new FormatException(prefix + "zero depth with a non-zero child index.");

        var key = data[45..];
        if (isPrivate)
        {
            if (key[0] != 0) throw new FormatException(prefix + "a private version with a key that does not start with 0x00.");
            if (!Secp256k1.IsValidPrivateKey(key.AsSpan(1))) throw new FormatException(prefix + "private key not in 1..n-1.");
        }
        else
        {
            if (key[0] is not (2 or 3)) throw new FormatException(prefix + $"a public version with key prefix 0x{key[0]:x2}; expected a compressed public key (02/03).");
            if (!Secp256k1.TryParsePublicKey(key, out _)) throw new FormatException(prefix + "public key is not a point on secp256k1.");
        }

        return new Decoded(version, keyVersion, isPrivate, depth, fingerprint, child, data[13..45], key);
    }
}
