using System.Globalization;
using System.Numerics;
using System.Text;

namespace Molly.Chains.Bitcoin;

/// <summary>BIP21 payment URIs (bitcoin:/litecoin:). The amount is built from integer base units as a decimal string, never a double.</summary>
public static class Bip21Uri
{
    public static string Create(BitcoinAddress address, BigInteger? amountBaseUnits = null, string? label = null, string? message = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        var scheme = address.Network.Chain == "ltc" ? "litecoin" : "bitcoin";
        var sb = new StringBuilder(scheme).Append(':').Append(address.Value);
        var sep = '?';
        if (amountBaseUnits is { } amount)
        {
            if (amount.Sign <= 0) throw new ArgumentOutOfRangeException(nameof(amountBaseUnits), "BIP21 amount must be positive.");
            sb.Append(sep).Append("amount=").Append(FormatAmount(amount, 8));
            sep = '&';
        }

        if (!string.IsNullOrEmpty(label))
        {
            sb.Append(sep).Append("label=").Append(Uri.EscapeDataString(label));
            sep = '&';
        }

        if (!string.IsNullOrEmpty(message)) sb.Append(sep).Append("message=").Append(Uri.EscapeDataString(message));
        return sb.ToString();
    }

    /// <summary>Base units to a decimal string with no trailing zeros: 150000000 (8 decimals) is "1.5".</summary>
    public static string FormatAmount(BigInteger baseUnits, int decimals)
    {
        var divisor = BigInteger.Pow(10, decimals);
        var whole = BigInteger.DivRem(BigInteger.Abs(baseUnits), divisor, out var fraction);
        var text = whole.ToString(CultureInfo.InvariantCulture);
        if (!fraction.IsZero) text += "." + fraction.ToString(CultureInfo.InvariantCulture).PadLeft(decimals, '0').TrimEnd('0');
        return baseUnits.Sign < 0 ? "-" + text : text;
    }
}
