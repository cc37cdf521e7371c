using Microsoft.Data.Sqlite;

namespace Molly.Storage.Sqlite;

/// <summary>
/// The single writer connection and its prepared statements. Used only by the writer loop, inside its open transaction:
/// every operation reads the current row, checks the condition against it (the seam's reference semantics), writes the
/// row and appends the change-log entry, all in the caller's savepoint.
/// </summary>
internal sealed class SqliteWriter : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _get;
    private readonly SqliteCommand _upsert;
    private readonly SqliteCommand _delete;
    private readonly SqliteCommand _change;
    private readonly SqliteCommand _begin;
    private readonly SqliteCommand _commit;
    private readonly SqliteCommand _rollback;
    private readonly SqliteCommand _savepoint;
    private readonly SqliteCommand _release;
    private readonly SqliteCommand _rollbackTo;

    public SqliteWriter(SqliteConnection connection)
    {
        _connection = connection;
        _get = Command("SELECT attrs FROM items WHERE pk = $pk AND sk = $sk;", "$pk", "$sk");
        _upsert = Command(
            "INSERT OR REPLACE INTO items (pk, sk, attrs, gsi1pk, gsi1sk, gsi2pk, gsi2sk, gsi3pk, gsi3sk) " +
            "VALUES ($pk, $sk, $attrs, $g1p, $g1s, $g2p, $g2s, $g3p, $g3s);",
            "$pk", "$sk", "$attrs", "$g1p", "$g1s", "$g2p", "$g2s", "$g3p", "$g3s");
        _delete = Command("DELETE FROM items WHERE pk = $pk AND sk = $sk;", "$pk", "$sk");
        _change = Command(
            "INSERT INTO changes (pk, sk, kind, old_image, new_image, committed_at) VALUES ($pk, $sk, $kind, $old, $new, $at);",
            "$pk", "$sk", "$kind", "$old", "$new", "$at");
        _begin = Command("BEGIN IMMEDIATE;");
        _commit = Command("COMMIT;");
        _rollback = Command("ROLLBACK;");
        _savepoint = Command("SAVEPOINT w;");
        _release = Command("RELEASE w;");
        _rollbackTo = Command("ROLLBACK TO w;");
    }

    /// <summary>Unix milliseconds stamped on the change-log entries of the current batch.</summary>
    public long BatchTimestamp { get; set; }

    /// <summary>True while a transaction is open on the connection (false after SQLite rolled it back on its own).</summary>
    public bool InTransaction => SQLitePCL.raw.sqlite3_get_autocommit(_connection.Handle) == 0;

    public void Begin() => _begin.ExecuteNonQuery();

    public void Commit() => _commit.ExecuteNonQuery();

    public void Rollback()
    {
        if (InTransaction) _rollback.ExecuteNonQuery();
    }

    public void Savepoint() => _savepoint.ExecuteNonQuery();

    public void Release() => _release.ExecuteNonQuery();

    public void RollbackToSavepoint()
    {
        _rollbackTo.ExecuteNonQuery();
        _release.ExecuteNonQuery();
    }

    /// <summary>The current item and its stored attributes (reused as the change log's old image, not encoded again).</summary>
    private (Item? Item, string? Attrs) Get(ItemKey key)
    {
        _get.Parameters[0].Value = key.PK;
        _get.Parameters[1].Value = key.SK;
        var attrs = _get.ExecuteScalar() as string;
        return (attrs is null ? null : AttributeCodec.Decode(key, attrs), attrs);
    }

    /// <summary>Applies one operation (single write: <paramref name="index"/> null; transaction: its position).
    /// Returns the new image for put/update, the old image for delete, null for a check.</summary>
    public Item? Apply(TransactOp op, int? index)
    {
        var (current, currentAttrs) = Get(op.Key);
        if (op.Condition is { } condition && !condition.IsSatisfiedBy(current))
            throw new ConditionFailedException(op.Key, index);
        switch (op)
        {
            case PutOp put:
                Write(currentAttrs, put.Item);
                return put.Item;
            case UpdateOp update:
                var next = update.Changes.ApplyTo(update.Key, current);
                ItemSize.Ensure(next);
                SqliteItemStore.ValidateIndexKeys(next);
                Write(currentAttrs, next);
                return next;
            case DeleteOp:
                if (current is not null) Remove(current.Key, currentAttrs!);
                return current;
            case CheckOp:
                return null;
            default:
                throw new ArgumentException($"Unknown operation {op.GetType().Name}.", nameof(op));
        }
    }

    private void Write(string? currentAttrs, Item next)
    {
        var p = _upsert.Parameters;
        p[0].Value = next.PK;
        p[1].Value = next.SK;
        var attrs = AttributeCodec.Encode(next);
        p[2].Value = attrs;
        for (var i = 0; i < KeyNames.Indexes.Count; i++)
        {
            var (pk, sk) = SqliteItemStore.IndexKey(next, KeyNames.Indexes[i]);
            p[3 + 2 * i].Value = (object?)pk ?? DBNull.Value;
            p[4 + 2 * i].Value = (object?)sk ?? DBNull.Value;
        }
        _upsert.ExecuteNonQuery();
        AppendChange(next.Key, currentAttrs is null ? ChangeKind.Insert : ChangeKind.Modify, currentAttrs, attrs);
    }

    private void Remove(ItemKey key, string currentAttrs)
    {
        _delete.Parameters[0].Value = key.PK;
        _delete.Parameters[1].Value = key.SK;
        _delete.ExecuteNonQuery();
        AppendChange(key, ChangeKind.Remove, currentAttrs, null);
    }

    private void AppendChange(ItemKey key, ChangeKind kind, string? oldImage, string? newImage)
    {
        var p = _change.Parameters;
        p[0].Value = key.PK;
        p[1].Value = key.SK;
        p[2].Value = (long)kind;
        p[3].Value = (object?)oldImage ?? DBNull.Value;
        p[4].Value = (object?)newImage ?? DBNull.Value;
        p[5].Value = BatchTimestamp;
        _change.ExecuteNonQuery();
    }

    private SqliteCommand Command(string sql, params string[] parameters)
    {
        var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        foreach (var name in parameters) cmd.Parameters.Add(new SqliteParameter(name, DBNull.Value));
        return cmd;
    }

    public void Dispose()
    {
        foreach (var cmd in new[] { _get, _upsert, _delete, _change, _begin, _commit, _rollback, _savepoint, _release, _rollbackTo })
            cmd.Dispose();
        _connection.Dispose();
    }
}
