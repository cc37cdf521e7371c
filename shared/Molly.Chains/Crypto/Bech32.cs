namespace Molly.Chains.Crypto;

public enum Bech32Encoding
{
    /// <summary>BIP173 checksum constant 1 (segwit v0).</summary>
    Bech32 = 1,

    /// <summary>BIP350 checksum constant 0x2bc830a3 (segwit v1+).</summary>
    Bech32m = 2,
}

/// <summary>A decoded bech32/bech32m string: lower-case human-readable part and 5-bit data without checksum.</summary>
public sealed record Bech32Data(string Hrp, byte[] Data, Bech32Encoding Encoding);

/// <summary>Bech32 and Bech32m (BIP173, BIP350), plus the segwit address layer on top.</summary>
public static class Bech32
{
    private const string Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    private const uint Bech32Const = 1;
    private const uint Bech32mConst = 0x2bc830a3;
    public const int MaxLength = 90;

    private static readonly sbyte[] CharsetRev = BuildReverse();

    private static sbyte[] BuildReverse()
    {
        var rev = new sbyte[128];
        Array.Fill(rev, (sbyte)-1);
        for (var i = 0; i < Charset.Length; i++)
        {
            rev[Charset[i]] = (sbyte)i;
            rev[char.ToUpperInvariant(Charset[i])] = (sbyte)i;
        }

        return rev;
    }

    private static uint PolyMod(ReadOnlySpan<byte> values, uint chk = 1)
    {
        foreach (var v in values)
        {
            var top = chk >> 25;
            chk = ((chk & 0x1ffffff) << 5) ^ v;
            if ((top & 1) != 0) chk ^= 0x3b6a57b2;
            if ((top & 2) != 0) chk ^= 0x26508e6d;
            if ((top & 4) != 0) chk ^= 0x1ea119fa;
            if ((top & 8) != 0) chk ^= 0x3d4233dd;
            if ((top & 16) != 0) chk ^= 0x2a1462b3;
        }

        return chk;
    }

    private static uint HrpChecksumState(string hrp)
    {
        Span<byte> expanded = stackalloc byte[hrp.Length * 2 + 1];
        for (var i = 0; i < hrp.Length; i++)
        {
            expanded[i] = (byte)(hrp[i] >> 5);
            expanded[hrp.Length + 1 + i] = (byte)(hrp[i] & 31);
        }

        expanded[hrp.Length] = 0;
        return PolyMod(expanded);
    }

    /// <summary>Encodes 5-bit <paramref name="data"/> under <paramref name="hrp"/> (lower-case output).</summary>
    public static string Encode(string hrp, ReadOnlySpan<byte> data, Bech32Encoding encoding)
    {
        ArgumentNullException.ThrowIfNull(hrp);
        if (hrp.Length is < 1 or > 83) throw new ArgumentException("Bech32 HRP must be 1 to 83 characters.", nameof(hrp));
        foreach (var c in hrp)
        {
            if (c is < (char)33 or > (char)126) throw new ArgumentException("Bech32 HRP character out of range.", nameof(hrp));
        }

        hrp = hrp.ToLowerInvariant();
        foreach (var d in data)
        {
            if (d > 31) throw new ArgumentException("Bech32 data values must be 5-bit.", nameof(data));
        }

        var total = hrp.Length + 1 + data.Length + 6;
        if (total > MaxLength) throw new ArgumentException($"Bech32 string would be {total} characters; the limit is {MaxLength}.", nameof(data));

        var chk = HrpChecksumState(hrp);
        chk = PolyMod(data, chk);
        Span<byte> zeros = stackalloc byte[6];
        chk = PolyMod(zeros, chk) ^ (encoding == Bech32Encoding.Bech32m ? Bech32mConst : Bech32Const);

        return string.Create(total, (hrp, data.ToArray(), chk), static (span, s) =>
        {
            s.hrp.AsSpan().CopyTo(span);
            span[s.hrp.Length] = '1';
            var p = s.hrp.Length + 1;
            foreach (var d in s.Item2) span[p++] = Charset[d];
            for (var i = 0; i < 6; i++) span[p++] = Charset[(int)((s.chk >> (5 * (5 - i))) & 31)];
        });
    }

    /// <summary>Decodes a bech32 or bech32m string; throws <see cref="FormatException"/> naming the problem.</summary>
    public static Bech32Data Decode(string text)
    {
        if (!TryDecode(text, out var result, out var error)) throw new FormatException(error);
        return result;
    }

