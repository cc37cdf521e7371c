using System.Globalization;
using System.Numerics;

namespace Molly.Chains.Rpc.Evm;

/// <summary>
/// The execution API's hex encodings, parsed strictly: a QUANTITY is "0x" and 1..64 hex digits without leading zeros
/// ("0x0" for zero), DATA is "0x" and an even number of hex digits. Anything else (a missing prefix, "0x", "0x01", a
/// sign, whitespace, a decimal number) is a <see cref="FormatException"/>: a node or proxy sending it is broken.
/// </summary>
public static class HexQuantity
{
    /// <summary>A 256-bit quantity has at most 64 hex digits.</summary>
    public const int MaxDigits = 64;

    public static BigInteger Parse(string? text, string what = "quantity")
    {
        if (!TryParse(text, out var value, out var error)) throw new FormatException($"{what}: {error}");
        return value;
    }

    public static ulong ParseUInt64(string? text, string what = "quantity")
    {
        var value = Parse(text, what);
        return value <= ulong.MaxValue ? (ulong)value : throw new FormatException($"{what}: {Shorten(text)} does not fit in 64 bits.");
    }

    public static int ParseInt32(string? text, string what = "quantity")
    {
        var value = Parse(text, what);
        return value <= int.MaxValue ? (int)value : throw new FormatException($"{what}: {Shorten(text)} does not fit in 31 bits.");
    }

    public static bool TryParse(string? text, out BigInteger value, out string error)
    {
        value = BigInteger.Zero;
        if (text is null) { error = "missing (null)."; return false; }
        if (text.Length < 3 || text[0] != '0' || text[1] != 'x')
        {
            error = $"'{Shorten(text)}' is not a 0x-prefixed hex quantity.";
            return false;
        }
        var digits = text.AsSpan(2);
        if (digits.Length > MaxDigits) { error = $"'{Shorten(text)}' has more than {MaxDigits} hex digits."; return false; }
        if (digits.Length > 1 && digits[0] == '0') { error = $"'{Shorten(text)}' has leading zero digits."; return false; }
        foreach (var c in digits)
            if (!char.IsAsciiHexDigit(c)) { error = $"'{Shorten(text)}' contains '{c}', which is not a hex digit."; return false; }
        // A leading '0' keeps BigInteger's hex parser from reading the top bit as a sign.
        value = BigInteger.Parse("0" + digits.ToString(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
        error = string.Empty;
        return true;
    }

    public static string Format(BigInteger value)
    {
        if (value.Sign < 0) throw new ArgumentOutOfRangeException(nameof(value), "A quantity is never negative.");
        if (value.IsZero) return "0x0";
        var hex = value.ToString("x", CultureInfo.InvariantCulture).TrimStart('0');
        return "0x" + hex;
    }

    public static string Format(ulong value) => "0x" + value.ToString("x", CultureInfo.InvariantCulture);

    /// <summary>DATA: "0x" and an even number of hex digits, returned lower-case (hashes, calldata, log data).</summary>
    public static string ParseData(string? text, string what = "data", int? exactBytes = null)
    {
        if (text is null || text.Length < 2 || text[0] != '0' || text[1] != 'x')
            throw new FormatException($"{what}: '{Shorten(text)}' is not 0x-prefixed hex data.");
        var digits = text.AsSpan(2);
        if (digits.Length % 2 != 0) throw new FormatException($"{what}: '{Shorten(text)}' has an odd number of hex digits.");
        if (exactBytes is { } n && digits.Length != n * 2)
            throw new FormatException($"{what}: '{Shorten(text)}' is {digits.Length / 2} bytes, expected {n}.");
        foreach (var c in digits)
            if (!char.IsAsciiHexDigit(c)) throw new FormatException($"{what}: '{Shorten(text)}' contains '{c}', which is not a hex digit.");
        return text.ToLowerInvariant();
    }

    /// <summary>A 32-byte hash as DATA, lower-case.</summary>
    public static string ParseHash(string? text, string what = "hash") => ParseData(text, what, 32);

    private static string Shorten(string? text) => text is null ? "null" : text.Length <= 80 ? text : text[..80] + "...";
}
