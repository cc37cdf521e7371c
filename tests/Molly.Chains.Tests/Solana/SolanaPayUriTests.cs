using System.Numerics;
using Molly.Chains.Solana;
using Xunit;

namespace Molly.Chains.Tests.Solana;

public class SolanaPayUriTests
{
    private static readonly SolanaAddress Recipient = SolanaAddress.Parse("B8UwBUUnKwCyKuGMbFKWaG7exYdDk2ozZrPg72NyVbfj");
    private static readonly SolanaAddress Reference = SolanaAddress.Parse("J3dxNj7nDRRqRRXuEMynDG57DkZK4jYRuv3Garmb1i99");
    private static readonly SolanaAddress Mint = SolanaAddress.Parse("7o36UsWR1JQLpZ9PE2gn9L4SQ69CNNiWAXd4Jt7rqz9Z");

    [Fact]
    public void Spl_token_request_round_trips_exact_amounts()
    {
        var uri = new SolanaPayUri(Recipient, 1_500_000, 6, Mint, [Reference], "Molly shop", "Order #42", "inv-42");
        var text = uri.ToString();
        Assert.Equal("solana:B8UwBUUnKwCyKuGMbFKWaG7exYdDk2ozZrPg72NyVbfj?amount=1.5&spl-token=7o36UsWR1JQLpZ9PE2gn9L4SQ69CNNiWAXd4Jt7rqz9Z"
            + "&reference=J3dxNj7nDRRqRRXuEMynDG57DkZK4jYRuv3Garmb1i99&label=Molly%20shop&message=Order%20%2342&memo=inv-42", text);
        Assert.True(SolanaPayUri.TryParse(text, 6, out var parsed, out _));
        Assert.Equal(new BigInteger(1_500_000), parsed.AmountBaseUnits);
        Assert.Equal(Reference, Assert.Single(parsed.References));
        Assert.Equal("Order #42", parsed.Message);
    }

    [Theory]
    [InlineData(1, 9, "0.000000001")]
    [InlineData(1_000_000_000, 9, "1")]
    [InlineData(10_000_000, 9, "0.01")]
    [InlineData(0, 6, "0")]
    public void Amounts_format_as_plain_decimals(long baseUnits, int decimals, string expected)
    {
        Assert.Equal(expected, SolanaPayUri.FormatAmount(baseUnits, decimals));
        Assert.True(SolanaPayUri.TryParseAmount(expected, decimals, out var back, out _));
        Assert.Equal(new BigInteger(baseUnits), back);
    }

    [Theory]
    [InlineData("0.0000000001", "decimal places")]
    [InlineData(".5", "plain decimal")]
    [InlineData("1e3", "plain decimal")]
    [InlineData("-1", "plain decimal")]
    public void Bad_amounts_are_rejected(string amount, string fragment)
    {
        Assert.False(SolanaPayUri.TryParse($"solana:{Recipient}?amount={amount}", 9, out _, out var error));
        Assert.Contains(fragment, error);
    }
}
