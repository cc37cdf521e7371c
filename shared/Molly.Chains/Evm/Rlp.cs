using System.Numerics;

namespace Molly.Chains.Evm;

/// <summary>One RLP item: a byte string or a list of items.</summary>
public sealed class RlpItem
{
    private readonly byte[]? _bytes;
    private readonly RlpItem[]? _items;

    private RlpItem(byte[]? bytes, RlpItem[]? items)
    {
        _bytes = bytes;
        _items = items;
    }

    public static readonly RlpItem Empty = new([], null);

    public bool IsList => _items is not null;

    /// <summary>The content of a byte string.</summary>
    /// <exception cref="RlpException">The item is a list.</exception>
    public ReadOnlyMemory<byte> Bytes => _bytes ?? throw new RlpException("Expected an RLP byte string, found a list.");

    /// <summary>The items of a list.</summary>
    /// <exception cref="RlpException">The item is a byte string.</exception>
    public IReadOnlyList<RlpItem> Items => _items ?? throw new RlpException("Expected an RLP list, found a byte string.");

    public static RlpItem String(ReadOnlySpan<byte> bytes) => new(bytes.ToArray(), null);

    public static RlpItem List(params RlpItem[] items) => new(null, (RlpItem[])items.Clone());

    public static RlpItem List(IEnumerable<RlpItem> items) => new(null, items.ToArray());

    /// <summary>A non-negative integer as its minimal big-endian bytes (0 is the empty string).</summary>
    public static RlpItem UInt(BigInteger value)
    {
        if (value.Sign < 0) throw new ArgumentOutOfRangeException(nameof(value), "RLP integers are non-negative.");
        return new(value.IsZero ? [] : value.ToByteArray(isUnsigned: true, isBigEndian: true), null);
    }

    /// <summary>Reads a byte string as a canonical unsigned integer (no leading zero bytes, at most <paramref name="maxBytes"/> bytes).</summary>
    public BigInteger ToUInt(string field, int maxBytes = 32)
    {
        var bytes = _bytes ?? throw new RlpException($"{field}: expected an integer, found a list.");
        if (bytes.Length > maxBytes) throw new RlpException($"{field}: integer is {bytes.Length} bytes, at most {maxBytes} allowed.");
        if (bytes.Length > 0 && bytes[0] == 0) throw new RlpException($"{field}: integer has a leading zero byte.");
        return new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
    }
}

/// <summary>RLP decoding failed: the input is not canonical RLP.</summary>
public sealed class RlpException(string message) : FormatException(message);

/// <summary>Recursive Length Prefix encoding (Ethereum yellow paper, appendix B), with a strict canonical decoder.</summary>
public static class Rlp
{
    public static byte[] Encode(RlpItem item)
    {
        var buffer = new List<byte>(64);
        Write(item, buffer);
        return buffer.ToArray();
    }

    public static byte[] EncodeBytes(ReadOnlySpan<byte> bytes) => Encode(RlpItem.String(bytes));

    private static void Write(RlpItem item, List<byte> output)
    {
        if (!item.IsList)
        {
            var bytes = item.Bytes.Span;
            if (bytes.Length == 1 && bytes[0] < 0x80)
            {
                output.Add(bytes[0]);
                return;
            }
            WriteHeader(0x80, bytes.Length, output);
            foreach (var b in bytes) output.Add(b);
            return;
        }

        var payload = new List<byte>();
        foreach (var child in item.Items) Write(child, payload);
        WriteHeader(0xc0, payload.Count, output);
        output.AddRange(payload);
    }

    private static void WriteHeader(byte offset, int length, List<byte> output)
    {
        if (length < 56)
        {
            output.Add((byte)(offset + length));
            return;
        }
        var lengthBytes = new BigInteger(length).ToByteArray(isUnsigned: true, isBigEndian: true);
        output.Add((byte)(offset + 55 + lengthBytes.Length));
        output.AddRange(lengthBytes);
    }

    /// <summary>
    /// Decodes exactly one item that spans the whole input. Rejects every non-canonical form: a single byte below 0x80
    /// wrapped in a string header, long forms for lengths under 56, lengths with leading zeros, lengths past the input,
    /// list payloads that do not end on an item boundary, and trailing bytes.
    /// </summary>
    public static RlpItem Decode(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty) throw new RlpException("RLP input is empty.");
        var position = 0;
        var item = ReadItem(input, ref position, depth: 0);
        if (position != input.Length)
            throw new RlpException($"RLP item ends at byte {position} but the input has {input.Length} bytes (trailing data).");
        return item;
    }

    private const int MaxDepth = 64;

    private static RlpItem ReadItem(ReadOnlySpan<byte> input, ref int position, int depth)
    {
        if (depth > MaxDepth) throw new RlpException($"RLP nesting is deeper than {MaxDepth}.");
        var start = position;
        var prefix = input[position++];
        if (prefix < 0x80) return RlpItem.String([prefix]);

        bool isList = prefix >= 0xc0;
        int shortBase = isList ? 0xc0 : 0x80;
        int length;
        if (prefix - shortBase <= 55)
        {
            length = prefix - shortBase;
        }
        else
        {
            var lengthOfLength = prefix - shortBase - 55;
            if (position + lengthOfLength > input.Length)
                throw new RlpException($"RLP length at byte {start} needs {lengthOfLength} length bytes past the end of the input.");
            if (input[position] == 0)
                throw new RlpException($"RLP length at byte {start} has a leading zero byte.");
            ulong value = 0;
            for (var i = 0; i < lengthOfLength; i++)
            {
                if (value > (ulong.MaxValue >> 8)) throw new RlpException($"RLP length at byte {start} overflows.");
                value = (value << 8) | input[position + i];
            }
            position += lengthOfLength;
            if (value < 56) throw new RlpException($"RLP length {value} at byte {start} must use the short form.");
            if (value > (ulong)(input.Length - position))
                throw new RlpException($"RLP item at byte {start} declares {value} bytes but only {input.Length - position} remain.");
            length = (int)value;
        }

        if (length > input.Length - position)
            throw new RlpException($"RLP item at byte {start} declares {length} bytes but only {input.Length - position} remain.");

        var payload = input.Slice(position, length);
        position += length;
        if (!isList)
        {
            if (length == 1 && payload[0] < 0x80)
                throw new RlpException($"RLP byte string at byte {start} wraps a single byte below 0x80 (must be encoded as itself).");
            return RlpItem.String(payload);
        }

        var items = new List<RlpItem>();
        var inner = 0;
        while (inner < payload.Length) items.Add(ReadItem(payload, ref inner, depth + 1));
        return RlpItem.List(items);
    }
}
