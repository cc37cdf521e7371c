using System.Numerics;
using System.Text;
using Molly.Chains.Crypto;

namespace Molly.Chains.Evm;

/// <summary>
/// Solidity contract ABI encoding of function calls (head/tail layout, 32-byte words). Types: uint&lt;N&gt;, int&lt;N&gt;,
/// address, bool, bytes&lt;N&gt;, bytes, string, T[k], T[]. Values: integers as BigInteger/long/int/ulong, addresses as
/// <see cref="EvmAddress"/>, bytes as byte[], strings as string, arrays as any IEnumerable of values.
/// </summary>
public static class Abi
{
    /// <summary>keccak256(signature)[0..4], e.g. "transfer(address,uint256)" -> a9059cbb.</summary>
    public static byte[] Selector(string signature) => Keccak256.Compute(Encoding.ASCII.GetBytes(signature))[..4];

    /// <summary>selector || encoded arguments; argument types are read from the signature.</summary>
    public static byte[] EncodeCall(string signature, params object[] args)
    {
        var open = signature.IndexOf('(');
        if (open <= 0 || !signature.EndsWith(')')) throw new FormatException($"ABI signature '{signature}' must look like name(type,...).");
        var types = SplitTypes(signature[(open + 1)..^1]);
        var encoded = Encode(types, args);
        var result = new byte[4 + encoded.Length];
        Selector(signature).CopyTo(result, 0);
        encoded.CopyTo(result, 4);
        return result;
    }

    /// <summary>Encodes a tuple of values of the given types.</summary>
    public static byte[] Encode(IReadOnlyList<string> types, IReadOnlyList<object> values)
    {
        if (types.Count != values.Count) throw new ArgumentException($"ABI: {types.Count} types but {values.Count} values.");
        return EncodeTuple(types.Select(AbiType.Parse).ToList(), values);
    }

    private static List<string> SplitTypes(string list)
    {
        var result = new List<string>();
        if (list.Length == 0) return result;
        int depth = 0, start = 0;
        for (var i = 0; i < list.Length; i++)
        {
            if (list[i] == '(') depth++;
            else if (list[i] == ')') depth--;
            else if (list[i] == ',' && depth == 0) { result.Add(list[start..i]); start = i + 1; }
        }
        result.Add(list[start..]);
        return result;
    }

    private static byte[] EncodeTuple(IReadOnlyList<AbiType> types, IReadOnlyList<object> values)
    {
        var heads = new List<byte[]>();
        var tails = new List<byte[]>();
        var headSize = types.Sum(t => t.HeadSize);
        var tailOffset = headSize;
        for (var i = 0; i < types.Count; i++)
        {
            if (types[i].IsDynamic)
            {
                var tail = EncodeValue(types[i], values[i]);
                heads.Add(Word(tailOffset));
                tails.Add(tail);
                tailOffset += tail.Length;
            }
            else
            {
                heads.Add(EncodeValue(types[i], values[i]));
            }
        }
        return heads.Concat(tails).SelectMany(b => b).ToArray();
    }

    private static byte[] EncodeValue(AbiType type, object value)
    {
        if (type.ElementType is { } element)
        {
            var items = value is System.Collections.IEnumerable e and not string and not byte[]
                ? e.Cast<object>().ToList()
                : throw new ArgumentException($"ABI {type}: expected a list of values.");
            if (type.FixedLength is { } n && items.Count != n) throw new ArgumentException($"ABI {type}: expected {n} items, got {items.Count}.");
            var body = EncodeTuple(Enumerable.Repeat(element, items.Count).ToList(), items);
            return type.FixedLength is null ? [.. Word(items.Count), .. body] : body;
        }

        switch (type.Base)
        {
            case "address":
                return LeftPad(value is EvmAddress a ? a.Bytes : throw new ArgumentException("ABI address: expected an EvmAddress."));
            case "bool":
                return Word(value is bool b ? (b ? 1 : 0) : throw new ArgumentException("ABI bool: expected a bool."));
            case "string":
                return DynamicBytes(Encoding.UTF8.GetBytes(value as string ?? throw new ArgumentException("ABI string: expected a string.")));
            case "bytes" when type.Size == 0:
                return DynamicBytes(AsBytes(value, type));
            case "bytes":
            {
                var bytes = AsBytes(value, type);
                if (bytes.Length != type.Size) throw new ArgumentException($"ABI {type}: expected {type.Size} bytes, got {bytes.Length}.");
                var word = new byte[32];
                bytes.CopyTo(word, 0);
                return word;
            }
            case "uint":
            case "int":
                return IntegerWord(type, ToBigInteger(value, type));
            default:
                throw new NotSupportedException($"ABI type {type} is not supported.");
        }
    }

