using System.Buffers.Binary;
using System.Security.Cryptography;
using Molly.Chains.Crypto;

namespace Molly.Chains.Hd;

/// <summary>
/// The non-hardened children of one extended public key, many at a time: BIP32's
/// child = parent + I_L*G with I_L from HMAC-SHA512(chain code, parent key || index), computed on
/// <see cref="Secp256k1FixedBase"/> and brought to affine coordinates with one inversion per block.
/// Gives the same keys as <see cref="ExtPubKey.Derive(uint)"/> (tested against it), without its per-child objects.
/// One instance per thread (it holds a keyed HMAC and scratch buffers).
/// </summary>
internal sealed class ChildPublicKeys : IDisposable
{
    /// <summary>Children per call: one field inversion is shared by this many points.</summary>
    public const int MaxBlock = 256;

    /// <summary>Bytes of one SEC1 uncompressed public key (0x04 || X || Y).</summary>
    public const int KeySize = 65;

    private static readonly byte[] Order = Secp256k1.N.ToByteArrayUnsigned();

    private readonly IncrementalHash _hmac;
    private readonly byte[] _message = new byte[37];
    private readonly byte[] _mac = new byte[64];
    private readonly AffinePoint _parent;
    private readonly JacobianPoint[] _jacobian = new JacobianPoint[MaxBlock];
    private readonly AffinePoint[] _affine = new AffinePoint[MaxBlock];

    public ChildPublicKeys(ExtPubKey parent)
    {
        ArgumentNullException.ThrowIfNull(parent);
        _hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA512, parent.ChainCode);
        parent.PublicKey.CopyTo(_message);
        _parent = new AffinePoint
        {
            X = FieldElement.FromBigEndian(parent.Point.AffineXCoord.GetEncoded()),
            Y = FieldElement.FromBigEndian(parent.Point.AffineYCoord.GetEncoded()),
        };
    }

    /// <summary>Writes the uncompressed public keys of children <paramref name="from"/>.. into <paramref name="keys"/> (65 bytes each).</summary>
    /// <exception cref="InvalidOperationException">A child is invalid (I_L &gt;= n or the point at infinity); BIP32 says use the next index.</exception>
    public void Derive(uint from, int count, Span<byte> keys)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxBlock);
        ArgumentOutOfRangeException.ThrowIfLessThan(keys.Length, count * KeySize);
        for (var i = 0; i < count; i++)
        {
            var index = from + (uint)i;
            if (KeyPath.IsHardened(index)) throw new InvalidOperationException($"Cannot derive hardened child {index & ~KeyPath.HardenedBit}' from an extended public key.");
            BinaryPrimitives.WriteUInt32BigEndian(_message.AsSpan(33), index);
            _hmac.AppendData(_message);
            _hmac.GetHashAndReset(_mac);
            var il = _mac.AsSpan(0, 32);
            if (il.SequenceCompareTo(Order) >= 0) throw new InvalidOperationException($"BIP32 child {index} is invalid (I_L >= n); use the next index.");
            ref var acc = ref _jacobian[i];
            acc = JacobianPoint.FromAffine(_parent);
            Secp256k1FixedBase.MultiplyAdd(il, ref acc);
            if (acc.IsInfinity) throw new InvalidOperationException($"BIP32 child {index} is the point at infinity; use the next index.");
        }

        JacobianPoint.ToAffine(_jacobian.AsSpan(0, count), _affine);
        for (var i = 0; i < count; i++)
        {
            var key = keys.Slice(i * KeySize, KeySize);
            key[0] = 0x04;
            _affine[i].X.WriteBigEndian(key[1..33]);
            _affine[i].Y.WriteBigEndian(key[33..]);
        }
    }

    public void Dispose() => _hmac.Dispose();
}