    public static bool TryDecode(string? text, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out Bech32Data result, out string error)
    {
        result = null;
        if (string.IsNullOrEmpty(text))
        {
            error = "Invalid bech32 string: empty.";
            return false;
        }

        if (text.Length > MaxLength)
        {
            error = $"Invalid bech32 string: {text.Length} characters, limit is {MaxLength}.";
            return false;
        }

        bool lower = false, upper = false;
        foreach (var c in text)
        {
            if (c is < (char)33 or > (char)126)
            {
                error = "Invalid bech32 string: character out of range.";
                return false;
            }

            if (c is >= 'a' and <= 'z') lower = true;
            if (c is >= 'A' and <= 'Z') upper = true;
        }

        if (lower && upper)
        {
            error = "Invalid bech32 string: mixed case.";
            return false;
        }

        var sep = text.LastIndexOf('1');
        if (sep < 1)
        {
            error = sep == 0 ? "Invalid bech32 string: empty human-readable part." : "Invalid bech32 string: no separator '1'.";
            return false;
        }

        if (sep + 7 > text.Length)
        {
            error = "Invalid bech32 string: checksum too short.";
            return false;
        }

        var hrp = text[..sep].ToLowerInvariant();
        var data = new byte[text.Length - sep - 1];
        for (var i = 0; i < data.Length; i++)
        {
            var c = text[sep + 1 + i];
            var v = CharsetRev[c];
            if (v < 0)
            {
                error = $"Invalid bech32 string: character '{c}' is not in the bech32 alphabet.";
                return false;
            }

            data[i] = (byte)v;
        }

        var chk = PolyMod(data, HrpChecksumState(hrp));
        Bech32Encoding encoding;
        if (chk == Bech32Const) encoding = Bech32Encoding.Bech32;
        else if (chk == Bech32mConst) encoding = Bech32Encoding.Bech32m;
        else
        {
            error = "Invalid bech32 string: checksum mismatch.";
            return false;
        }

        result = new Bech32Data(hrp, data[..^6], encoding);
        error = string.Empty;
        return true;
    }

    /// <summary>Regroups bits (8 to 5 or 5 to 8). With <paramref name="pad"/> false, leftover bits must be fewer than <paramref name="fromBits"/> and zero.</summary>
    public static bool TryConvertBits(ReadOnlySpan<byte> data, int fromBits, int toBits, bool pad, out byte[] result)
    {
        var acc = 0;
        var bits = 0;
        var maxv = (1 << toBits) - 1;
        var output = new List<byte>(data.Length * fromBits / toBits + 1);
        foreach (var value in data)
        {
            if (value >> fromBits != 0)
            {
                result = [];
                return false;
            }

            acc = (acc << fromBits) | value;
            bits += fromBits;
            while (bits >= toBits)
            {
                bits -= toBits;
                output.Add((byte)((acc >> bits) & maxv));
            }
        }

        if (pad)
        {
            if (bits > 0) output.Add((byte)((acc << (toBits - bits)) & maxv));
        }
        else if (bits >= fromBits || ((acc << (toBits - bits)) & maxv) != 0)
        {
            result = [];
            return false;
        }

        result = output.ToArray();
        return true;
    }

    /// <summary>Encodes a segwit address (BIP173 for version 0, BIP350 for 1 to 16).</summary>
    public static string EncodeSegwit(string hrp, int witnessVersion, ReadOnlySpan<byte> program)
    {
        ValidateProgram(witnessVersion, program.Length);
        TryConvertBits(program, 8, 5, true, out var five);
        var data = new byte[five.Length + 1];
        data[0] = (byte)witnessVersion;
        five.CopyTo(data, 1);
        return Encode(hrp, data, witnessVersion == 0 ? Bech32Encoding.Bech32 : Bech32Encoding.Bech32m);
    }

    /// <summary>Decodes a segwit address whose HRP must equal <paramref name="expectedHrp"/>.</summary>
    public static (int WitnessVersion, byte[] Program) DecodeSegwit(string expectedHrp, string address)
    {
        if (!TryDecodeSegwit(expectedHrp, address, out var version, out var program, out var error)) throw new FormatException(error);
        return (version, program);
    }

    public static bool TryDecodeSegwit(string expectedHrp, string? address, out int witnessVersion, out byte[] program, out string error)
    {
        witnessVersion = -1;
        program = [];
        if (!TryDecode(address, out var decoded, out error)) return false;
        if (!string.Equals(decoded.Hrp, expectedHrp, StringComparison.Ordinal))
        {
            error = $"Invalid segwit address: human-readable part '{decoded.Hrp}' does not match the network's '{expectedHrp}'.";
            return false;
        }

        if (decoded.Data.Length < 1)
        {
            error = "Invalid segwit address: no witness version.";
            return false;
        }

        var version = decoded.Data[0];
        if (version > 16)
        {
            error = $"Invalid segwit address: witness version {version} is above 16.";
            return false;
        }

        if (!TryConvertBits(decoded.Data.AsSpan(1), 5, 8, false, out var prog))
        {
            error = "Invalid segwit address: bad padding in the witness program.";
            return false;
        }

        try
        {
            ValidateProgram(version, prog.Length);
        }
        catch (ArgumentException ex)
        {
            error = "Invalid segwit address: " + ex.Message;
            return false;
        }

        var expected = version == 0 ? Bech32Encoding.Bech32 : Bech32Encoding.Bech32m;
        if (decoded.Encoding != expected)
        {
            error = $"Invalid segwit address: witness version {version} must use {expected}, found {decoded.Encoding}.";
            return false;
        }

        witnessVersion = version;
        program = prog;
        error = string.Empty;
        return true;
    }

    private static void ValidateProgram(int version, int length)
    {
        if (version is < 0 or > 16) throw new ArgumentException($"witness version {version} is outside 0..16.");
        if (length is < 2 or > 40) throw new ArgumentException($"witness program of {length} bytes is outside 2..40.");
        if (version == 0 && length != 20 && length != 32) throw new ArgumentException($"witness v0 program must be 20 or 32 bytes, found {length}.");
    }
}
