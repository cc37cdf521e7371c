using System.Globalization;
using System.Numerics;

namespace Molly.Storage;

/// <summary>The kinds of value an item attribute can hold; the same four DynamoDB scalars we use, plus null.</summary>
public enum AttributeKind : byte { Null = 0, String = 1, Number = 2, Binary = 3, Bool = 4 }

/// <summary>
/// One attribute value. Numbers are integers (<see cref="BigInteger"/>): money is base units and counters are whole,
/// so the store never sees a double. DynamoDB holds at most 38 significant digits; both stores reject more.
/// </summary>
public readonly struct AttributeValue : IEquatable<AttributeValue>
{
    public static readonly BigInteger MaxNumber = BigInteger.Pow(10, 38) - 1;

    private readonly object? _value;

    private AttributeValue(AttributeKind kind, object? value)
    {
        Kind = kind;
        _value = value;
    }

    public AttributeKind Kind { get; }

    public static AttributeValue Null => default;

    public static AttributeValue String(string value) => new(AttributeKind.String, value ?? throw new ArgumentNullException(nameof(value)));

    public static AttributeValue Number(BigInteger value)
    {
        if (BigInteger.Abs(value) > MaxNumber)
            throw new ArgumentOutOfRangeException(nameof(value), "A stored number has at most 38 digits.");
        return new(AttributeKind.Number, value);
    }

    public static AttributeValue Binary(ReadOnlySpan<byte> value) => new(AttributeKind.Binary, value.ToArray());

    public static AttributeValue Bool(bool value) => new(AttributeKind.Bool, value);

    public string AsString() => Kind == AttributeKind.String ? (string)_value! : throw WrongKind(AttributeKind.String);

    public BigInteger AsNumber() => Kind == AttributeKind.Number ? (BigInteger)_value! : throw WrongKind(AttributeKind.Number);

    public long AsInt64() => checked((long)AsNumber());

    public ReadOnlyMemory<byte> AsBinary() => Kind == AttributeKind.Binary ? (byte[])_value! : throw WrongKind(AttributeKind.Binary);

    public bool AsBool() => Kind == AttributeKind.Bool ? (bool)_value! : throw WrongKind(AttributeKind.Bool);

    public bool IsNull => Kind == AttributeKind.Null;

    public static implicit operator AttributeValue(string value) => String(value);
    public static implicit operator AttributeValue(long value) => Number(value);
    public static implicit operator AttributeValue(BigInteger value) => Number(value);
    public static implicit operator AttributeValue(bool value) => Bool(value);
    public static implicit operator AttributeValue(byte[] value) => Binary(value);

    /// <summary>Approximate stored size in bytes, counted the way DynamoDB counts it (UTF-8 length, about 1 byte per 2 digits).</summary>
    internal int SizeInBytes => Kind switch
    {
        AttributeKind.String => System.Text.Encoding.UTF8.GetByteCount((string)_value!),
        AttributeKind.Number => 1 + (((BigInteger)_value!).ToString(CultureInfo.InvariantCulture).Length + 1) / 2,
        AttributeKind.Binary => ((byte[])_value!).Length,
        _ => 1,
    };

    /// <summary>An upper bound of <see cref="SizeInBytes"/> that formats nothing (3 bytes per UTF-16 unit, digits from the bit length).</summary>
    internal long SizeUpperBound => Kind switch
    {
        AttributeKind.String => 3L * ((string)_value!).Length,
        AttributeKind.Number => 2 + ((((BigInteger)_value!).GetBitLength() + 1) * 30103 / 100000 + 4) / 2,
        AttributeKind.Binary => ((byte[])_value!).Length,
        _ => 1,
    };

    public bool Equals(AttributeValue other)
    {
        if (Kind != other.Kind) return false;
        return Kind switch
        {
            AttributeKind.Null => true,
            AttributeKind.Binary => ((byte[])_value!).AsSpan().SequenceEqual((byte[])other._value!),
            _ => _value!.Equals(other._value),
        };
    }

    public override bool Equals(object? obj) => obj is AttributeValue other && Equals(other);

    public override int GetHashCode() => Kind switch
    {
        AttributeKind.Null => 0,
        AttributeKind.Binary => HashCode.Combine(Kind, ((byte[])_value!).Length),
        _ => HashCode.Combine(Kind, _value),
    };

    public static bool operator ==(AttributeValue left, AttributeValue right) => left.Equals(right);
    public static bool operator !=(AttributeValue left, AttributeValue right) => !left.Equals(right);

    public override string ToString() => Kind switch
    {
        AttributeKind.Null => "null",
        AttributeKind.String => (string)_value!,
        AttributeKind.Number => ((BigInteger)_value!).ToString(CultureInfo.InvariantCulture),
        AttributeKind.Binary => Convert.ToBase64String((byte[])_value!),
        AttributeKind.Bool => (bool)_value! ? "true" : "false",
        _ => "?",
    };

    private InvalidOperationException WrongKind(AttributeKind wanted) =>
        new($"Attribute holds {Kind}, not {wanted}.");
}
