using SQLitePCL;

namespace Molly.Storage.Sqlite;

/// <summary>
/// Maintains the index tables (gsi1..gsi3) of the SQLite store in bulk, after the writes, as DynamoDB maintains a GSI.
/// <para>Why: an index entry sits at its partition's tail (an account's history, a merchant's payments), so with entries
/// written in each write's own transaction, a commit of 30 ledger transfers dirtied some 60 scattered index pages, each
/// written whole into the WAL and again at checkpoint: two thirds of the bytes the store wrote. Applied in bulk, every tail
/// page is written once for thousands of entries.</para>
/// <para>How it stays exact: the writer notes each item's index moves (old key out, new key in) in write order; a failed
/// request's notes are dropped with its savepoint. They are applied (<see cref="Flush"/>) at the start of a later write
/// transaction, with <c>store_meta.index_seq</c> set to the last change they cover, all in that one transaction. A query
/// of an index first makes the index catch up with every committed change (so a write acknowledged before the query is
/// always found), and joins each entry to its item, keeping only items whose index key still matches. After a crash the
/// notes are lost, but the change log holds the same facts: the store replays the changes after <c>index_seq</c> when it
/// opens. If another connection (another process) wrote meanwhile, the notes are incomplete and the flush replays the
/// change log instead.</para>
/// </summary>
internal sealed class SqliteIndexes : IDisposable
{
    private readonly SqliteWriter _writer;
    private readonly List<IndexMove> _pending = [];
    private readonly SqliteWriter.Statement[] _delete;
    private readonly SqliteWriter.Statement[] _insert;
    private readonly SqliteWriter.Statement _setSeq;
    private readonly SqliteWriter.Statement _getSeq;
    private readonly SqliteWriter.Statement _changesAfter;
    private bool _incomplete;
    private bool _replayedInTransaction;

    public SqliteIndexes(SqliteWriter writer)
    {
        _writer = writer;
        var connection = writer.Connection;
        _delete = new SqliteWriter.Statement[IndexKeys.Count];
        _insert = new SqliteWriter.Statement[IndexKeys.Count];
        for (var i = 0; i < IndexKeys.Count; i++)
        {
            var table = SqliteSchema.IndexTable(i);
            _delete[i] = new(connection, $"DELETE FROM {table} WHERE ipk = ?1 AND isk = ?2 AND pk = ?3 AND sk = ?4;");
            _insert[i] = new(connection, $"INSERT OR REPLACE INTO {table} (ipk, isk, pk, sk) VALUES (?1, ?2, ?3, ?4);");
        }
        _setSeq = new(connection, "INSERT OR REPLACE INTO store_meta (name, value) VALUES ('index_seq', (SELECT coalesce(max(seq), 0) FROM changes));");
        _getSeq = new(connection, "SELECT value FROM store_meta WHERE name = 'index_seq';");
        _changesAfter = new(connection, "SELECT pk, sk, old_image, new_image FROM changes WHERE seq > ?1 ORDER BY seq;");
    }

    /// <summary>Index moves noted and not yet applied (committed or in the open transaction).</summary>
    public int Pending => _pending.Count;

    /// <summary>When the oldest pending move was noted (<see cref="TimeProvider.GetTimestamp"/>), or 0 with none.</summary>
    public long OldestPendingAt { get; private set; }

    /// <summary>Notes how an item's index entries move when it changes from <paramref name="before"/> to <paramref name="after"/>.</summary>
    public void Note(ItemKey key, IndexKeys before, IndexKeys after) => AddMoves(_pending, key, before, after);

    private static void AddMoves(List<IndexMove> moves, ItemKey key, IndexKeys before, IndexKeys after)
    {
        for (var i = 0; i < IndexKeys.Count; i++)
        {
            var (oldPk, oldSk) = before[i];
            var (newPk, newSk) = after[i];
            if (string.Equals(oldPk, newPk, StringComparison.Ordinal) && string.Equals(oldSk, newSk, StringComparison.Ordinal)) continue;
            moves.Add(new IndexMove(i, oldPk, oldSk, newPk, newSk, key.PK, key.SK));
        }
    }

