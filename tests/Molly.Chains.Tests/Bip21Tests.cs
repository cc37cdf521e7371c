using Molly.Chains.Bitcoin;
using Xunit;

namespace Molly.Chains.Tests;

public class Bip21Tests
{
    [Theory]
    [InlineData("150000000", "1.5")]
    [InlineData("1", "0.00000001")]
    [InlineData("2100000000000000", "21000000")]
    [InlineData("123456789", "1.23456789")]
    public void Amounts_are_exact_decimal_strings(string baseUnits, string expected)
        => Assert.Equal(expected, Bip21Uri.FormatAmount(System.Numerics.BigInteger.Parse(baseUnits, System.Globalization.CultureInfo.InvariantCulture), 8));

    [Fact]
    public void Uri_has_amount_and_percent_encoded_label_and_message()
    {
        var address = BitcoinAddress.Create("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", Network.BitcoinMain);
        Assert.Equal("bitcoin:bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu?amount=0.0005&label=Shop%20%26%20Co&message=Order%20%2342",
            Bip21Uri.Create(address, 50_000, "Shop & Co", "Order #42"));
        var ltc = BitcoinAddress.FromKeyHash(address.KeyHash, Network.LitecoinMain);
        Assert.StartsWith("litecoin:ltc1", Bip21Uri.Create(ltc));
        Assert.Throws<ArgumentOutOfRangeException>(() => Bip21Uri.Create(address, 0));
    }
}
