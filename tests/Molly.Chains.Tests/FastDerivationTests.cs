using System.Globalization;
using Molly.Chains.Crypto;
using Molly.Chains.Hd;
using Molly.Chains.Wallets;
using Xunit;
using BcBigInteger = Org.BouncyCastle.Math.BigInteger;
using NumBigInteger = System.Numerics.BigInteger;

namespace Molly.Chains.Tests;

/// <summary>
/// The fast derivation path (own field arithmetic, fixed-base table, batched affine conversion) against the
/// straightforward one (BouncyCastle point arithmetic through <see cref="ExtPubKey.Derive(uint)"/>).
/// </summary>
public class FastDerivationTests
{
    private static readonly NumBigInteger P = NumBigInteger.Parse("0FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F", NumberStyles.HexNumber);
    private static readonly NumBigInteger TwoTo256 = NumBigInteger.One << 256;

    private static NumBigInteger ToBig(FieldElement f)
        => f.L0 + ((NumBigInteger)f.L1 << 64) + ((NumBigInteger)f.L2 << 128) + ((NumBigInteger)f.L3 << 192);

    private static FieldElement Raw(NumBigInteger v)
    {
        // Any value below 2^256, also the unreduced ones in [p, 2^256) the lazy arithmetic may carry around.
        var m = (NumBigInteger)ulong.MaxValue;
        return new FieldElement { L0 = (ulong)(v & m), L1 = (ulong)((v >> 64) & m), L2 = (ulong)((v >> 128) & m), L3 = (ulong)((v >> 192) & m) };
    }

    private static IEnumerable<NumBigInteger> FieldSamples()
    {
        var rng = new Random(7);
        NumBigInteger[] edges = [0, 1, 2, P - 1, P, P + 1, TwoTo256 - 1, TwoTo256 - 2, P - 0x1000003D1, NumBigInteger.One << 255, (NumBigInteger)ulong.MaxValue, 0x1000003D1];
        foreach (var e in edges) yield return e;
        for (var i = 0; i < 300; i++)
        {
            var bytes = new byte[33];
            rng.NextBytes(bytes);
            bytes[32] = 0;
            // Mostly random, some with all-ones limbs to drive the carry chains.
            if (i % 5 == 0) bytes.AsSpan(8, 24).Fill(0xFF);
            yield return new NumBigInteger(bytes);
        }
    }

    [Fact]
    public void Field_operations_agree_with_big_integer_arithmetic_modulo_p_including_unreduced_inputs()
    {
        var samples = FieldSamples().ToArray();
        var checkedPairs = 0;
        for (var i = 0; i < samples.Length; i++)
        {
            var a = samples[i];
            var b = samples[(i * 7 + 3) % samples.Length];
            var fa = Raw(a);
            var fb = Raw(b);

            FieldElement.Mul(fa, fb, out var mul);
            FieldElement.Square(fa, out var sqr);
            FieldElement.Add(fa, fb, out var add);
            FieldElement.Sub(fa, fb, out var sub);
            var expectedSub = ((a - b) % P + P) % P;
            foreach (var (actual, expected, name) in new[] { (mul, a * b % P, "mul"), (sqr, a * a % P, "sqr"), (add, (a + b) % P, "add"), (sub, expectedSub, "sub") })
            {
                Assert.True(ToBig(actual) < TwoTo256, name);
                var normalised = actual;
                normalised.Normalize();
                Assert.True(expected == ToBig(normalised), $"{name}({a:X}, {b:X}) = {ToBig(normalised):X}, expected {expected:X}");
            }

            if (a % P != 0)
            {
                FieldElement.Invert(fa, out var inv);
                FieldElement.Mul(inv, fa, out var one);
                Assert.True(one.EqualsValue(FieldElement.One), $"inverse of {a:X}");
            }

            checkedPairs++;
        }

        Assert.Equal(312, checkedPairs);
    }

