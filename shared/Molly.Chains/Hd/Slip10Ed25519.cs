using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Molly.Chains.Crypto;

namespace Molly.Chains.Hd;

/// <summary>A SLIP-10 ed25519 node. <see cref="PrivateKey"/> is the Ed25519 seed.</summary>
public sealed class Slip10Node
{
    private readonly byte[] _privateKey;
    private readonly byte[] _chainCode;

    internal Slip10Node(byte[] privateKey, byte[] chainCode, byte depth, uint parentFingerprint, uint child)
    {
        _privateKey = privateKey;
        _chainCode = chainCode;
        Depth = depth;
        ParentFingerprint = parentFingerprint;
        Child = child;
        PublicKey = Ed25519.PublicKeyFromSeed(privateKey);
    }

    public byte[] PrivateKey => (byte[])_privateKey.Clone();

    public ReadOnlySpan<byte> ChainCode => _chainCode;

    /// <summary>The raw 32-byte Ed25519 public key (SLIP-10 writes it with a 0x00 prefix).</summary>
    public byte[] PublicKey { get; }

    public byte Depth { get; }

    public uint ParentFingerprint { get; }

    public uint Child { get; }

    /// <summary>First 4 bytes of Hash160(0x00 || public key), as SLIP-10 computes fingerprints.</summary>
    public uint Fingerprint
    {
        get
        {
            Span<byte> prefixed = stackalloc byte[33];
            PublicKey.CopyTo(prefixed[1..]);
            return BinaryPrimitives.ReadUInt32BigEndian(Hash160.Compute(prefixed));
        }
    }

    public Slip10Node Derive(uint index)
    {
        if (!KeyPath.IsHardened(index)) throw new InvalidOperationException($"SLIP-10 ed25519 derives hardened children only; step {index} must be written {index}'.");
        Span<byte> data = stackalloc byte[37];
        _privateKey.CopyTo(data[1..]);
        BinaryPrimitives.WriteUInt32BigEndian(data[33..], index);
        var i = HMACSHA512.HashData(_chainCode, data);
        return new Slip10Node(i[..32], i[32..], checked((byte)(Depth + 1)), Fingerprint, index);
    }

    public Slip10Node Derive(KeyPath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!path.IsFullyHardened) throw new InvalidOperationException($"SLIP-10 ed25519 derives hardened children only; path {path} has a non-hardened step.");
        var node = this;
        foreach (var index in path.Indexes) node = node.Derive(index);
        return node;
    }
}

/// <summary>SLIP-10 for ed25519 (Solana's m/44'/501'/a'/0').</summary>
public static class Slip10Ed25519
{
    public static Slip10Node FromSeed(ReadOnlySpan<byte> seed)
    {
        if (seed.Length is < 16 or > 64) throw new ArgumentException("SLIP-10 seed must be 16 to 64 bytes.", nameof(seed));
        var i = HMACSHA512.HashData(Encoding.ASCII.GetBytes("ed25519 seed"), seed);
        return new Slip10Node(i[..32], i[32..], 0, 0, 0);
    }
}
