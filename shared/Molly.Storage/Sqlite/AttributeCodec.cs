using System.Buffers;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;

namespace Molly.Storage.Sqlite;

/// <summary>
/// The stored form of an item's attributes: a JSON object with DynamoDB-style type tags,
/// <c>{"amount":{"N":"123"},"name":{"S":"x"},"raw":{"B":"base64"},"ok":{"BOOL":true}}</c>.
/// Numbers travel as decimal strings, so no value ever passes through a double. PK and SK are kept in their own columns.
/// </summary>
internal static class AttributeCodec
{
    // Only what JSON requires is escaped (a quote is \", not \u0022): the text lives in SQLite, never in HTML. Any escaping decodes.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static byte[] EncodeUtf8(Item item)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            foreach (var (name, value) in item)
            {
                w.WriteStartObject(name);
                switch (value.Kind)
                {
                    case AttributeKind.String: w.WriteString("S", value.AsString()); break;
                    case AttributeKind.Number: w.WriteString("N", value.AsNumber().ToString(CultureInfo.InvariantCulture)); break;
                    case AttributeKind.Binary: w.WriteBase64String("B", value.AsBinary().Span); break;
                    case AttributeKind.Bool: w.WriteBoolean("BOOL", value.AsBool()); break;
                    default: throw new InvalidOperationException($"Attribute '{name}' has no storable kind.");
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    public static Item Decode(ItemKey key, string json) => Decode(key, Encoding.UTF8.GetBytes(json));

    public static Item Decode(ItemKey key, ReadOnlySpan<byte> utf8)
    {
        var item = new Item(key);
        var r = new Utf8JsonReader(utf8);
        Expect(ref r, JsonTokenType.StartObject);
        while (true)
        {
            Read(ref r);
            if (r.TokenType == JsonTokenType.EndObject) break;
            var name = r.GetString()!;
            Expect(ref r, JsonTokenType.StartObject);
            Expect(ref r, JsonTokenType.PropertyName);
            var tag = r.GetString();
            Read(ref r);
            item[name] = tag switch
            {
                "S" => AttributeValue.String(r.GetString()!),
                "N" => AttributeValue.Number(BigInteger.Parse(r.GetString()!, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)),
                "B" => AttributeValue.Binary(r.GetBytesFromBase64()),
                "BOOL" => AttributeValue.Bool(r.GetBoolean()),
                _ => throw Corrupt($"unknown type tag '{tag}' on attribute '{name}'"),
            };
            Expect(ref r, JsonTokenType.EndObject);
        }
        return item;
    }

    private static void Read(ref Utf8JsonReader r)
    {
        if (!r.Read()) throw Corrupt("truncated attributes");
    }

    private static void Expect(ref Utf8JsonReader r, JsonTokenType type)
    {
        Read(ref r);
        if (r.TokenType != type) throw Corrupt($"expected {type}, found {r.TokenType}");
    }

    private static InvalidDataException Corrupt(string what) => new($"Stored item attributes are corrupt: {what}.");
}
