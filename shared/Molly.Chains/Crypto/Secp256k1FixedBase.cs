using System.Buffers.Binary;

namespace Molly.Chains.Crypto;

/// <summary>An affine secp256k1 point (never infinity).</summary>
internal struct AffinePoint
{
    public FieldElement X, Y;
}

/// <summary>A secp256k1 point in Jacobian coordinates (x = X/Z^2, y = Y/Z^3).</summary>
internal struct JacobianPoint
{
    public FieldElement X, Y, Z;
    public bool IsInfinity;

    public static JacobianPoint Infinity => new() { IsInfinity = true };

    public static JacobianPoint FromAffine(in AffinePoint p) => new() { X = p.X, Y = p.Y, Z = FieldElement.One };

    /// <summary>this += q (q affine): 8 multiplications and 3 squarings; doubling and P + (-P) handled.</summary>
    public void AddAffine(in AffinePoint q)
    {
        if (IsInfinity)
        {
            this = FromAffine(q);
            return;
        }

        FieldElement.Square(Z, out var z1z1);
        FieldElement.Mul(q.X, z1z1, out var u2);
        FieldElement.Mul(Z, z1z1, out var z1Cubed);
        FieldElement.Mul(q.Y, z1Cubed, out var s2);
        FieldElement.Sub(u2, X, out var h);
        FieldElement.Sub(s2, Y, out var r);
        if (h.IsZero())
        {
            if (r.IsZero()) Double();
            else IsInfinity = true;
            return;
        }

        FieldElement.Square(h, out var hh);
        FieldElement.Mul(h, hh, out var hhh);
        FieldElement.Mul(X, hh, out var v);
        FieldElement.Square(r, out var x3);
        FieldElement.Sub(x3, hhh, out x3);
        FieldElement.Sub(x3, v, out x3);
        FieldElement.Sub(x3, v, out x3);
        FieldElement.Sub(v, x3, out var y3);
        FieldElement.Mul(r, y3, out y3);
        FieldElement.Mul(Y, hhh, out var t);
        FieldElement.Sub(y3, t, out y3);
        FieldElement.Mul(Z, h, out var z3);
        X = x3;
        Y = y3;
        Z = z3;
    }

    /// <summary>this = 2 * this (a = 0 curve; secp256k1 has no point of order 2, so y is never 0).</summary>
    public void Double()
    {
        if (IsInfinity) return;
        FieldElement.Square(X, out var a);
        FieldElement.Square(Y, out var b);
        FieldElement.Square(b, out var c);
        FieldElement.Add(X, b, out var d);
        FieldElement.Square(d, out d);
        FieldElement.Sub(d, a, out d);
        FieldElement.Sub(d, c, out d);
        FieldElement.Add(d, d, out d);
        FieldElement.Add(a, a, out var e);
        FieldElement.Add(e, a, out e);
        FieldElement.Square(e, out var f);
        FieldElement.Sub(f, d, out var x3);
        FieldElement.Sub(x3, d, out x3);
        FieldElement.Sub(d, x3, out var y3);
        FieldElement.Mul(e, y3, out y3);
        FieldElement.Add(c, c, out c);
        FieldElement.Add(c, c, out c);
        FieldElement.Add(c, c, out c);
        FieldElement.Sub(y3, c, out y3);
        FieldElement.Mul(Y, Z, out var z3);
        FieldElement.Add(z3, z3, out z3);
        X = x3;
        Y = y3;
        Z = z3;
    }

    /// <summary>
    /// Converts many points to affine with ONE field inversion (Montgomery's trick: invert the product of all Z,
    /// then peel each 1/Z off with two multiplications). None of the points may be infinity.
    /// </summary>
    public static void ToAffine(ReadOnlySpan<JacobianPoint> points, Span<AffinePoint> result)
    {
        var n = points.Length;
        if (n == 0) return;
        var prefix = n <= 256 ? stackalloc FieldElement[n] : new FieldElement[n];
        prefix[0] = points[0].Z;
        for (var i = 1; i < n; i++) FieldElement.Mul(prefix[i - 1], points[i].Z, out prefix[i]);
        FieldElement.Invert(prefix[n - 1], out var inv);
        for (var i = n - 1; i >= 0; i--)
        {
            FieldElement zInv;
            if (i > 0)
            {
                FieldElement.Mul(inv, prefix[i - 1], out zInv);
                FieldElement.Mul(inv, points[i].Z, out inv);
            }
            else
            {
                zInv = inv;
            }

            FieldElement.Square(zInv, out var zInv2);
            FieldElement.Mul(zInv2, zInv, out var zInv3);
            FieldElement.Mul(points[i].X, zInv2, out result[i].X);
            FieldElement.Mul(points[i].Y, zInv3, out result[i].Y);
            result[i].X.Normalize();
            result[i].Y.Normalize();
        }
    }
}

