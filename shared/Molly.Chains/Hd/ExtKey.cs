using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Molly.Chains.Crypto;
using Org.BouncyCastle.Math;

namespace Molly.Chains.Hd;

/// <summary>A BIP32 extended private key. Its <see cref="ToString()"/> is the xprv: never log it.</summary>
public sealed class ExtKey
{
    private readonly byte[] _privateKey;
    private readonly byte[] _chainCode;
    private ExtPubKey? _neutered;

    private ExtKey(byte[] privateKey, byte[] chainCode, byte depth, uint parentFingerprint, uint child, ExtKeyVersion version)
    {
        _privateKey = privateKey;
        _chainCode = chainCode;
        Depth = depth;
        ParentFingerprint = parentFingerprint;
        Child = child;
        Version = version;
    }

    public byte Depth { get; }

    public uint ParentFingerprint { get; }

    public uint Child { get; }

    public ExtKeyVersion Version { get; }

    public ReadOnlySpan<byte> ChainCode => _chainCode;

    /// <summary>The 32-byte private key (a copy).</summary>
    public byte[] PrivateKey => (byte[])_privateKey.Clone();

    public uint Fingerprint => Neuter().Fingerprint;

    /// <summary>BIP32 master key: HMAC-SHA512(key "Bitcoin seed", seed).</summary>
    public static ExtKey FromSeed(ReadOnlySpan<byte> seed, ExtKeyVersion? version = null)
    {
        if (seed.Length is < 16 or > 64) throw new ArgumentException("BIP32 seed must be 16 to 64 bytes.", nameof(seed));
        var i = HMACSHA512.HashData(Encoding.ASCII.GetBytes("Bitcoin seed"), seed);
        if (!Secp256k1.IsValidPrivateKey(i.AsSpan(0, 32))) throw new ArgumentException("This seed gives an invalid master key; use another seed.", nameof(seed));
        return new ExtKey(i[..32], i[32..], 0, 0, 0, version ?? ExtKeyVersion.Xpub);
    }

    public static ExtKey Parse(string text, IReadOnlyList<ExtKeyVersion>? allowed = null)
    {
        var d = ExtKeyCodec.Decode(text, allowed);
        if (!d.IsPrivate) throw new FormatException("Invalid extended private key: this is a public key.");
        return new ExtKey(d.Key33[1..], d.ChainCode, d.Depth, d.ParentFingerprint, d.Child, d.KeyVersion);
    }

    public ExtPubKey Neuter()
        => _neutered ??= new ExtPubKey(Secp256k1.MultiplyG(new BigInteger(1, _privateKey)), _chainCode, Depth, ParentFingerprint, Child, Version);

    public override string ToString() => ToString(Version);

    public string ToString(ExtKeyVersion version)
    {
        Span<byte> key = stackalloc byte[33];
        _privateKey.CopyTo(key[1..]);
        return ExtKeyCodec.Encode(version.Private, Depth, ParentFingerprint, Child, _chainCode, key);
    }

    public ExtKey WithVersion(ExtKeyVersion version) => new(_privateKey, _chainCode, Depth, ParentFingerprint, Child, version);

    public ExtKey Derive(uint index)
    {
        Span<byte> data = stackalloc byte[37];
        if (KeyPath.IsHardened(index))
        {
            data[0] = 0;
            _privateKey.CopyTo(data[1..]);
        }
        else
        {
            Neuter().PublicKey.CopyTo(data);
        }

        BinaryPrimitives.WriteUInt32BigEndian(data[33..], index);
        Span<byte> i = stackalloc byte[64];
        HMACSHA512.HashData(_chainCode, data, i);
        var il = new BigInteger(1, i[..32].ToArray());
        if (il.CompareTo(Secp256k1.N) >= 0) throw new InvalidOperationException($"BIP32 child {index} is invalid (I_L >= n); use the next index.");
        var k = il.Add(new BigInteger(1, _privateKey)).Mod(Secp256k1.N);
        if (k.SignValue == 0) throw new InvalidOperationException($"BIP32 child {index} is zero; use the next index.");
        var childKey = new byte[32];
        var raw = k.ToByteArrayUnsigned();
        raw.CopyTo(childKey, 32 - raw.Length);
        return new ExtKey(childKey, i[32..].ToArray(), checked((byte)(Depth + 1)), Fingerprint, index, Version);
    }

    public ExtKey Derive(KeyPath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var key = this;
        foreach (var index in path.Indexes) key = key.Derive(index);
        return key;
    }
}
