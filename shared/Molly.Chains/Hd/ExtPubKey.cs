using System.Buffers.Binary;
using System.Security.Cryptography;
using Molly.Chains.Crypto;
using Org.BouncyCastle.Math;
using ECPoint = Org.BouncyCastle.Math.EC.ECPoint;

namespace Molly.Chains.Hd;

/// <summary>A BIP32 extended public key: derives non-hardened children without any private key.</summary>
public sealed class ExtPubKey
{
    private readonly byte[] _chainCode;
    private readonly byte[] _publicKey;

    internal ExtPubKey(ECPoint point, byte[] chainCode, byte depth, uint parentFingerprint, uint child, ExtKeyVersion version)
    {
        Point = point.Normalize();
        _publicKey = Point.GetEncoded(true);
        _chainCode = chainCode;
        Depth = depth;
        ParentFingerprint = parentFingerprint;
        Child = child;
        Version = version;
    }

    /// <summary>The curve point, normalised (affine).</summary>
    public ECPoint Point { get; }

    public ReadOnlySpan<byte> PublicKey => _publicKey;

    public ReadOnlySpan<byte> ChainCode => _chainCode;

    public byte Depth { get; }

    public uint ParentFingerprint { get; }

    public uint Child { get; }

    /// <summary>The version pair this key was parsed with or created for; <see cref="ToString()"/> uses its public half.</summary>
    public ExtKeyVersion Version { get; }

    public uint Fingerprint => BinaryPrimitives.ReadUInt32BigEndian(Hash160.Compute(_publicKey));

    public byte[] GetPublicKey(bool compressed = true) => compressed ? (byte[])_publicKey.Clone() : Point.GetEncoded(false);

    /// <summary>Parses an extended public key; with <paramref name="allowed"/> its version must be one of them.</summary>
    /// <exception cref="FormatException">Bad checksum, length, version, key or header, named in the message.</exception>
    public static ExtPubKey Parse(string text, IReadOnlyList<ExtKeyVersion>? allowed = null)
    {
        var d = ExtKeyCodec.Decode(text, allowed);
        if (d.IsPrivate) throw new FormatException($"Invalid extended public key: this is a private key ({d.KeyVersion.Name[..1]}prv); give the account's public key.");
        return new ExtPubKey(Secp256k1.ParsePublicKey(d.Key33), d.ChainCode, d.Depth, d.ParentFingerprint, d.Child, d.KeyVersion);
    }

    public static bool TryParse(string? text, IReadOnlyList<ExtKeyVersion>? allowed, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out ExtPubKey key, out string error)
    {
        key = null;
        error = string.Empty;
        if (text is null)
        {
            error = "Invalid extended public key: empty.";
            return false;
        }

        try
        {
            key = Parse(text, allowed);
            return true;
        }
        catch (FormatException ex)
        {
            error = ex.Message;
            return false;
        }
    }

    public override string ToString() => ToString(Version);

    public string ToString(ExtKeyVersion version)
        => ExtKeyCodec.Encode(version.Public, Depth, ParentFingerprint, Child, _chainCode, _publicKey);

    /// <summary>Same key under another version pair (e.g. xpub to zpub).</summary>
    public ExtPubKey WithVersion(ExtKeyVersion version) => new(Point, _chainCode, Depth, ParentFingerprint, Child, version);

    public ExtPubKey Derive(uint index)
    {
        if (KeyPath.IsHardened(index)) throw new InvalidOperationException($"Cannot derive hardened child {index & ~KeyPath.HardenedBit}' from an extended public key.");
        Span<byte> data = stackalloc byte[37];
        _publicKey.CopyTo(data);
        BinaryPrimitives.WriteUInt32BigEndian(data[33..], index);
        Span<byte> i = stackalloc byte[64];
        HMACSHA512.HashData(_chainCode, data, i);
        var il = new BigInteger(1, i[..32].ToArray());
        if (il.CompareTo(Secp256k1.N) >= 0) throw new InvalidOperationException($"BIP32 child {index} is invalid (I_L >= n); use the next index.");
        var child = Secp256k1.MultiplyG(il).Add(Point).Normalize();
        if (child.IsInfinity) throw new InvalidOperationException($"BIP32 child {index} is the point at infinity; use the next index.");
        return new ExtPubKey(child, i[32..].ToArray(), checked((byte)(Depth + 1)), Fingerprint, index, Version);
    }

    public ExtPubKey Derive(KeyPath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var key = this;
        foreach (var index in path.Indexes) key = key.Derive(index);
        return key;
    }
}
