using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;

namespace Molly.Domain;

/// <summary>
/// Conversions between an asset's base units (an integer, <see cref="BigInteger"/>) and the decimal strings used on the
/// wire ("12.5" USDT with 6 decimals is 12,500,000 base units). Never a double, never a culture: the only accepted
/// form is ASCII digits with at most one '.', no sign, no exponent, no whitespace, no thousands separators.
/// </summary>
public static class Amount
{
    /// <summary>The largest amount any chain can carry: 2^256 - 1 (an EVM uint256).</summary>
    public static readonly BigInteger MaxBaseUnits = BigInteger.Pow(2, 256) - 1;

    /// <summary>Parses a decimal string into base units for an asset with <paramref name="decimals"/> decimals.</summary>
    public static bool TryParse(string? text, int decimals, out BigInteger baseUnits, [MaybeNullWhen(true)] out string error)
    {
        baseUnits = BigInteger.Zero;
        if (decimals is < 0 or > 36)
            throw new ArgumentOutOfRangeException(nameof(decimals), "An asset has 0 to 36 decimals.");
        if (string.IsNullOrEmpty(text))
        {
            error = "The amount is empty.";
            return false;
        }
        if (text.Length > 100)
        {
            error = "The amount is too long.";
            return false;
        }

        var dot = text.IndexOf('.');
        var whole = dot < 0 ? text : text[..dot];
        var fraction = dot < 0 ? "" : text[(dot + 1)..];
        if (whole.Length == 0 || (dot >= 0 && fraction.Length == 0) || !IsDigits(whole) || !IsDigits(fraction))
        {
            error = $"'{Truncate(text)}' is not a decimal amount: use digits with an optional '.' (for example \"12.50\").";
            return false;
        }
        if (whole.Length > 1 && whole[0] == '0')
        {
            error = $"'{Truncate(text)}' has a leading zero.";
            return false;
        }
        var significantFraction = fraction.TrimEnd('0');
        if (significantFraction.Length > decimals)
        {
            error = decimals == 0
                ? "This asset has no decimal places."
                : $"This asset has {decimals} decimal places; the amount has {significantFraction.Length}.";
            return false;
        }

        var digits = whole + significantFraction.PadRight(decimals, '0');
        var value = BigInteger.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        if (value > MaxBaseUnits)
        {
            error = "The amount is larger than any chain can carry.";
            return false;
        }
        baseUnits = value;
        error = null;
        return true;
    }

    /// <summary>Parses or throws <see cref="FormatException"/> with the reason.</summary>
    public static BigInteger Parse(string text, int decimals) =>
        TryParse(text, decimals, out var v, out var error) ? v : throw new FormatException(error);

    /// <summary>Formats base units as the shortest exact decimal string ("12.5", "0.000001", "3").</summary>
    public static string Format(BigInteger baseUnits, int decimals)
    {
        if (baseUnits.Sign < 0) return "-" + Format(-baseUnits, decimals);
        var digits = baseUnits.ToString(CultureInfo.InvariantCulture);
        if (decimals == 0) return digits;
        digits = digits.PadLeft(decimals + 1, '0');
        var whole = digits[..^decimals];
        var fraction = digits[^decimals..].TrimEnd('0');
        return fraction.Length == 0 ? whole : whole + "." + fraction;
    }

    private static bool IsDigits(string s)
    {
        foreach (var c in s)
            if (c is < '0' or > '9') return false;
        return true;
    }

    private static string Truncate(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
