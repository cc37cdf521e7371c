using System.Numerics;
using FsCheck;
using FsCheck.Fluent;
using Molly.Domain;

namespace Molly.Domain.Tests;

public class AmountTests
{
    [Theory]
    [InlineData("12.5", 6, "12500000")]
    [InlineData("0.000001", 6, "1")]
    [InlineData("1", 18, "1000000000000000000")]
    [InlineData("1.50", 2, "150")]
    [InlineData("0", 8, "0")]
    [InlineData("21000000.00000000", 8, "2100000000000000")]
    [InlineData("7", 0, "7")]
    public void Parses_decimal_strings_into_base_units(string text, int decimals, string expected)
    {
        Assert.True(Amount.TryParse(text, decimals, out var value, out var error), error);
        Assert.Equal(BigInteger.Parse(expected), value);
    }

    [Theory]
    [InlineData("1.0000001", 6, "6 decimal places")]
    [InlineData("0.5", 0, "no decimal places")]
    [InlineData("-1", 6, "not a decimal amount")]
    [InlineData("+1", 6, "not a decimal amount")]
    [InlineData("1e6", 6, "not a decimal amount")]
    [InlineData(" 1", 6, "not a decimal amount")]
    [InlineData("1,5", 6, "not a decimal amount")]
    [InlineData("1.", 6, "not a decimal amount")]
    [InlineData(".5", 6, "not a decimal amount")]
    [InlineData("1.2.3", 6, "not a decimal amount")]
    [InlineData("012", 6, "leading zero")]
    [InlineData("", 6, "empty")]
    [InlineData("١٢", 6, "not a decimal amount")] // Arabic-Indic digits: char.IsDigit would take them
    [InlineData("NaN", 6, "not a decimal amount")]
    public void Rejects_malformed_amounts_with_a_reason(string text, int decimals, string reason)
    {
        Assert.False(Amount.TryParse(text, decimals, out _, out var error));
        Assert.Contains(reason, error);
    }

    [Fact]
    public void Rejects_amounts_beyond_uint256()
    {
        var max = Amount.Format(Amount.MaxBaseUnits, 18);
        Assert.True(Amount.TryParse(max, 18, out var v, out _));
        Assert.Equal(Amount.MaxBaseUnits, v);
        var over = Amount.Format(Amount.MaxBaseUnits + 1, 18);
        Assert.False(Amount.TryParse(over, 18, out _, out var error));
        Assert.Contains("larger than any chain", error);
    }

    [Fact]
    public void Format_then_parse_is_the_identity()
    {
        Prop.ForAll(ArbMap.Default.ArbFor<ulong>(), Gen.Choose(0, 30).ToArbitrary(), (raw, decimals) =>
        {
            var value = new BigInteger(raw) * 1_000_003;
            var text = Amount.Format(value, decimals);
            return Amount.TryParse(text, decimals, out var back, out _) && back == value && !text.EndsWith('.');
        }).QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData("150", 2, "1.5")]
    [InlineData("1", 6, "0.000001")]
    [InlineData("1000000", 6, "1")]
    [InlineData("0", 6, "0")]
    public void Formats_the_shortest_exact_string(string baseUnits, int decimals, string expected) =>
        Assert.Equal(expected, Amount.Format(BigInteger.Parse(baseUnits), decimals));
}
