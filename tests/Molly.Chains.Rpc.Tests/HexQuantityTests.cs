using System.Numerics;
using Molly.Chains.Rpc.Evm;
using Xunit;

namespace Molly.Chains.Rpc.Tests;

public class HexQuantityTests
{
    [Theory]
    [InlineData("0x0", "0")]
    [InlineData("0x1", "1")]
    [InlineData("0x7a69", "31337")]
    [InlineData("0xFF", "255")]
    [InlineData("0x8000000000000000", "9223372036854775808")]
    [InlineData("0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", "115792089237316195423570985008687907853269984665640564039457584007913129639935")]
    public void Quantities_parse_and_format_round_trip(string hex, string value)
    {
        var parsed = HexQuantity.Parse(hex);
        Assert.Equal(BigInteger.Parse(value, System.Globalization.CultureInfo.InvariantCulture), parsed);
        Assert.Equal(hex.ToLowerInvariant(), HexQuantity.Format(parsed));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("0x")]
    [InlineData("0x00")]
    [InlineData("0x01")]
    [InlineData("1")]
    [InlineData("0X1")]
    [InlineData(" 0x1")]
    [InlineData("0x1 ")]
    [InlineData("-0x1")]
    [InlineData("0x-1")]
    [InlineData("0xg")]
    [InlineData("0x1_0")]
    [InlineData("0x10000000000000000000000000000000000000000000000000000000000000000")]
    public void Malformed_quantities_are_rejected(string? text)
    {
        Assert.False(HexQuantity.TryParse(text, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
        Assert.Throws<FormatException>(() => HexQuantity.Parse(text, "test"));
    }

    [Fact]
    public void Sixty_four_bit_readers_refuse_larger_values()
    {
        Assert.Equal(ulong.MaxValue, HexQuantity.ParseUInt64("0xffffffffffffffff"));
        Assert.Throws<FormatException>(() => HexQuantity.ParseUInt64("0x10000000000000000"));
        Assert.Throws<FormatException>(() => HexQuantity.ParseInt32("0x80000000"));
    }

    [Theory]
    [InlineData("0x", 0, true)]
    [InlineData("0xABcd", 2, true)]
    [InlineData("0xabc", 0, false)]
    [InlineData("abcd", 0, false)]
    [InlineData("0xzz", 0, false)]
    public void Data_is_even_length_hex(string text, int bytes, bool valid)
    {
        if (valid) Assert.Equal(text.ToLowerInvariant(), HexQuantity.ParseData(text, exactBytes: bytes));
        else Assert.Throws<FormatException>(() => HexQuantity.ParseData(text));
    }

    [Fact]
    public void Hashes_are_exactly_32_bytes()
    {
        Assert.Equal("0x" + new string('a', 64), HexQuantity.ParseHash("0x" + new string('A', 64)));
        Assert.Throws<FormatException>(() => HexQuantity.ParseHash("0x" + new string('a', 62)));
        Assert.Throws<FormatException>(() => HexQuantity.ParseHash("0x" + new string('a', 66)));
    }

    [Fact]
    public void Negative_quantities_cannot_be_formatted() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => HexQuantity.Format(BigInteger.MinusOne));
}
