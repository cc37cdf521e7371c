using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Molly.Storage.Sqlite;

/// <summary>
/// The single writer connection and its prepared statements. Used only by the writer loop, inside its open transaction:
/// every operation reads the current row, checks the condition against it (the seam's reference semantics), writes the
/// row and appends the change-log entry, all in the caller's savepoint, and notes how the item's index entries move
/// (<see cref="SqliteIndexes"/> applies them later, in bulk).
/// </summary>
internal sealed class SqliteWriter : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Statement _get;
    private readonly Statement _upsert;
    private readonly Statement _delete;
    private readonly Statement _change;
    private readonly Statement _begin;
    private readonly Statement _commit;
    private readonly Statement _rollback;
    private readonly Statement _savepoint;
    private readonly Statement _release;
    private readonly Statement _rollbackTo;
    private readonly Statement _dataVersion;

    /// <summary>Index entry moves of the writes so far not yet applied to the index tables, in write order.</summary>
    public SqliteIndexes Indexes { get; }

    // The items this writer last read or wrote, as stored: a balance shard or a counter updated by every group is then
    // neither read back from SQLite nor decoded again. Exact because this connection is the only one writing while its
    // transaction is open; another connection's commit (data_version) or a rollback clears it, and a rolled-back
    // savepoint puts back what its request changed. Cached items are never mutated (an update clones).
    private const int CacheLimit = 8192;
    private readonly Dictionary<ItemKey, (Item Item, byte[] Attrs)> _cache = [];
    private readonly List<(ItemKey Key, bool Had, (Item Item, byte[] Attrs) Old)> _undo = [];
    private int _undoMark;
    private long _dataVersionSeen = -1;

    /// <summary>True when another connection committed between this writer's previous transaction and the current one.</summary>
    public bool ForeignCommitSeen { get; private set; }

    public SqliteWriter(SqliteConnection connection)
    {
        _connection = connection;
        _get = new(connection, "SELECT attrs FROM items WHERE pk = ?1 AND sk = ?2;");
        _upsert = new(connection,
            "INSERT OR REPLACE INTO items (pk, sk, attrs, gsi1pk, gsi1sk, gsi2pk, gsi2sk, gsi3pk, gsi3sk) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9);");
        _delete = new(connection, "DELETE FROM items WHERE pk = ?1 AND sk = ?2;");
        _change = new(connection,
            "INSERT INTO changes (pk, sk, kind, old_image, new_image, committed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6);");
        _begin = new(connection, "BEGIN IMMEDIATE;");
        _commit = new(connection, "COMMIT;");
        _rollback = new(connection, "ROLLBACK;");
        _savepoint = new(connection, "SAVEPOINT w;");
        _release = new(connection, "RELEASE w;");
        _rollbackTo = new(connection, "ROLLBACK TO w;");
        _dataVersion = new(connection, "PRAGMA data_version;");
        Indexes = new SqliteIndexes(this);
    }

    internal SqliteConnection Connection => _connection;

    /// <summary>Changes only when another connection (another process) commits: then the pending index moves this writer
    /// noted are not all there is, and the index tables catch up from the change log instead.</summary>
    private long DataVersion()
    {
        try
        {
            return _dataVersion.StepRow() ? raw.sqlite3_column_int64(_dataVersion.Handle, 0) : 0;
        }
        finally
        {
            _dataVersion.Reset();
        }
    }

    /// <summary>Unix milliseconds stamped on the change-log entries of the current batch.</summary>
    public long BatchTimestamp { get; set; }

    /// <summary>True while a transaction is open on the connection (false after SQLite rolled it back on its own).</summary>
    public bool InTransaction => raw.sqlite3_get_autocommit(_connection.Handle) == 0;

    /// <summary>Opens the write transaction (taking the file's write lock) and notices another connection's commits.</summary>
    public void Begin()
    {
        _begin.Run();
        var version = DataVersion();
        ForeignCommitSeen = _dataVersionSeen >= 0 && version != _dataVersionSeen;
        if (ForeignCommitSeen) _cache.Clear();
        _dataVersionSeen = version;
    }

    public void Commit()
    {
        _commit.Run();
        _undo.Clear();
    }

    public void Rollback()
    {
        _cache.Clear();
        _undo.Clear();
        if (InTransaction) _rollback.Run();
    }

    public void Savepoint()
    {
        _savepoint.Run();
        _undoMark = _undo.Count;
    }

    public void Release() => _release.Run();

    public void RollbackToSavepoint()
    {
        for (var i = _undo.Count - 1; i >= _undoMark; i--)
        {
            var (key, had, old) = _undo[i];
            if (had) _cache[key] = old;
            else _cache.Remove(key);
        }
        _undo.RemoveRange(_undoMark, _undo.Count - _undoMark);
        _rollbackTo.Run();
        _release.Run();
    }

    /// <summary>Sets (or with a null item forgets) the cached copy of an item, noting how to put it back.</summary>
    private void Remember(ItemKey key, Item? item, byte[]? attrs)
    {
        var had = _cache.TryGetValue(key, out var old);
        if (!had && item is null) return;
        _undo.Add((key, had, old));
        if (item is null) _cache.Remove(key);
        else
        {
            if (!had && _cache.Count >= CacheLimit) Evict();
            _cache[key] = (item, attrs!);
        }
    }

    private void Evict()
    {
        // Rarely full: start over, keeping the entries the open transaction may still put back.
        var keep = _undo.Select(u => u.Key).ToHashSet();
        foreach (var key in _cache.Keys.Where(k => !keep.Contains(k)).ToList()) _cache.Remove(key);
    }

    /// <summary>The current item and its stored attributes as UTF-8 (reused as the change log's old image, not encoded again).</summary>
    private (Item? Item, byte[]? Attrs) Get(ItemKey key)
    {
        if (_cache.TryGetValue(key, out var cached)) return cached;
        _get.Text(1, key.PK);
        _get.Text(2, key.SK);
        var attrs = _get.StepRow() ? raw.sqlite3_column_blob(_get.Handle, 0).ToArray() : null;
        _get.Reset();
        if (attrs is null) return (null, null);
        var item = AttributeCodec.Decode(key, attrs);
        Remember(key, item, attrs);
        return (item, attrs);
    }

    /// <summary>Writes an item encoded on the caller's thread (single write: <paramref name="index"/> null; transaction: its
    /// position), after checking the condition against the current item.</summary>
    public void Put(EncodedItem item, Condition? condition, int? index)
    {
        var (current, currentAttrs) = Get(item.Key);
        if (condition is not null && !condition.IsSatisfiedBy(current))
            throw new ConditionFailedException(item.Key, index);
        Write(current, currentAttrs, item);
        Remember(item.Key, null, null); // no decoded copy of a put: the next read decodes it
    }

    /// <summary>Applies one update, delete or check (single write: <paramref name="index"/> null; transaction: its position).
    /// Returns the new image for an update, the old image for a delete, null for a check.</summary>
    public Item? Apply(TransactOp op, int? index)
    {
        var (current, currentAttrs) = Get(op.Key);
        if (op.Condition is { } condition && !condition.IsSatisfiedBy(current))
            throw new ConditionFailedException(op.Key, index);
        switch (op)
        {
            case UpdateOp update:
                var next = update.Changes.ApplyTo(update.Key, current);
                ItemSize.Ensure(next);
                SqliteItemStore.ValidateIndexKeys(next);
                var encoded = EncodedItem.From(next);
                Write(current, currentAttrs, encoded);
                Remember(next.Key, next, encoded.Attrs); // the caller gets a clone (SqliteItemStore.UpdateAsync)
                return next;
            case DeleteOp:
                if (current is not null) Remove(current, currentAttrs!);
                return current;
            case CheckOp:
                return null;
            default:
                throw new ArgumentException($"Unknown operation {op.GetType().Name}.", nameof(op));
        }
    }

    private void Write(Item? current, byte[]? currentAttrs, EncodedItem next)
    {
        Indexes.Note(next.Key, IndexKeys.Of(current), next.IndexKeys);
        _upsert.Text(1, next.Key.PK);
        _upsert.Text(2, next.Key.SK);
        _upsert.Text(3, next.Attrs);
        for (var i = 0; i < IndexKeys.Count; i++)
        {
            var (pk, sk) = next.IndexKeys[i];
            _upsert.Text(4 + 2 * i, pk);
            _upsert.Text(5 + 2 * i, sk);
        }
        _upsert.Run();
        AppendChange(next.Key, currentAttrs is null ? ChangeKind.Insert : ChangeKind.Modify, currentAttrs, next.Attrs);
    }

    private void Remove(Item current, byte[] currentAttrs)
    {
        var key = current.Key;
        Indexes.Note(key, IndexKeys.Of(current), IndexKeys.None);
        Remember(key, null, null);
        _delete.Text(1, key.PK);
        _delete.Text(2, key.SK);
        _delete.Run();
        AppendChange(key, ChangeKind.Remove, currentAttrs, null);
    }

    private void AppendChange(ItemKey key, ChangeKind kind, byte[]? oldImage, byte[]? newImage)
    {
        _change.Text(1, key.PK);
        _change.Text(2, key.SK);
        _change.Int(3, (long)kind);
        _change.Text(4, oldImage);
        _change.Text(5, newImage);
        _change.Int(6, BatchTimestamp);
        _change.Run();
    }

    public void Dispose()
    {
        Indexes.Dispose();
        foreach (var statement in new[] { _get, _upsert, _delete, _change, _begin, _commit, _rollback, _savepoint, _release, _rollbackTo, _dataVersion })
            statement.Dispose();
        _connection.Dispose();
    }

    /// <summary>
    /// A statement prepared once on the writer connection and run through SQLite's own API: the writer runs a few statements
    /// per item, and going through ADO.NET commands (a data reader per execution, parameter objects, UTF-16 to UTF-8 copies
    /// of every attribute text) cost as much as SQLite's work. Errors surface as <see cref="SqliteException"/>, as before.
    /// </summary>
    internal sealed class Statement : IDisposable
    {
        private readonly sqlite3 _db;

        public Statement(SqliteConnection connection, string sql)
        {
            _db = connection.Handle!;
            Check(raw.sqlite3_prepare_v2(_db, sql, out var handle));
            Handle = handle;
        }

        public sqlite3_stmt Handle { get; }

        public void Text(int index, string? value) =>
            Check(value is null ? raw.sqlite3_bind_null(Handle, index) : raw.sqlite3_bind_text(Handle, index, value));

        public void Text(int index, byte[]? utf8) =>
            Check(utf8 is null ? raw.sqlite3_bind_null(Handle, index) : raw.sqlite3_bind_text(Handle, index, utf8.AsSpan()));

        public void Int(int index, long value) => Check(raw.sqlite3_bind_int64(Handle, index, value));

        /// <summary>Steps once: true with a row to read (then call <see cref="Reset"/>), false when done.</summary>
        public bool StepRow()
        {
            var rc = raw.sqlite3_step(Handle);
            if (rc == raw.SQLITE_ROW) return true;
            if (rc == raw.SQLITE_DONE) return false;
            Reset();
            SqliteException.ThrowExceptionForRC(rc, _db);
            return false;
        }

        /// <summary>Runs a statement that returns no rows and resets it for the next use.</summary>
        public void Run()
        {
            try
            {
                while (StepRow())
                {
                }
            }
            finally
            {
                Reset();
            }
        }

        public void Reset()
        {
            raw.sqlite3_reset(Handle);
            raw.sqlite3_clear_bindings(Handle);
        }

        private void Check(int rc)
        {
            if (rc != raw.SQLITE_OK) SqliteException.ThrowExceptionForRC(rc, _db);
        }

        public void Dispose() => Handle.Dispose();
    }
}

