namespace Molly.Chains.Evm;

/// <summary>0x-prefixed hex as Ethereum JSON-RPC writes data.</summary>
public static class EvmHex
{
    public static string Encode(ReadOnlySpan<byte> data) => "0x" + Convert.ToHexStringLower(data);

    /// <summary>Decodes hex with or without a 0x prefix; an odd number of digits or a non-hex digit is an error.</summary>
    public static byte[] Decode(string hex, string what = "hex data")
    {
        ArgumentNullException.ThrowIfNull(hex);
        var digits = hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? hex.AsSpan(2) : hex.AsSpan();
        if (digits.Length % 2 != 0) throw new FormatException($"{what}: odd number of hex digits ({digits.Length}).");
        foreach (var c in digits)
            if (!char.IsAsciiHexDigit(c)) throw new FormatException($"{what}: '{c}' is not a hex digit.");
        return Convert.FromHexString(digits);
    }
}
