using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Molly.Chains.Crypto;

/// <summary>
/// An element of secp256k1's field (p = 2^256 - 2^32 - 977) in four 64-bit limbs, little-endian. Values are kept
/// below 2^256 but not always below p ("lazy" reduction); <see cref="Normalize"/> gives the canonical value.
/// Not constant-time: it only ever handles public data (public keys and the public BIP32 tweaks of an xpub).
/// </summary>
internal struct FieldElement
{
    // 2^256 mod p: folding the high half of a product into the low half multiplies it by this.
    private const ulong C = 0x1000003D1;
    private const ulong P0 = 0xFFFFFFFEFFFFFC2F;

    public ulong L0, L1, L2, L3;

    public static FieldElement One => new() { L0 = 1 };

    public static FieldElement FromBigEndian(ReadOnlySpan<byte> bytes32)
    {
        var r = new FieldElement
        {
            L3 = BinaryPrimitives.ReadUInt64BigEndian(bytes32),
            L2 = BinaryPrimitives.ReadUInt64BigEndian(bytes32[8..]),
            L1 = BinaryPrimitives.ReadUInt64BigEndian(bytes32[16..]),
            L0 = BinaryPrimitives.ReadUInt64BigEndian(bytes32[24..]),
        };
        r.Normalize();
        return r;
    }

    /// <summary>Writes the canonical value (reduced below p) as 32 big-endian bytes.</summary>
    public readonly void WriteBigEndian(Span<byte> bytes32)
    {
        var r = this;
        r.Normalize();
        BinaryPrimitives.WriteUInt64BigEndian(bytes32, r.L3);
        BinaryPrimitives.WriteUInt64BigEndian(bytes32[8..], r.L2);
        BinaryPrimitives.WriteUInt64BigEndian(bytes32[16..], r.L1);
        BinaryPrimitives.WriteUInt64BigEndian(bytes32[24..], r.L0);
    }

    /// <summary>Reduces to the canonical representative: a value in [p, 2^256) becomes value - p.</summary>
    public void Normalize()
    {
        // value >= p  <=>  value + C overflows 2^256, and then value + C - 2^256 = value - p.
        ulong carry = 0;
        var r0 = Adc(L0, C, ref carry);
        var r1 = Adc(L1, 0, ref carry);
        var r2 = Adc(L2, 0, ref carry);
        var r3 = Adc(L3, 0, ref carry);
        if (carry != 0)
        {
            L0 = r0;
            L1 = r1;
            L2 = r2;
            L3 = r3;
        }
    }

    public readonly bool IsZero()
    {
        var r = this;
        r.Normalize();
        return (r.L0 | r.L1 | r.L2 | r.L3) == 0;
    }

    public readonly bool IsOdd()
    {
        var r = this;
        r.Normalize();
        return (r.L0 & 1) != 0;
    }

    public readonly bool EqualsValue(in FieldElement other)
    {
        var a = this;
        var b = other;
        a.Normalize();
        b.Normalize();
        return a.L0 == b.L0 && a.L1 == b.L1 && a.L2 == b.L2 && a.L3 == b.L3;
    }

    public static void Add(in FieldElement a, in FieldElement b, out FieldElement r)
    {
        ulong carry = 0;
        r.L0 = Adc(a.L0, b.L0, ref carry);
        r.L1 = Adc(a.L1, b.L1, ref carry);
        r.L2 = Adc(a.L2, b.L2, ref carry);
        r.L3 = Adc(a.L3, b.L3, ref carry);

        // Each carry out of 2^256 is worth C; at most two rounds (the second leaves a value below C).
        while (carry != 0)
        {
            carry = 0;
            r.L0 = Adc(r.L0, C, ref carry);
            r.L1 = Adc(r.L1, 0, ref carry);
            r.L2 = Adc(r.L2, 0, ref carry);
            r.L3 = Adc(r.L3, 0, ref carry);
        }
    }

    public static void Sub(in FieldElement a, in FieldElement b, out FieldElement r)
    {
        ulong borrow = 0;
        r.L0 = Sbb(a.L0, b.L0, ref borrow);
        r.L1 = Sbb(a.L1, b.L1, ref borrow);
        r.L2 = Sbb(a.L2, b.L2, ref borrow);
        r.L3 = Sbb(a.L3, b.L3, ref borrow);

        // Each borrow added 2^256, which is C too many modulo p; at most two rounds.
        while (borrow != 0)
        {
            borrow = 0;
            r.L0 = Sbb(r.L0, C, ref borrow);
            r.L1 = Sbb(r.L1, 0, ref borrow);
            r.L2 = Sbb(r.L2, 0, ref borrow);
            r.L3 = Sbb(r.L3, 0, ref borrow);
        }
    }

    public static void Mul(in FieldElement a, in FieldElement b, out FieldElement r)
    {
        ulong c = 0;
        var t0 = MulAdd(a.L0, b.L0, 0, ref c);
        var t1 = MulAdd(a.L0, b.L1, 0, ref c);
        var t2 = MulAdd(a.L0, b.L2, 0, ref c);
        var t3 = MulAdd(a.L0, b.L3, 0, ref c);
        var t4 = c;

        c = 0;
        t1 = MulAdd(a.L1, b.L0, t1, ref c);
        t2 = MulAdd(a.L1, b.L1, t2, ref c);
        t3 = MulAdd(a.L1, b.L2, t3, ref c);
        t4 = MulAdd(a.L1, b.L3, t4, ref c);
        var t5 = c;

        c = 0;
        t2 = MulAdd(a.L2, b.L0, t2, ref c);
        t3 = MulAdd(a.L2, b.L1, t3, ref c);
        t4 = MulAdd(a.L2, b.L2, t4, ref c);
        t5 = MulAdd(a.L2, b.L3, t5, ref c);
        var t6 = c;

        c = 0;
        t3 = MulAdd(a.L3, b.L0, t3, ref c);
        t4 = MulAdd(a.L3, b.L1, t4, ref c);
        t5 = MulAdd(a.L3, b.L2, t5, ref c);
        t6 = MulAdd(a.L3, b.L3, t6, ref c);
        var t7 = c;

        Reduce(t0, t1, t2, t3, t4, t5, t6, t7, out r);
    }