/// <summary>
/// k*G from a precomputed table: k is cut into 24 windows of 11 bits, and table[i][d] = d * 2^(11i) * G (affine), so
/// k*G is the sum of at most 24 table points: 24 mixed additions and no doublings, against BouncyCastle's comb of 43
/// doublings and additions on heap-allocated points. The table is 49,128 points (3 MB, about the two cores' L2), built
/// once on first use in a few tens of milliseconds. Variable-time: for public BIP32 tweaks only, never for a private key
/// (signing stays on BouncyCastle).
/// </summary>
internal static class Secp256k1FixedBase
{
    /// <summary>Bits per window: 8 gives 32 additions from 0.5 MB, 11 gives 24 from 3 MB (measured faster), 12 gives 22 from 6 MB.</summary>
    public const int WindowBits = 11;

    /// <summary>Table additions per multiplication.</summary>
    public const int Windows = (256 + WindowBits - 1) / WindowBits;
    private const int Digits = 1 << WindowBits;
    private const ulong DigitMask = Digits - 1;

    // Lazily built: only the processes that derive addresses pay for it.
    private static readonly Lazy<AffinePoint[]> Table = new(Build);

    public static AffinePoint G { get; } = new()
    {
        X = FieldElement.FromBigEndian(Secp256k1.G.Normalize().AffineXCoord.GetEncoded()),
        Y = FieldElement.FromBigEndian(Secp256k1.G.Normalize().AffineYCoord.GetEncoded()),
    };

    /// <summary>acc += k*G, k given as 32 big-endian bytes (any value; the caller checks it is below n).</summary>
    public static void MultiplyAdd(ReadOnlySpan<byte> k32, ref JacobianPoint acc)
    {
        var table = Table.Value;
        Span<ulong> limbs = stackalloc ulong[5];
        limbs[0] = BinaryPrimitives.ReadUInt64BigEndian(k32[24..]);
        limbs[1] = BinaryPrimitives.ReadUInt64BigEndian(k32[16..]);
        limbs[2] = BinaryPrimitives.ReadUInt64BigEndian(k32[8..]);
        limbs[3] = BinaryPrimitives.ReadUInt64BigEndian(k32);
        limbs[4] = 0; // the last window reads past bit 255
        for (var i = 0; i < Windows; i++)
        {
            var bit = i * WindowBits;
            var word = bit >> 6;
            var shift = bit & 63;
            var d = limbs[word] >> shift;
            if (shift + WindowBits > 64) d |= limbs[word + 1] << (64 - shift);
            d &= DigitMask;
            if (d != 0) acc.AddAffine(table[(i << WindowBits) | (int)d]);
        }
    }

    private static AffinePoint[] Build()
    {
        var table = new AffinePoint[Windows * Digits];
        var rowJacobian = new JacobianPoint[Digits - 1];
        var basePoint = G;
        Span<AffinePoint> next = stackalloc AffinePoint[1];
        for (var i = 0; i < Windows; i++)
        {
            var acc = JacobianPoint.Infinity;
            for (var d = 1; d < Digits; d++)
            {
                acc.AddAffine(basePoint);
                rowJacobian[d - 1] = acc;
            }

            JacobianPoint.ToAffine(rowJacobian, table.AsSpan((i << WindowBits) + 1, Digits - 1));
            acc.AddAffine(basePoint); // 2^WindowBits * base: the next window's base
            JacobianPoint.ToAffine([acc], next);
            basePoint = next[0];
        }

        return table;
    }
}
