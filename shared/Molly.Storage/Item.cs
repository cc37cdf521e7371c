using System.Collections;
using System.Numerics;

namespace Molly.Storage;

/// <summary>The primary key of an item: partition key and sort key, both strings.</summary>
public readonly record struct ItemKey(string PK, string SK)
{
    public override string ToString() => $"{PK}|{SK}";
}

/// <summary>
/// An item of the single table: its key and its attributes. The names <c>PK</c>, <c>SK</c> and the index key
/// attributes (<c>GSI1PK</c>/<c>GSI1SK</c> ...) are ordinary string attributes that the stores index.
/// Items are at most 400 KB (DynamoDB's limit), enforced by both stores.
/// </summary>
public sealed class Item : IEnumerable<KeyValuePair<string, AttributeValue>>
{
    public const int MaxSizeBytes = 400 * 1024;

    private readonly Dictionary<string, AttributeValue> _attributes;

    public Item(string pk, string sk)
    {
        ArgumentException.ThrowIfNullOrEmpty(pk);
        ArgumentException.ThrowIfNullOrEmpty(sk);
        _attributes = new(StringComparer.Ordinal);
        Key = new ItemKey(pk, sk);
    }

    public Item(ItemKey key) : this(key.PK, key.SK) { }

    public ItemKey Key { get; }

    public string PK => Key.PK;

    public string SK => Key.SK;

    public int Count => _attributes.Count;

    public IEnumerable<string> Names => _attributes.Keys;

    /// <summary>Reads or sets an attribute; setting <see cref="AttributeValue.Null"/> removes it. PK and SK are read-only.</summary>
    public AttributeValue this[string name]
    {
        get => name switch
        {
            KeyNames.PK => Key.PK,
            KeyNames.SK => Key.SK,
            _ => _attributes.TryGetValue(name, out var v) ? v : AttributeValue.Null,
        };
        set
        {
            if (name is KeyNames.PK or KeyNames.SK)
                throw new InvalidOperationException("The key of an item cannot be changed.");
            KeyNames.Validate(name);
            if (value.IsNull) _attributes.Remove(name);
            else _attributes[name] = value;
        }
    }

    public void Add(string name, AttributeValue value) => this[name] = value;

    public bool Has(string name) => name is KeyNames.PK or KeyNames.SK || _attributes.ContainsKey(name);

    public bool TryGet(string name, out AttributeValue value)
    {
        value = this[name];
        return !value.IsNull;
    }

    public string? GetString(string name) => TryGet(name, out var v) ? v.AsString() : null;

    public BigInteger? GetNumber(string name) => TryGet(name, out var v) ? v.AsNumber() : null;

    public long? GetInt64(string name) => TryGet(name, out var v) ? v.AsInt64() : null;

    public bool? GetBool(string name) => TryGet(name, out var v) ? v.AsBool() : null;

    public ReadOnlyMemory<byte>? GetBinary(string name) => TryGet(name, out var v) ? v.AsBinary() : null;

    public string RequireString(string name) => GetString(name) ?? throw MissingAttribute(name);

    public BigInteger RequireNumber(string name) => GetNumber(name) ?? throw MissingAttribute(name);

    public Item Clone()
    {
        var copy = new Item(Key);
        foreach (var (k, v) in _attributes) copy._attributes[k] = v;
        return copy;
    }

    /// <summary>Size as DynamoDB counts it: names plus values, key included.</summary>
    public int SizeInBytes
    {
        get
        {
            var size = KeyNames.PK.Length + System.Text.Encoding.UTF8.GetByteCount(Key.PK)
                     + KeyNames.SK.Length + System.Text.Encoding.UTF8.GetByteCount(Key.SK);
            foreach (var (k, v) in _attributes) size += System.Text.Encoding.UTF8.GetByteCount(k) + v.SizeInBytes;
            return size;
        }
    }

    /// <summary>An upper bound of <see cref="SizeInBytes"/> computed without encoding or formatting anything.</summary>
    internal long SizeUpperBound
    {
        get
        {
            long size = KeyNames.PK.Length + 3L * Key.PK.Length + KeyNames.SK.Length + 3L * Key.SK.Length;
            foreach (var (k, v) in _attributes) size += 3L * k.Length + v.SizeUpperBound;
            return size;
        }
    }

    /// <summary>Attributes other than PK and SK.</summary>
    public IEnumerator<KeyValuePair<string, AttributeValue>> GetEnumerator() => _attributes.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public bool ContentEquals(Item? other)
    {
        if (other is null || other.Key != Key || other._attributes.Count != _attributes.Count) return false;
        foreach (var (k, v) in _attributes)
            if (!other._attributes.TryGetValue(k, out var o) || o != v) return false;
        return true;
    }

    public override string ToString() => $"Item({Key}, {_attributes.Count} attributes)";

    private InvalidOperationException MissingAttribute(string name) => new($"Item {Key} has no attribute '{name}'.");
}

/// <summary>Reserved attribute names of the single table.</summary>
public static class KeyNames
{
    public const string PK = "PK";
    public const string SK = "SK";

    /// <summary>The secondary indexes every store provides; each is keyed by string attributes IndexName+"PK" / +"SK".</summary>
    public static readonly IReadOnlyList<string> Indexes = ["GSI1", "GSI2", "GSI3"];

    public static string IndexPK(string index) => index + "PK";

    public static string IndexSK(string index) => index + "SK";

    /// <summary>Attribute names are 1..255 characters of letters, digits, '_' and '-' (a subset that needs no escaping anywhere).</summary>
    public static void Validate(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Length > 255) throw new ArgumentException("An attribute name is at most 255 characters.", nameof(name));
        foreach (var c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_' || c == '-'))
                throw new ArgumentException($"Attribute name '{name}' may contain only letters, digits, '_' and '-'.", nameof(name));
    }
}
