using SimpleBase;

namespace Molly.Chains.Crypto;

/// <summary>Base58 (Bitcoin alphabet) and Base58Check: data || first 4 bytes of double SHA-256(data).</summary>
public static class Base58Check
{
    public static string EncodePlain(ReadOnlySpan<byte> data) => Base58.Bitcoin.Encode(data);

    /// <summary>Decodes plain Base58; throws <see cref="FormatException"/> on a character outside the alphabet.</summary>
    public static byte[] DecodePlain(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            return Base58.Bitcoin.Decode(text);
        }
        catch (ArgumentException ex)
        {
            throw new FormatException("Invalid Base58 string: character outside the Base58 alphabet.", ex);
        }
    }

    /// <summary>Encodes <paramref name="data"/> (version bytes included) with a 4-byte checksum.</summary>
    public static string Encode(ReadOnlySpan<byte> data)
    {
        var buffer = new byte[data.Length + 4];
        data.CopyTo(buffer);
        Span<byte> hash = stackalloc byte[32];
        Hash256.Compute(data, hash);
        hash[..4].CopyTo(buffer.AsSpan(data.Length));
        return Base58.Bitcoin.Encode(buffer);
    }

    /// <summary>Decodes a Base58Check string and returns the data without its checksum.</summary>
    /// <exception cref="FormatException">Bad character, too short, or checksum mismatch.</exception>
    public static byte[] Decode(string text)
    {
        if (!TryDecode(text, out var data, out var error)) throw new FormatException(error);
        return data;
    }

    public static bool TryDecode(string? text, out byte[] data, out string error)
    {
        data = [];
        if (string.IsNullOrEmpty(text))
        {
            error = "Invalid Base58Check string: empty.";
            return false;
        }

        if (text.Any(char.IsWhiteSpace))
        {
            error = "Invalid Base58Check string: contains whitespace.";
            return false;
        }

        byte[] raw;
        try
        {
            raw = Base58.Bitcoin.Decode(text);
        }
        catch (ArgumentException)
        {
            error = "Invalid Base58Check string: character outside the Base58 alphabet.";
            return false;
        }

        if (raw.Length < 4)
        {
            error = "Invalid Base58Check string: shorter than its 4-byte checksum.";
            return false;
        }

        Span<byte> hash = stackalloc byte[32];
        Hash256.Compute(raw.AsSpan(0, raw.Length - 4), hash);
        if (!hash[..4].SequenceEqual(raw.AsSpan(raw.Length - 4)))
        {
            error = "Invalid Base58Check string: checksum mismatch.";
            return false;
        }

        data = raw[..^4];
        error = string.Empty;
        return true;
    }
}