    [Fact]
    public void Field_element_bytes_round_trip_and_are_canonical()
    {
        var bytes = Convert.FromHexString("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC30"); // p + 1
        var f = FieldElement.FromBigEndian(bytes);
        Span<byte> back = stackalloc byte[32];
        f.WriteBigEndian(back);
        Assert.Equal("0000000000000000000000000000000000000000000000000000000000000001", Convert.ToHexString(back));
        Assert.True(f.EqualsValue(FieldElement.One));
    }

    public static TheoryData<string> Scalars => new()
    {
        "0000000000000000000000000000000000000000000000000000000000000001",
        "0000000000000000000000000000000000000000000000000000000000000002",
        "00000000000000000000000000000000000000000000000000000000000000FF",
        "0000000000000000000000000000000000000000000000000000000000000100",
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140", // n - 1
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD036413F", // n - 2
        "7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0", // (n - 1) / 2
        "8000000000000000000000000000000000000000000000000000000000000000",
        "0101010101010101010101010101010101010101010101010101010101010101",
        "E8F32E723DECF4051AEFAC8E2C93C9C5B214313817CDB01A1494B917C8436B35",
    };

    [Theory]
    [MemberData(nameof(Scalars))]
    public void Fixed_base_multiplication_equals_bouncy_castle(string scalarHex)
    {
        var k = Convert.FromHexString(scalarHex);
        var expected = Secp256k1.MultiplyG(new BcBigInteger(1, k)).GetEncoded(false);
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(Encode(MultiplyG(k))));
    }

    [Fact]
    public void Adding_a_table_point_equal_to_the_accumulator_doubles_and_its_negation_gives_infinity()
    {
        // P + 5G with P = 5G: the mixed addition meets equal points and must double.
        var five = Scalar(5);
        var p = ToAffine(MultiplyG(five));
        var acc = JacobianPoint.FromAffine(p);
        Secp256k1FixedBase.MultiplyAdd(five, ref acc);
        Assert.Equal(Convert.ToHexString(Secp256k1.MultiplyG(BcBigInteger.ValueOf(10)).GetEncoded(false)), Convert.ToHexString(Encode(acc)));

        // (-5G) + 5G is infinity; the next window's point (2^w G) after it starts again from that table point.
        var minusFive = p;
        FieldElement.Sub(default, p.Y, out minusFive.Y);
        minusFive.Y.Normalize();
        acc = JacobianPoint.FromAffine(minusFive);
        Secp256k1FixedBase.MultiplyAdd(five, ref acc);
        Assert.True(acc.IsInfinity);
        acc = JacobianPoint.FromAffine(minusFive);
        const int nextWindow = 1 << Secp256k1FixedBase.WindowBits;
        Secp256k1FixedBase.MultiplyAdd(Scalar(5 + nextWindow), ref acc);
        Assert.False(acc.IsInfinity);
        Assert.Equal(Convert.ToHexString(Secp256k1.MultiplyG(BcBigInteger.ValueOf(nextWindow)).GetEncoded(false)), Convert.ToHexString(Encode(acc)));
    }

    [Fact]
    public void Batch_affine_conversion_equals_one_by_one()
    {
        var points = Enumerable.Range(1, 300).Select(i => MultiplyG(Scalar(i * 7919))).ToArray();
        var batch = new AffinePoint[points.Length];
        JacobianPoint.ToAffine(points, batch);
        for (var i = 0; i < points.Length; i++)
        {
            var single = ToAffine(points[i]);
            Assert.True(single.X.EqualsValue(batch[i].X) && single.Y.EqualsValue(batch[i].Y), $"point {i}");
            Assert.Equal(Convert.ToHexString(Secp256k1.MultiplyG(BcBigInteger.ValueOf((i + 1) * 7919)).GetEncoded(false)), Convert.ToHexString(Encode(points[i])));
        }
    }

    public static TheoryData<string, string, string, int, int> Accounts => new()
    {
        // chain, network, account path, first index, count: a few thousand per chain, across block boundaries.
        { "btc", "mainnet", "m/84'/0'/0'", 0, 3000 },
        { "eth", "mainnet", "m/44'/60'/0'", 1_000_000, 3000 },
        { "ltc", "regtest", "m/84'/1'/0'", 255, 600 },
        { "tron", "mainnet", "m/44'/195'/0'", 2_147_483_000, 600 },
    };

    [Theory]
    [MemberData(nameof(Accounts))]
    public void Fast_range_equals_the_reference_derivation_address_by_address(string chain, string network, string accountPath, int from, int count)
    {
        var seed = Convert.FromHexString("000102030405060708090a0b0c0d0e0f");
        var account = ExtKey.FromSeed(seed).Derive(KeyPath.Parse(accountPath)).Neuter();
        var xpub = chain switch
        {
            "btc" => account.ToString(ExtKeyVersion.Zpub),
            "ltc" => account.ToString(ExtKeyVersion.Vpub),
            _ => account.ToString(),
        };
        var deriver = DepositAddressDeriver.Create(chain, network, xpub);
        var fast = deriver.DeriveAddresses((uint)from, count);

        // Reference: BouncyCastle's I_L*G + parent on an ExtPubKey per child, then the public address function.
        var receive = account.Derive(0);
        var address = DepositAddressDeriver.AddressFunction(chain, network);
        Assert.Equal(count, fast.Length);
        for (var i = 0; i < count; i++) Assert.Equal(address(receive.Derive((uint)(from + i))), fast[i]);
    }

    [Fact]
    public void Write_range_writes_index_comma_address_lines_in_order()
    {
        var seed = Convert.FromHexString("000102030405060708090a0b0c0d0e0f");
        var xpub = ExtKey.FromSeed(seed).Derive(KeyPath.Parse("m/44'/60'/0'")).Neuter().ToString();
        var deriver = DepositAddressDeriver.Create("eth", "mainnet", xpub);
        using var writer = new StringWriter();
        var reported = 0;
        deriver.WriteRange(writer, 70_000, 700, n => Interlocked.Add(ref reported, n));
        var lines = writer.ToString().Split('\n');
        Assert.Equal(701, lines.Length);
        Assert.Equal(string.Empty, lines[^1]);
        Assert.Equal(700, reported);
        var expected = deriver.DeriveRange(70_000, 700);
        for (var i = 0; i < 700; i++) Assert.Equal($"{expected[i].Index},{expected[i].Address}", lines[i]);
    }

    [Fact]
    public void Indexes_beyond_the_non_hardened_range_are_refused()
    {
        var seed = Convert.FromHexString("000102030405060708090a0b0c0d0e0f");
        var xpub = ExtKey.FromSeed(seed).Derive(KeyPath.Parse("m/44'/60'/0'")).Neuter().ToString();
        var deriver = DepositAddressDeriver.Create("eth", "mainnet", xpub);
        Assert.Throws<ArgumentOutOfRangeException>(() => deriver.DeriveAddresses(KeyPath.HardenedBit - 10, 11));
        Assert.Equal(10, deriver.DeriveAddresses(KeyPath.HardenedBit - 10, 10).Length);
        var ex = Assert.Throws<InvalidOperationException>(() => deriver.Derive(KeyPath.HardenedBit));
        Assert.Contains("hardened", ex.Message);
    }

    private static byte[] Scalar(int value)
    {
        var k = new byte[32];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(k.AsSpan(28), value);
        return k;
    }

    private static JacobianPoint MultiplyG(byte[] k)
    {
        var acc = JacobianPoint.Infinity;
        Secp256k1FixedBase.MultiplyAdd(k, ref acc);
        return acc;
    }

    private static AffinePoint ToAffine(JacobianPoint p)
    {
        var result = new AffinePoint[1];
        JacobianPoint.ToAffine([p], result);
        return result[0];
    }

    private static byte[] Encode(JacobianPoint p)
    {
        Assert.False(p.IsInfinity);
        var a = ToAffine(p);
        var encoded = new byte[65];
        encoded[0] = 0x04;
        a.X.WriteBigEndian(encoded.AsSpan(1, 32));
        a.Y.WriteBigEndian(encoded.AsSpan(33, 32));
        return encoded;
    }
}
