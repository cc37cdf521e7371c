using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Molly.Storage.Sqlite;

/// <summary>
/// Turns a <see cref="Query"/> into one range scan. Table queries seek (pk, sk) in items; index queries seek (ipk, isk) in
/// the index's table, which orders ties by the table key, and look each entry's item up by its key, keeping it only while
/// the item's index key still matches the entry (an entry may lag a later write: see <see cref="SqliteIndexes"/>). Paging by
/// the last row's key is exact: keyset pagination never loses or repeats a row that existed before the walk, whatever is
/// inserted meanwhile.
/// The cursor is base64url of a JSON array naming the index, the partition and the last row's sort position.
/// </summary>
internal sealed class SqliteQueryPlan
{
    private readonly Query _query;
    private readonly string? _indexColumns;
    private readonly string _sql;
    private readonly List<(string Name, string Value)> _parameters;

    private SqliteQueryPlan(Query query, string? indexColumns, string sql, List<(string, string)> parameters)
    {
        _query = query;
        _indexColumns = indexColumns;
        _sql = sql;
        _parameters = parameters;
    }

    public static SqliteQueryPlan Build(Query query)
    {
        var prefix = query.Index is null ? null : SqliteSchema.IndexColumnPrefix(query.Index);
        var pkCol = prefix is null ? "i.pk" : "g.ipk";
        var skCol = prefix is null ? "i.sk" : "g.isk";
        var parameters = new List<(string, string)> { ("$p", query.PartitionKey) };
        var where = new StringBuilder($"{pkCol} = $p");

        switch (query.SortKey)
        {
            case null:
                break;
            case SortKeyBeginsWith b when b.Prefix.Length == 0:
                break;
            case SortKeyBeginsWith b:
                where.Append($" AND {skCol} >= $a");
                parameters.Add(("$a", b.Prefix));
                if (PrefixUpperBound(b.Prefix) is { } upper)
                {
                    where.Append($" AND {skCol} < $b");
                    parameters.Add(("$b", upper));
                }
                break;
            case SortKeyBetween b:
                where.Append($" AND {skCol} >= $a AND {skCol} <= $b");
                parameters.Add(("$a", b.From));
                parameters.Add(("$b", b.To));
                break;
            case SortKeyEquals e:
                where.Append($" AND {skCol} = $a");
                parameters.Add(("$a", e.Value));
                break;
            case SortKeyGreaterThan g:
                where.Append($" AND {skCol} > $a");
                parameters.Add(("$a", g.Value));
                break;
            case SortKeyLessThan l:
                where.Append($" AND {skCol} < $a");
                parameters.Add(("$a", l.Value));
                break;
            default:
                throw new ArgumentException($"Unsupported sort key condition {query.SortKey.GetType().Name}.", nameof(query));
        }

        var op = query.Descending ? "<" : ">";
        var dir = query.Descending ? "DESC" : "ASC";
        if (query.Cursor is not null)
        {
            var position = DecodeCursor(query);
            if (prefix is null)
            {
                where.Append($" AND i.sk {op} $c0");
                parameters.Add(("$c0", position[0]));
            }
            else
            {
                where.Append($" AND (g.isk, g.pk, g.sk) {op} ($c0, $c1, $c2)");
                parameters.Add(("$c0", position[0]));
                parameters.Add(("$c1", position[1]));
                parameters.Add(("$c2", position[2]));
            }
        }

        // One row past the limit tells whether another page exists, so the last page carries no cursor.
        var sql = prefix is null
            ? $"SELECT i.pk, i.sk, i.attrs FROM items AS i WHERE {where} ORDER BY i.sk {dir} LIMIT {query.Limit + 1};"
            // CROSS JOIN keeps the index table as the outer loop, so rows come in its order (no sort).
            : $"SELECT i.pk, i.sk, i.attrs FROM {prefix} AS g CROSS JOIN items AS i ON i.pk = g.pk AND i.sk = g.sk " +
              $"WHERE {where} AND i.{prefix}pk = g.ipk AND i.{prefix}sk = g.isk " +
              $"ORDER BY g.isk {dir}, g.pk {dir}, g.sk {dir} LIMIT {query.Limit + 1};";
        return new SqliteQueryPlan(query, prefix, sql, parameters);
    }

    public void Bind(SqliteCommand cmd)
    {
        cmd.CommandText = _sql;
        foreach (var (name, value) in _parameters) cmd.Parameters.AddWithValue(name, value);
    }

    public string CursorAfter(Item last)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            w.WriteStringValue(_query.Index ?? "");
            w.WriteStringValue(_query.PartitionKey);
            if (_indexColumns is not null) w.WriteStringValue(last.RequireString(KeyNames.IndexSK(_query.Index!)));
            w.WriteStringValue(last.PK);
            w.WriteStringValue(last.SK);
            w.WriteEndArray();
        }
        return Base64Url.EncodeToString(buffer.WrittenSpan);
    }

    /// <summary>The sort position in the cursor: [sk] for the table, [gsiSK, pk, sk] for an index.</summary>
    private static string[] DecodeCursor(Query query)
    {
        var values = new List<string>();
        try
        {
            var bytes = Base64Url.DecodeFromChars(query.Cursor);
            var r = new Utf8JsonReader(bytes);
            if (!r.Read() || r.TokenType != JsonTokenType.StartArray) throw BadCursor();
            while (r.Read() && r.TokenType == JsonTokenType.String) values.Add(r.GetString()!);
            if (r.TokenType != JsonTokenType.EndArray) throw BadCursor();
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw BadCursor(e);
        }
        var expected = query.Index is null ? 4 : 5;
        if (values.Count != expected || values[0] != (query.Index ?? "") || values[1] != query.PartitionKey)
            throw BadCursor();
        return query.Index is null ? [values[3]] : [values[2], values[3], values[4]];
    }

    private static ArgumentException BadCursor(Exception? inner = null) =>
        new("The query cursor does not belong to this query (index and partition must match the query that returned it).", nameof(Query.Cursor), inner);

    /// <summary>
    /// The smallest string greater than every string that starts with <paramref name="prefix"/>, in code point (= UTF-8 byte)
    /// order: the prefix with its last code point incremented (trailing U+10FFFF dropped), or null when none exists.
    /// </summary>
    internal static string? PrefixUpperBound(string prefix)
    {
        var runes = prefix.EnumerateRunes().ToArray();
        for (var i = runes.Length - 1; i >= 0; i--)
        {
            var value = runes[i].Value;
            if (value == 0x10FFFF) continue;
            var next = value + 1 == 0xD800 ? 0xE000 : value + 1;
            var sb = new StringBuilder();
            for (var j = 0; j < i; j++) sb.Append(runes[j].ToString());
            sb.Append(new Rune(next).ToString());
            return sb.ToString();
        }
        return null;
    }
}