/// <summary>An item as the writer stores it, made on the caller's thread: its stored attributes (also its snapshot: the
/// caller may change its <see cref="Item"/> afterwards) and its index keys. Encoding is then no work of the single writer.</summary>
internal sealed class EncodedItem
{
    private EncodedItem(ItemKey key, byte[] attrs, IndexKeys indexKeys)
    {
        Key = key;
        Attrs = attrs;
        IndexKeys = indexKeys;
    }

    public ItemKey Key { get; }

    public byte[] Attrs { get; }

    public IndexKeys IndexKeys { get; }

    public static EncodedItem From(Item item) => new(item.Key, AttributeCodec.EncodeUtf8(item), IndexKeys.Of(item));
}

/// <summary>An item's key in each index (GSI1..GSI3), nulls where it has not both attributes (a sparse index).</summary>
internal readonly struct IndexKeys
{
    public const int Count = 3;

    private readonly (string? Pk, string? Sk) _gsi1, _gsi2, _gsi3;

    private IndexKeys((string?, string?) gsi1, (string?, string?) gsi2, (string?, string?) gsi3) => (_gsi1, _gsi2, _gsi3) = (gsi1, gsi2, gsi3);

    public static IndexKeys None => default;

    public (string? Pk, string? Sk) this[int index] => index switch { 0 => _gsi1, 1 => _gsi2, 2 => _gsi3, _ => throw new ArgumentOutOfRangeException(nameof(index)) };

    public static IndexKeys Of(Item? item) => item is null
        ? None
        : new(SqliteItemStore.IndexKey(item, KeyNames.Indexes[0]), SqliteItemStore.IndexKey(item, KeyNames.Indexes[1]), SqliteItemStore.IndexKey(item, KeyNames.Indexes[2]));
}