    /// <summary>Drops the moves noted after <paramref name="mark"/> (a rolled-back savepoint or transaction).</summary>
    public void Truncate(int mark)
    {
        if (mark < _pending.Count) _pending.RemoveRange(mark, _pending.Count - mark);
    }

    /// <summary>After a transaction rolled back as a whole: what it noted is dropped, and since a failure may leave the notes
    /// unsure, the next flush replays the change log (always exact, only slower).</summary>
    public void OnRolledBack(int mark)
    {
        Truncate(mark);
        _replayedInTransaction = false;
        _incomplete = true;
    }

    /// <summary>Called at the start of each write transaction (the write lock held): notices another connection's commits.</summary>
    public void OnBegin()
    {
        if (_writer.ForeignCommitSeen) _incomplete = true;
    }

    /// <summary>After a commit: the flushed moves are gone; the moves of that transaction are pending from now on, so the
    /// clock of the oldest starts.</summary>
    public void OnCommitted(int flushed, long now)
    {
        if (flushed > 0)
        {
            _pending.RemoveRange(0, flushed);
            OldestPendingAt = 0;
        }
        if (_replayedInTransaction) _incomplete = false;
        _replayedInTransaction = false;
        if (_pending.Count == 0) OldestPendingAt = 0;
        else if (OldestPendingAt == 0) OldestPendingAt = now;
    }

    /// <summary>
    /// Applies every committed change to the index tables inside the open transaction (before the batch's own requests)
    /// and records <c>index_seq</c>. Returns how many pending moves it applied; they are dropped only once the transaction
    /// commits (<see cref="OnCommitted"/>): if it rolls back they are still pending.
    /// </summary>
    public int Flush()
    {
        if (_incomplete)
        {
            // Every pending move is of a committed change (the flush runs before the batch's own requests), so the change
            // log covers them all.
            ReplayChangeLog();
            _replayedInTransaction = true;
            return _pending.Count;
        }
        foreach (var move in _pending) Apply(move);
        _setSeq.Run();
        return _pending.Count;
    }

    /// <summary>At open, in a transaction: replays the changes after <c>index_seq</c> (those a crash left unapplied).</summary>
    public void Recover()
    {
        ReplayChangeLog();
        _incomplete = false;
    }

    private void ReplayChangeLog()
    {
        long seq;
        try
        {
            seq = _getSeq.StepRow() ? raw.sqlite3_column_int64(_getSeq.Handle, 0) : 0;
        }
        finally
        {
            _getSeq.Reset();
        }
        var moves = new List<IndexMove>();
        _changesAfter.Int(1, seq);
        try
        {
            while (_changesAfter.StepRow())
            {
                var key = new ItemKey(raw.sqlite3_column_text(_changesAfter.Handle, 0).utf8_to_string(),
                    raw.sqlite3_column_text(_changesAfter.Handle, 1).utf8_to_string());
                AddMoves(moves, key, IndexKeys.Of(Image(key, 2)), IndexKeys.Of(Image(key, 3)));
            }
        }
        finally
        {
            _changesAfter.Reset();
        }
        foreach (var move in moves) Apply(move);
        _setSeq.Run();
    }

    private Item? Image(ItemKey key, int column) =>
        raw.sqlite3_column_type(_changesAfter.Handle, column) == raw.SQLITE_NULL
            ? null
            : AttributeCodec.Decode(key, raw.sqlite3_column_blob(_changesAfter.Handle, column));

    private void Apply(IndexMove move)
    {
        if (move.OldPk is not null) Run(_delete[move.Index], move.OldPk, move.OldSk!, move);
        if (move.NewPk is not null) Run(_insert[move.Index], move.NewPk, move.NewSk!, move);
    }

    private static void Run(SqliteWriter.Statement statement, string indexPk, string indexSk, IndexMove move)
    {
        statement.Text(1, indexPk);
        statement.Text(2, indexSk);
        statement.Text(3, move.Pk);
        statement.Text(4, move.Sk);
        statement.Run();
    }

    public void Dispose()
    {
        foreach (var statement in _delete.Concat(_insert).Append(_setSeq).Append(_getSeq).Append(_changesAfter)) statement.Dispose();
    }

    private readonly record struct IndexMove(int Index, string? OldPk, string? OldSk, string? NewPk, string? NewSk, string Pk, string Sk);
}