    public static void Square(in FieldElement a, out FieldElement r)
    {
        // Off-diagonal products once, doubled, plus the squares on the diagonal: 10 multiplications instead of 16.
        ulong c = 0;
        var t1 = MulAdd(a.L0, a.L1, 0, ref c);
        var t2 = MulAdd(a.L0, a.L2, 0, ref c);
        var t3 = MulAdd(a.L0, a.L3, 0, ref c);
        var t4 = c;

        c = 0;
        t3 = MulAdd(a.L1, a.L2, t3, ref c);
        t4 = MulAdd(a.L1, a.L3, t4, ref c);
        var t5 = c;

        c = 0;
        t5 = MulAdd(a.L2, a.L3, t5, ref c);
        var t6 = c;

        var t7 = t6 >> 63;
        t6 = (t6 << 1) | (t5 >> 63);
        t5 = (t5 << 1) | (t4 >> 63);
        t4 = (t4 << 1) | (t3 >> 63);
        t3 = (t3 << 1) | (t2 >> 63);
        t2 = (t2 << 1) | (t1 >> 63);
        t1 <<= 1;

        ulong carry = 0;
        var hi = Math.BigMul(a.L0, a.L0, out var t0);
        t1 = Adc(t1, hi, ref carry);
        hi = Math.BigMul(a.L1, a.L1, out var lo);
        t2 = Adc(t2, lo, ref carry);
        t3 = Adc(t3, hi, ref carry);
        hi = Math.BigMul(a.L2, a.L2, out lo);
        t4 = Adc(t4, lo, ref carry);
        t5 = Adc(t5, hi, ref carry);
        hi = Math.BigMul(a.L3, a.L3, out lo);
        t6 = Adc(t6, lo, ref carry);
        t7 = Adc(t7, hi, ref carry);

        Reduce(t0, t1, t2, t3, t4, t5, t6, t7, out r);
    }

    /// <summary>a^(p-2) = 1/a (Fermat); the inverse of zero is zero.</summary>
    public static void Invert(in FieldElement a, out FieldElement r)
    {
        // p - 2, most significant limb first; plain square-and-multiply (only one inversion per batch of points).
        ReadOnlySpan<ulong> e = [ulong.MaxValue, ulong.MaxValue, ulong.MaxValue, 0xFFFFFFFEFFFFFC2D];
        var acc = One;
        foreach (var limb in e)
        {
            for (var bit = 63; bit >= 0; bit--)
            {
                Square(acc, out acc);
                if (((limb >> bit) & 1) != 0) Mul(acc, a, out acc);
            }
        }

        r = acc;
    }

    private static void Reduce(ulong t0, ulong t1, ulong t2, ulong t3, ulong t4, ulong t5, ulong t6, ulong t7, out FieldElement r)
    {
        // t = low + high * 2^256 and 2^256 = C (mod p): low + high * C is below 2^256 * 2^34.
        ulong c = 0;
        var r0 = MulAdd(t4, C, t0, ref c);
        var r1 = MulAdd(t5, C, t1, ref c);
        var r2 = MulAdd(t6, C, t2, ref c);
        var r3 = MulAdd(t7, C, t3, ref c);

        // Fold the remaining c (below 2^34) the same way.
        var hi = Math.BigMul(c, C, out var lo);
        ulong carry = 0;
        r0 = Adc(r0, lo, ref carry);
        r1 = Adc(r1, hi, ref carry);
        r2 = Adc(r2, 0, ref carry);
        r3 = Adc(r3, 0, ref carry);
        if (carry != 0)
        {
            // Only possible when r1..r3 wrapped to (almost) zero, so adding C once more cannot carry past r1.
            carry = 0;
            r0 = Adc(r0, C, ref carry);
            r1 += carry;
        }

        r.L0 = r0;
        r.L1 = r1;
        r.L2 = r2;
        r.L3 = r3;
    }

    /// <summary>a * b + c + carry: the low word is returned, the high word becomes the carry (never overflows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong MulAdd(ulong a, ulong b, ulong c, ref ulong carry)
    {
        var hi = Math.BigMul(a, b, out var lo);
        lo += c;
        hi += lo < c ? 1UL : 0UL;
        lo += carry;
        hi += lo < carry ? 1UL : 0UL;
        carry = hi;
        return lo;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Adc(ulong a, ulong b, ref ulong carry)
    {
        var s = a + b;
        var c1 = s < a ? 1UL : 0UL;
        var s2 = s + carry;
        var c2 = s2 < s ? 1UL : 0UL;
        carry = c1 + c2;
        return s2;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Sbb(ulong a, ulong b, ref ulong borrow)
    {
        var d = a - b;
        var b1 = a < b ? 1UL : 0UL;
        var d2 = d - borrow;
        var b2 = d < borrow ? 1UL : 0UL;
        borrow = b1 + b2;
        return d2;
    }
}