    private static byte[] AsBytes(object value, AbiType type) => value switch
    {
        byte[] bytes => bytes,
        ReadOnlyMemory<byte> m => m.ToArray(),
        string s => Encoding.UTF8.GetBytes(s),
        _ => throw new ArgumentException($"ABI {type}: expected bytes."),
    };

    private static BigInteger ToBigInteger(object value, AbiType type) => value switch
    {
        BigInteger v => v,
        int v => v,
        long v => v,
        uint v => v,
        ulong v => v,
        _ => throw new ArgumentException($"ABI {type}: expected an integer."),
    };

    private static byte[] IntegerWord(AbiType type, BigInteger value)
    {
        var bits = type.Size;
        if (type.Base == "uint")
        {
            if (value.Sign < 0 || value >= BigInteger.One << bits) throw new ArgumentOutOfRangeException(nameof(value), $"ABI {type}: value out of range.");
            return LeftPad(value.IsZero ? [] : value.ToByteArray(isUnsigned: true, isBigEndian: true));
        }
        var limit = BigInteger.One << (bits - 1);
        if (value < -limit || value >= limit) throw new ArgumentOutOfRangeException(nameof(value), $"ABI {type}: value out of range.");
        var twos = value.Sign < 0 ? (BigInteger.One << 256) + value : value;
        return LeftPad(twos.IsZero ? [] : twos.ToByteArray(isUnsigned: true, isBigEndian: true));
    }

    private static byte[] DynamicBytes(byte[] bytes)
    {
        var padded = new byte[(bytes.Length + 31) / 32 * 32];
        bytes.CopyTo(padded, 0);
        return [.. Word(bytes.Length), .. padded];
    }

    /// <summary>A uint256 as a 32-byte big-endian word.</summary>
    public static byte[] Word(BigInteger value) => LeftPad(value.IsZero ? [] : value.ToByteArray(isUnsigned: true, isBigEndian: true));

    /// <summary>Left-pads up to 32 bytes into one ABI word (addresses in topics and calldata).</summary>
    public static byte[] LeftPad(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > 32) throw new ArgumentException("ABI word overflow.");
        var word = new byte[32];
        bytes.CopyTo(word.AsSpan(32 - bytes.Length));
        return word;
    }

    private sealed record AbiType(string Base, int Size, AbiType? ElementType, int? FixedLength)
    {
        public bool IsDynamic => ElementType is null
            ? Base == "string" || (Base == "bytes" && Size == 0)
            : FixedLength is null || ElementType.IsDynamic;

        public int HeadSize => ElementType is not null && FixedLength is { } n && !IsDynamic ? n * ElementType.HeadSize : 32;

        public static AbiType Parse(string text)
        {
            text = text.Trim();
            if (text.EndsWith(']'))
            {
                var open = text.LastIndexOf('[');
                if (open < 0) throw new FormatException($"ABI type '{text}' is malformed.");
                var inner = Parse(text[..open]);
                var lengthText = text[(open + 1)..^1];
                int? length = lengthText.Length == 0 ? null
                    : int.TryParse(lengthText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0 ? n
                    : throw new FormatException($"ABI type '{text}' has a bad array length.");
                return new AbiType(text, 0, inner, length);
            }
            if (text is "address" or "bool" or "string") return new AbiType(text, 0, null, null);
            if (text == "bytes") return new AbiType("bytes", 0, null, null);
            foreach (var prefix in new[] { "uint", "int", "bytes" })
            {
                if (!text.StartsWith(prefix, StringComparison.Ordinal)) continue;
                var sizeText = text[prefix.Length..];
                if (!int.TryParse(sizeText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var size))
                    continue;
                var ok = prefix == "bytes" ? size is >= 1 and <= 32 : size is >= 8 and <= 256 && size % 8 == 0;
                if (!ok) throw new FormatException($"ABI type '{text}' has an invalid size.");
                return new AbiType(prefix, size, null, null);
            }
            throw new FormatException($"ABI type '{text}' is not supported.");
        }

        public override string ToString() => ElementType is null ? (Size == 0 ? Base : Base + Size) : Base;
    }
}
