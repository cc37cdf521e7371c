using System.Globalization;
using System.Numerics;
using Molly.Storage;
using Sdk = Amazon.DynamoDBv2.Model;

namespace Molly.Storage.DynamoDb;

/// <summary>Item &lt;-&gt; the SDK's attribute map. Numbers travel as N strings (BigInteger, invariant culture).</summary>
public static class AttributeMapper
{
    public static Dictionary<string, Sdk.AttributeValue> ToSdk(Item item)
    {
        var map = new Dictionary<string, Sdk.AttributeValue>(item.Count + 2, StringComparer.Ordinal)
        {
            [KeyNames.PK] = new() { S = item.PK },
            [KeyNames.SK] = new() { S = item.SK },
        };
        foreach (var (name, value) in item) map[name] = ToSdk(value);
        return map;
    }

    public static Dictionary<string, Sdk.AttributeValue> KeyToSdk(ItemKey key) => new(StringComparer.Ordinal)
    {
        [KeyNames.PK] = new() { S = key.PK },
        [KeyNames.SK] = new() { S = key.SK },
    };

    public static Sdk.AttributeValue ToSdk(AttributeValue value) => value.Kind switch
    {
        AttributeKind.String => new() { S = value.AsString() },
        AttributeKind.Number => new() { N = FormatNumber(value.AsNumber()) },
        AttributeKind.Binary => new() { B = new MemoryStream(value.AsBinary().ToArray(), writable: false) },
        AttributeKind.Bool => new() { BOOL = value.AsBool() },
        _ => new() { NULL = true },
    };

    /// <summary>Null when the map is null or empty (DynamoDB returns no attributes for a missing item).</summary>
    public static Item? FromSdk(Dictionary<string, Sdk.AttributeValue>? map)
    {
        if (map is null || map.Count == 0) return null;
        if (!map.TryGetValue(KeyNames.PK, out var pk) || pk.S is null || !map.TryGetValue(KeyNames.SK, out var sk) || sk.S is null)
            throw new InvalidDataException("A stored item has no string PK/SK.");
        var item = new Item(pk.S, sk.S);
        foreach (var (name, value) in map)
        {
            if (name is KeyNames.PK or KeyNames.SK) continue;
            item[name] = FromSdk(name, value);
        }
        return item;
    }

    public static AttributeValue FromSdk(string name, Sdk.AttributeValue value)
    {
        if (value.S is not null) return AttributeValue.String(value.S);
        if (value.N is not null) return AttributeValue.Number(ParseNumber(value.N));
        if (value.B is not null) return AttributeValue.Binary(value.B.ToArray());
        if (value.BOOL is { } b) return AttributeValue.Bool(b);
        if (value.NULL == true) return AttributeValue.Null;
        throw new InvalidDataException($"Attribute '{name}' has a type the item store does not use (sets, lists and maps are not mapped).");
    }

    public static string FormatNumber(BigInteger value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses an N string; DynamoDB may return an integer in exponent form (1E+37), which is accepted when whole.</summary>
    public static BigInteger ParseNumber(string text)
    {
        if (BigInteger.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)) return n;
        if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && decimal.Truncate(d) == d)
            return new BigInteger(d);
        var e = text.IndexOfAny(['e', 'E']);
        if (e > 0 && BigInteger.TryParse(text.AsSpan(0, e), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var mantissa)
            && int.TryParse(text.AsSpan(e + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var exp) && exp is >= 0 and <= 38)
            return mantissa * BigInteger.Pow(10, exp);
        throw new InvalidDataException($"Stored number '{text}' is not an integer.");
    }
}
