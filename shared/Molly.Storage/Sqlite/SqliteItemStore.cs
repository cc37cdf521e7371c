using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using System.Text;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace Molly.Storage.Sqlite;

/// <summary>
/// The embedded item store: one SQLite file in WAL mode with <c>synchronous=FULL</c>.
/// <para>Writes are queued to one writer loop that owns the only writer connection. The loop takes up to
/// <see cref="SqliteItemStoreOptions.MaxBatchSize"/> queued requests, runs them in one <c>BEGIN IMMEDIATE</c> transaction,
/// each in its own savepoint (a failed condition or error rolls back only that request), commits once (one fsync for
/// the batch) and only then completes the callers' tasks (group commit).</para>
/// <para>The change log is a table written in the same transaction as the item, so a rolled-back write leaves no change.
/// Index entries are applied in bulk after the writes (<see cref="SqliteIndexes"/>); an index query first catches the index
/// up with every committed write. Reads use separate connections, which WAL lets run beside the writer, and a background
/// connection copies the WAL into the database file (passive checkpoints) so the writer seldom has to.</para>
/// </summary>
public sealed class SqliteItemStore : IItemStore, IChangeFeed, IAsyncDisposable, IDisposable
{
    private static readonly Lazy<bool> Initialized = new(() =>
    {
        SQLitePCL.Batteries_V2.Init();
        // Every connection of this store is used by one thread at a time (the writer thread, the checkpoint thread, a
        // reader taken from the pool), so SQLite's per-connection mutexes and its allocation counters (a global mutex per
        // malloc) are pure cost: several percent of the writer. Both can only be set before SQLite initializes; if
        // something in the process opened a database first, the calls fail harmlessly and the defaults stay.
        _ = SQLitePCL.raw.sqlite3_config(SQLitePCL.raw.SQLITE_CONFIG_MULTITHREAD);
        _ = SQLitePCL.raw.sqlite3_config(SQLitePCL.raw.SQLITE_CONFIG_MEMSTATUS, 0);
        return true;
    });

    private readonly SqliteItemStoreOptions _options;
    private readonly TimeProvider _time;
    private readonly string _readerConnectionString;
    private readonly Channel<WriteRequest> _queue = Channel.CreateUnbounded<WriteRequest>(
        new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });
    private readonly SqliteWriter _writer;
    private readonly Thread _writerThread;
    private readonly TaskCompletionSource _writerStopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentBag<ReaderConnection> _idleReaders = [];
    private readonly ManualResetEventSlim _writerGate = new(true);
    private readonly Thread? _checkpointThread;
    private readonly ManualResetEventSlim _stopCheckpoints = new(false);
    private long _commits;
    private long _indexFlushes;
    private long _checkpoints;
    private long _writeRequests;
    private int _queued;
    private int _disposed;

    private SqliteItemStore(SqliteItemStoreOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
        var fullPath = System.IO.Path.GetFullPath(options.Path);
        var folder = System.IO.Path.GetDirectoryName(fullPath);
        if (!string.IsNullOrEmpty(folder)) Directory.CreateDirectory(folder);

        var builder = new SqliteConnectionStringBuilder
        {
            DataSource = fullPath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
        };
        var connection = new SqliteConnection(builder.ToString());
        try
        {
            connection.Open();
            SqliteSchema.InitializeWriter(connection, options.BusyTimeout, options.CheckpointInterval > TimeSpan.Zero);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
        _writer = new SqliteWriter(connection);
        try
        {
            RecoverIndexes();
        }
        catch
        {
            _writer.Dispose();
            throw;
        }
        builder.Mode = SqliteOpenMode.ReadWrite;
        _readerConnectionString = builder.ToString();

        _writerThread = new Thread(WriterLoop) { IsBackground = true, Name = "molly-sqlite-writer" };
        _writerThread.Start();
        if (options.CheckpointInterval > TimeSpan.Zero)
        {
            _checkpointThread = new Thread(CheckpointLoop) { IsBackground = true, Name = "molly-sqlite-checkpoint" };
            _checkpointThread.Start();
        }
    }

    /// <summary>Index moves a crash left unapplied are replayed from the change log before the store takes writes.</summary>
    private void RecoverIndexes()
    {
        _writer.Begin();
        try
        {
            _writer.Indexes.Recover();
            _writer.Commit();
        }
        catch
        {
            _writer.Rollback();
            throw;
        }
    }

    /// <summary>Opens (creating when missing) the store in the file <see cref="SqliteItemStoreOptions.Path"/>.</summary>
    public static SqliteItemStore Open(SqliteItemStoreOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _ = Initialized.Value;
        return new SqliteItemStore(options, time ?? TimeProvider.System);
    }

    public IChangeFeed ChangeFeed => this;

    /// <summary>Transactions committed by the writer loop so far (each is one fsync).</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>Write requests that reached the writer loop so far; divided by <see cref="Commits"/> it is the mean batch.</summary>
    public long WriteRequests => Interlocked.Read(ref _writeRequests);

    /// <summary>Times pending index moves were applied in bulk.</summary>
    public long IndexFlushes => Interlocked.Read(ref _indexFlushes);

    /// <summary>Passive checkpoints run by the background connection.</summary>
    public long BackgroundCheckpoints => Interlocked.Read(ref _checkpoints);

    // ---------------------------------------------------------------- writes

    public async Task PutAsync(Item item, Condition? condition = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(item);
        ItemSize.Ensure(item);
        ValidateIndexKeys(item);
        var encoded = EncodedItem.From(item);
        await Enqueue(w =>
        {
            w.Put(encoded, condition, null);
            return true;
        }, ct).ConfigureAwait(false);
    }

    public async Task<Item> UpdateAsync(ItemKey key, Update update, Condition? condition = null, CancellationToken ct = default)
    {
        ValidateKey(key);
        ArgumentNullException.ThrowIfNull(update);
        var result = await Enqueue(w => w.Apply(TransactOp.Update(key, update, condition), null), ct).ConfigureAwait(false);
        return result!.Clone(); // the writer keeps the instance it returned as its cached copy
    }

    public Task<Item?> DeleteAsync(ItemKey key, Condition? condition = null, CancellationToken ct = default)
    {
        ValidateKey(key);
        return Enqueue(w => w.Apply(TransactOp.Delete(key, condition), null), ct);
    }

    public async Task<BigInteger> IncrementAsync(ItemKey key, string attribute, BigInteger delta, CancellationToken ct = default)
    {
        var item = await UpdateAsync(key, new Update().Add(attribute, delta), null, ct).ConfigureAwait(false);
        return item.RequireNumber(attribute);
    }

    public async Task TransactWriteAsync(IReadOnlyList<TransactOp> operations, CancellationToken ct = default)
    {
        TransactionLimits.Validate(operations);
        var ops = new TransactOp[operations.Count];
        var puts = new EncodedItem?[operations.Count];
        for (var i = 0; i < ops.Length; i++)
        {
            var op = operations[i] ?? throw new ArgumentException($"Operation {i} is null.", nameof(operations));
            ValidateKey(op.Key);
            if (op is PutOp put)
            {
                ValidateIndexKeys(put.Item);
                puts[i] = EncodedItem.From(put.Item);
            }
            ops[i] = op;
        }
        await Enqueue(w =>
        {
            for (var i = 0; i < ops.Length; i++)
            {
                if (puts[i] is { } encoded) w.Put(encoded, ops[i].Condition, i);
                else w.Apply(ops[i], i);
            }
            return true;
        }, ct).ConfigureAwait(false);
    }

    private Task<T> Enqueue<T>(Func<SqliteWriter, T> work, CancellationToken ct, bool flushIndexes = false)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        ct.ThrowIfCancellationRequested();
        var request = new WriteRequest<T>(work, ct) { FlushIndexes = flushIndexes };
        Interlocked.Increment(ref _queued);
        if (!_queue.Writer.TryWrite(request))
        {
            Interlocked.Decrement(ref _queued);
            throw new ObjectDisposedException(nameof(SqliteItemStore));
        }
        return request.Task;
    }

    private void WriterLoop()
    {
        var reader = _queue.Reader;
        var batch = new List<WriteRequest>(_options.MaxBatchSize);
        try
        {
            while (true)
            {
                var ready = reader.WaitToReadAsync();
                var more = ready.IsCompletedSuccessfully ? ready.Result : ready.AsTask().GetAwaiter().GetResult();
                if (!more) break;
                _writerGate.Wait();
                while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var request))
                {
                    Interlocked.Decrement(ref _queued);
                    if (request.CancellationToken.IsCancellationRequested) request.Cancel();
                    else batch.Add(request);
                }
                if (batch.Count == 0) continue;
                try
                {
                    RunBatch(batch);
                }
                catch (Exception e)
                {
                    // Never leave a caller waiting: whatever escaped, the batch is reported as not written.
                    try { _writer.Rollback(); } catch (SqliteException) { /* already rolled back */ }
                    _writer.Indexes.OnRolledBack(_writer.Indexes.Pending); // notes unsure: the next flush replays the change log
                    var unavailable = new StoreUnavailableException("The SQLite store failed while writing; nothing of the write was written.", e);
                    foreach (var request in batch) { request.Error = unavailable; request.Complete(); }
                }
                batch.Clear();
            }
        }
        finally
        {
            _writerStopped.TrySetResult();
        }
    }

    private void RunBatch(List<WriteRequest> batch)
    {
        Interlocked.Add(ref _writeRequests, batch.Count);
        _writer.BatchTimestamp = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var indexes = _writer.Indexes;
        var batchMark = indexes.Pending;
        var flushed = 0;
        Exception? batchFailure = null;
        try
        {
            _writer.Begin();
            indexes.OnBegin();
            if (ShouldFlushIndexes(batch))
            {
                flushed = indexes.Flush();
                batchMark = indexes.Pending;
            }
        }
        catch (Exception e)
        {
            batchFailure = e;
        }

        if (batchFailure is null)
        {
            foreach (var request in batch)
            {
                var mark = indexes.Pending;
                try
                {
                    _writer.Savepoint();
                    request.Execute(_writer);
                    _writer.Release();
                }
                catch (Exception e)
                {
                    request.Error = e;
                    indexes.Truncate(mark);
                    if (!_writer.InTransaction) { batchFailure = e; break; }
                    try
                    {
                        _writer.RollbackToSavepoint();
                    }
                    catch (Exception rollbackError)
                    {
                        batchFailure = rollbackError;
                        break;
                    }
                }
            }
        }

        if (batchFailure is null)
        {
            try
            {
                _writer.Commit();
                Interlocked.Increment(ref _commits);
                if (flushed > 0 || batch.Exists(r => r.FlushIndexes)) Interlocked.Increment(ref _indexFlushes);
                indexes.OnCommitted(flushed, _time.GetTimestamp());
            }
            catch (Exception e)
            {
                batchFailure = e;
            }
        }

        if (batchFailure is not null)
        {
            try { _writer.Rollback(); } catch (SqliteException) { /* the transaction is already gone */ }
            indexes.OnRolledBack(batchMark);
            var unavailable = new StoreUnavailableException("The SQLite store could not commit the write; nothing of it was written.", batchFailure);
            foreach (var request in batch)
            {
                // A request that failed on its own (condition, bad update) keeps its own error: nothing of it was written either way.
                if (request.Error is null or SqliteException) request.Error = unavailable;
            }
        }
        foreach (var request in batch) request.Complete();
    }

    /// <summary>Pending index moves are applied when an index query waits for them, when many are pending, or when the
    /// oldest has waited long enough.</summary>
    private bool ShouldFlushIndexes(List<WriteRequest> batch)
    {
        var indexes = _writer.Indexes;
        if (batch.Exists(r => r.FlushIndexes)) return true;
        if (indexes.Pending == 0) return false;
        return indexes.Pending >= _options.IndexFlushEntries || _time.GetElapsedTime(indexes.OldestPendingAt) >= _options.IndexFlushInterval;
    }

    /// <summary>Makes the index tables reflect every committed write before an index query reads them.</summary>
    private async Task CatchUpIndexesAsync(CancellationToken ct)
    {
        if (!Read(r => r.IndexBehind())) return;
        await Enqueue(_ => true, ct, flushIndexes: true).ConfigureAwait(false);
    }

    /// <summary>Copies committed WAL frames into the database file beside the writer (a passive checkpoint never blocks it).
    /// The writer's own automatic checkpoint then finds almost everything copied and the WAL restarts from its beginning.</summary>
    private void CheckpointLoop()
    {
        SqliteConnection? connection = null;
        try
        {
            connection = new SqliteConnection(_readerConnectionString);
            connection.Open();
            SqliteSchema.Exec(connection, $"PRAGMA busy_timeout={(long)_options.BusyTimeout.TotalMilliseconds};");
            // A connection opens the WAL at its first read; until then a checkpoint on it does nothing (and says -1 frames).
            SqliteSchema.Exec(connection, "SELECT count(*) FROM sqlite_master;");
            var seen = Commits;
            while (!_stopCheckpoints.Wait(_options.CheckpointInterval))
            {
                var commits = Commits;
                if (commits == seen) continue;
                seen = commits;
                // BUSY (another checkpoint running) or any error only means this round copied less; the writer's automatic
                // checkpoint still bounds the WAL.
                // A pass copies the frames committed when it started; commits landing meanwhile are copied by a short next
                // pass, so the copy soon catches up with the log and the writer restarts the WAL from its beginning.
                for (var pass = 0; pass < 4; pass++)
                {
                    var rc = SQLitePCL.raw.sqlite3_wal_checkpoint_v2(connection.Handle, null, SQLitePCL.raw.SQLITE_CHECKPOINT_PASSIVE, out var logFrames, out var copied);
                    if (rc != SQLitePCL.raw.SQLITE_OK) break;
                    if (copied > 0) Interlocked.Increment(ref _checkpoints);
                    if (copied >= logFrames) break;
                }
            }
        }
        catch (SqliteException)
        {
            // The database could not be opened for checkpoints: the writer checkpoints on its own, as SQLite does by default.
        }
        finally
        {
            connection?.Dispose();
        }
    }

    // ---------------------------------------------------------------- reads

    public Task<Item?> GetAsync(ItemKey key, CancellationToken ct = default)
    {
        ValidateKey(key);
        ct.ThrowIfCancellationRequested();
        return Task.FromResult(Read(r =>
        {
            r.Get.Parameters[0].Value = key.PK;
            r.Get.Parameters[1].Value = key.SK;
            return r.Get.ExecuteScalar() is string attrs ? AttributeCodec.Decode(key, attrs) : null;
        }));
    }

    public async Task<Page<Item>> QueryAsync(Query query, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentException.ThrowIfNullOrEmpty(query.PartitionKey, nameof(query));
        if (query.Limit is < 1 or > 10_000)
            throw new ArgumentOutOfRangeException(nameof(query), query.Limit, "Query.Limit must be 1..10000.");
        ct.ThrowIfCancellationRequested();
        var plan = SqliteQueryPlan.Build(query);
        if (query.Index is not null) await CatchUpIndexesAsync(ct).ConfigureAwait(false);
        return Read(r =>
        {
            using var cmd = r.Connection.CreateCommand();
            plan.Bind(cmd);
            var items = new List<Item>(Math.Min(query.Limit, 256));
            var more = false;
            using (var rows = cmd.ExecuteReader())
            {
                while (rows.Read())
                {
                    if (items.Count == query.Limit) { more = true; break; }
                    items.Add(AttributeCodec.Decode(new ItemKey(rows.GetString(0), rows.GetString(1)), rows.GetString(2)));
                }
            }
            return new Page<Item>(items, more ? plan.CursorAfter(items[^1]) : null);
        });
    }

    public Task<ChangeBatch> ReadAsync(string? checkpoint, int maxChanges = 1000, CancellationToken ct = default)
    {
        if (maxChanges is < 1 or > 10_000)
            throw new ArgumentOutOfRangeException(nameof(maxChanges), maxChanges, "maxChanges must be 1..10000.");
        var after = ParseCheckpoint(checkpoint);
        ct.ThrowIfCancellationRequested();
        return Task.FromResult(Read(r =>
        {
            r.Feed.Parameters[0].Value = after;
            r.Feed.Parameters[1].Value = maxChanges;
            var changes = ReadChanges(r.Feed, out var last);
            if (changes.Count == 0) last = after;
            return new ChangeBatch(changes, FormatSequence(last));
        }));
    }

    /// <summary>The filtered read, pushed into SQL: rows of other items are skipped before their images are decoded. The scan
    /// is bounded by the last sequence committed when it starts, so the checkpoint can move past non-matching rows.</summary>
    public Task<ChangeBatch> ReadAsync(string? checkpoint, int maxChanges, IReadOnlyList<string> keyPrefixes, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(keyPrefixes);
        if (maxChanges is < 1 or > 10_000)
            throw new ArgumentOutOfRangeException(nameof(maxChanges), maxChanges, "maxChanges must be 1..10000.");
        if (keyPrefixes.Count == 0 || keyPrefixes.Any(string.IsNullOrEmpty))
            throw new ArgumentException("At least one non-empty key prefix is needed.", nameof(keyPrefixes));
        var after = ParseCheckpoint(checkpoint);
        ct.ThrowIfCancellationRequested();
        return Task.FromResult(Read(r =>
        {
            // Sequences become visible in order (one writer commits at a time), so every row up to 'upper' is there.
            var upper = r.LastSequence();
            if (upper <= after) return new ChangeBatch([], FormatSequence(after));
            using var cmd = r.Connection.CreateCommand();
            var ranges = new List<string>();
            for (var i = 0; i < keyPrefixes.Count; i++)
            {
                cmd.Parameters.AddWithValue($"$a{i}", keyPrefixes[i]);
                if (SqliteQueryPlan.PrefixUpperBound(keyPrefixes[i]) is { } end)
                {
                    cmd.Parameters.AddWithValue($"$b{i}", end);
                    ranges.Add($"(pk >= $a{i} AND pk < $b{i})");
                }
                else ranges.Add($"pk >= $a{i}");
            }
            cmd.Parameters.AddWithValue("$after", after);
            cmd.Parameters.AddWithValue("$upper", upper);
            cmd.Parameters.AddWithValue("$max", maxChanges);
            cmd.CommandText = "SELECT seq, pk, sk, kind, old_image, new_image, committed_at FROM changes " +
                $"WHERE seq > $after AND seq <= $upper AND ({string.Join(" OR ", ranges)}) ORDER BY seq LIMIT $max;";
            var changes = ReadChanges(cmd, out var last);
            return new ChangeBatch(changes, FormatSequence(changes.Count == maxChanges ? last : upper));
        }));
    }

    private static List<Change> ReadChanges(SqliteCommand cmd, out long last)
    {
        var changes = new List<Change>();
        last = 0;
        using var rows = cmd.ExecuteReader();
        while (rows.Read())
        {
            last = rows.GetInt64(0);
            var key = new ItemKey(rows.GetString(1), rows.GetString(2));
            var kind = (ChangeKind)rows.GetInt64(3);
            var oldImage = rows.IsDBNull(4) ? null : AttributeCodec.Decode(key, rows.GetString(4));
            var newImage = rows.IsDBNull(5) ? null : AttributeCodec.Decode(key, rows.GetString(5));
            var at = DateTimeOffset.FromUnixTimeMilliseconds(rows.GetInt64(6));
            changes.Add(new Change(FormatSequence(last), kind, key, oldImage, newImage, at));
        }
        return changes;
    }

    private static string FormatSequence(long seq) => seq.ToString("D20", CultureInfo.InvariantCulture);

    private static long ParseCheckpoint(string? checkpoint)
    {
        if (checkpoint is null) return 0;
        if (!long.TryParse(checkpoint, NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
            throw new ArgumentException("The change feed checkpoint is not one this store issued.", nameof(checkpoint));
        return seq;
    }

    private T Read<T>(Func<ReaderConnection, T> work)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!_idleReaders.TryTake(out var reader)) reader = new ReaderConnection(_readerConnectionString, _options.BusyTimeout);
        var healthy = false;
        try
        {
            var result = work(reader);
            healthy = true;
            return result;
        }
        finally
        {
            if (healthy && Volatile.Read(ref _disposed) == 0 && _idleReaders.Count < _options.MaxIdleReaders) _idleReaders.Add(reader);
            else reader.Dispose();
        }
    }

    // ---------------------------------------------------------------- validation shared with the writer

    internal static void ValidateKey(ItemKey key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key.PK, nameof(key));
        ArgumentException.ThrowIfNullOrEmpty(key.SK, nameof(key));
    }

    /// <summary>Index key attributes must be strings (the indexes are keyed by strings, as on DynamoDB).</summary>
    internal static void ValidateIndexKeys(Item item)
    {
        foreach (var index in KeyNames.Indexes)
        {
            foreach (var name in new[] { KeyNames.IndexPK(index), KeyNames.IndexSK(index) })
            {
                if (item.TryGet(name, out var v) && v.Kind != AttributeKind.String)
                    throw new ArgumentException($"Index key attribute '{name}' of item {item.Key} must be a string, not {v.Kind}.", nameof(item));
                if (v.Kind == AttributeKind.String && v.AsString().Length == 0)
                    throw new ArgumentException($"Index key attribute '{name}' of item {item.Key} is empty.", nameof(item));
            }
        }
    }

    /// <summary>The item's key in the index, or nulls when it has not both attributes (a sparse index, as on DynamoDB).</summary>
    internal static (string? PK, string? SK) IndexKey(Item item, string index)
    {
        var pk = item.GetString(KeyNames.IndexPK(index));
        var sk = item.GetString(KeyNames.IndexSK(index));
        return pk is null || sk is null ? (null, null) : (pk, sk);
    }

    // ---------------------------------------------------------------- test hooks

    /// <summary>Holds the writer loop before it takes its next batch, so tests can queue requests that must share one batch.</summary>
    internal IDisposable HoldWriter()
    {
        _writerGate.Reset();
        return new Release(_writerGate);
    }

    internal int QueuedWrites => Volatile.Read(ref _queued);

    private sealed class Release(ManualResetEventSlim gate) : IDisposable
    {
        public void Dispose() => gate.Set();
    }

    // ---------------------------------------------------------------- lifetime

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _queue.Writer.TryComplete();
        _writerGate.Set();
        await _writerStopped.Task.ConfigureAwait(false);
        Close();
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _queue.Writer.TryComplete();
        _writerGate.Set();
        _writerThread.Join();
        Close();
    }

    private void Close()
    {
        _stopCheckpoints.Set();
        _checkpointThread?.Join();
        _stopCheckpoints.Dispose();
        FlushIndexesOnClose();
        _writer.Dispose();
        while (_idleReaders.TryTake(out var reader)) reader.Dispose();
        _writerGate.Dispose();
    }

    /// <summary>Leaves the index tables current, so the next open (or another process) has nothing to replay. Best effort:
    /// whatever is left is replayed from the change log at the next open.</summary>
    private void FlushIndexesOnClose()
    {
        if (_writer.Indexes.Pending == 0) return;
        try
        {
            _writer.Begin();
            _writer.Indexes.OnBegin();
            var flushed = _writer.Indexes.Flush();
            _writer.Commit();
            _writer.Indexes.OnCommitted(flushed, 0);
        }
        catch (SqliteException)
        {
            try { _writer.Rollback(); } catch (SqliteException) { /* already gone */ }
        }
    }

    // ---------------------------------------------------------------- nested types

    private abstract class WriteRequest(CancellationToken ct)
    {
        public CancellationToken CancellationToken { get; } = ct;

        /// <summary>An index query waits on this request: the batch that takes it applies every pending index move first.</summary>
        public bool FlushIndexes { get; init; }

        public Exception? Error { get; set; }

        public abstract void Execute(SqliteWriter writer);

        public abstract void Complete();

        public abstract void Cancel();
    }

    private sealed class WriteRequest<T>(Func<SqliteWriter, T> work, CancellationToken ct) : WriteRequest(ct)
    {
        private readonly TaskCompletionSource<T> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private T _result = default!;

        public Task<T> Task => _tcs.Task;

        public override void Execute(SqliteWriter writer) => _result = work(writer);

        public override void Complete()
        {
            if (Error is null) _tcs.TrySetResult(_result);
            else _tcs.TrySetException(Error);
        }

        public override void Cancel() => _tcs.TrySetCanceled(CancellationToken);
    }

    private sealed class ReaderConnection : IDisposable
    {
        public ReaderConnection(string connectionString, TimeSpan busyTimeout)
        {
            Connection = new SqliteConnection(connectionString);
            try
            {
                Connection.Open();
                SqliteSchema.InitializeReader(Connection, busyTimeout);
            }
            catch
            {
                Connection.Dispose();
                throw;
            }
            Get = Connection.CreateCommand();
            Get.CommandText = "SELECT attrs FROM items WHERE pk = $pk AND sk = $sk;";
            Get.Parameters.Add(new SqliteParameter("$pk", DBNull.Value));
            Get.Parameters.Add(new SqliteParameter("$sk", DBNull.Value));
            Feed = Connection.CreateCommand();
            Feed.CommandText = "SELECT seq, pk, sk, kind, old_image, new_image, committed_at FROM changes WHERE seq > $after ORDER BY seq LIMIT $max;";
            Feed.Parameters.Add(new SqliteParameter("$after", DBNull.Value));
            Feed.Parameters.Add(new SqliteParameter("$max", DBNull.Value));
            Behind = Connection.CreateCommand();
            Behind.CommandText = "SELECT (SELECT coalesce(max(seq), 0) FROM changes) > coalesce((SELECT value FROM store_meta WHERE name = 'index_seq'), 0);";
        }

        public SqliteCommand Behind { get; }

        /// <summary>The last change-log sequence committed (0 with none).</summary>
        public long LastSequence()
        {
            using var cmd = Connection.CreateCommand();
            cmd.CommandText = "SELECT coalesce(max(seq), 0) FROM changes;";
            return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        /// <summary>True when a committed change is not yet reflected in the index tables.</summary>
        public bool IndexBehind() => Convert.ToInt64(Behind.ExecuteScalar(), CultureInfo.InvariantCulture) != 0;

        public SqliteConnection Connection { get; }

        public SqliteCommand Get { get; }

        public SqliteCommand Feed { get; }

        public void Dispose()
        {
            Get.Dispose();
            Feed.Dispose();
            Behind.Dispose();
            Connection.Dispose();
        }
    }
}
