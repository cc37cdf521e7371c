using Microsoft.Data.Sqlite;
using Molly.Storage.Sqlite;
using Xunit;

namespace Molly.Storage.Tests;

/// <summary>What only the SQLite store has: group commit, the file, its schema and query plans, its lifetime.</summary>
public sealed class SqliteItemStoreTests : IDisposable
{
    private readonly TempFolder _folder = new();

    private string DbPath => _folder.File("store.db");

    private SqliteItemStore Open(TimeProvider? time = null, int batch = 256) =>
        SqliteItemStore.Open(new SqliteItemStoreOptions { Path = DbPath, MaxBatchSize = batch }, time);

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Queued_writes_share_one_commit_and_a_failed_one_rolls_back_alone()
    {
        await using var store = Open();
        await store.PutAsync(new Item("gc", "taken"));
        var commitsBefore = store.Commits;

        Task[] writes;
        using (store.HoldWriter())
        {
            writes =
            [
                store.PutAsync(new Item("gc", "1"), Condition.ItemAbsent),
                store.PutAsync(new Item("gc", "taken") { ["x"] = "lost" }, Condition.ItemAbsent),   // fails
                store.UpdateAsync(new ItemKey("gc", "2"), new Update().Add("n", 5)),
                store.PutAsync(new Item("gc", "3"), Condition.ItemAbsent),
                store.TransactWriteAsync([TransactOp.Put(new Item("gc", "4")), TransactOp.Check(new ItemKey("gc", "none"), Condition.ItemExists)]), // fails
                store.UpdateAsync(new ItemKey("gc", "taken"), new Update().Set("s", "x")),
                store.UpdateAsync(new ItemKey("gc", "taken"), new Update().Add("s", 1)),                  // fails: s is a string now
                store.UpdateAsync(new ItemKey("gc", "2"), new Update().Add("n", 1)),                     // sees the earlier request
            ];
            Assert.Equal(writes.Length, store.QueuedWrites);
            Assert.All(writes, w => Assert.False(w.IsCompleted));
        }
        await Assert.ThrowsAnyAsync<Exception>(() => Task.WhenAll(writes));

        Assert.Equal(commitsBefore + 1, store.Commits);
        Assert.True(writes[0].IsCompletedSuccessfully);
        Assert.IsType<ConditionFailedException>(writes[1].Exception!.InnerException);
        Assert.True(writes[2].IsCompletedSuccessfully);
        Assert.True(writes[3].IsCompletedSuccessfully);
        Assert.Equal(1, Assert.IsType<ConditionFailedException>(writes[4].Exception!.InnerException).OperationIndex);
        Assert.True(writes[5].IsCompletedSuccessfully);
        Assert.IsType<ArgumentException>(writes[6].Exception!.InnerException);
        Assert.Equal(6, (await (Task<Item>)writes[7]).GetInt64("n"));

        Assert.Null(await store.GetAsync(new ItemKey("gc", "4")));
        Assert.Equal("x", (await store.GetAsync(new ItemKey("gc", "taken")))!.GetString("s"));
        var feed = await store.ReadAsync(null);
        Assert.Equal(["taken", "1", "2", "3", "taken", "2"], feed.Changes.Select(c => c.Key.SK));
    }

    [Fact]
    public async Task A_batch_never_exceeds_the_configured_size()
    {
        await using var store = Open(batch: 3);
        Task[] writes;
        using (store.HoldWriter())
        {
            writes = Enumerable.Range(0, 7).Select(i => store.PutAsync(new Item("b", i.ToString(System.Globalization.CultureInfo.InvariantCulture)))).ToArray();
        }
        await Task.WhenAll(writes);
        Assert.Equal(3, store.Commits); // 3 + 3 + 1
        Assert.Equal(7, store.WriteRequests);
    }

    [Fact]
    public async Task Writes_survive_reopening_and_the_feed_continues_after_them()
    {
        string checkpoint;
        await using (var store = Open())
        {
            await store.PutAsync(new Item("durable", "1") { ["v"] = 1L });
            await store.TransactWriteAsync([TransactOp.Put(new Item("durable", "2")), TransactOp.Put(new Item("durable", "3"))]);
            checkpoint = (await store.ReadAsync(null)).Checkpoint;
        }

        await using (var reopened = Open())
        {
            Assert.Equal(1, (await reopened.GetAsync(new ItemKey("durable", "1")))!.GetInt64("v"));
            Assert.Equal(3, (await reopened.QueryAsync(new Query("durable"))).Items.Count);
            await reopened.DeleteAsync(new ItemKey("durable", "1"));
            var next = await reopened.ReadAsync(checkpoint);
            var change = Assert.Single(next.Changes);
            Assert.Equal(ChangeKind.Remove, change.Kind);
            Assert.True(string.CompareOrdinal(change.Sequence, checkpoint) > 0);
            Assert.Equal(3, (await reopened.ReadAsync(null)).Changes.Count(c => c.Kind == ChangeKind.Insert));
        }
    }

    [Fact]
    public async Task The_file_is_in_WAL_mode_with_the_current_schema_version()
    {
        await using var store = Open();
        await store.PutAsync(new Item("a", "b"));
        using var c = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        c.Open();
        Assert.Equal("wal", Scalar(c, "PRAGMA journal_mode;"));
        Assert.Equal("2", Scalar(c, "PRAGMA user_version;"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("GSI1")]
    [InlineData("GSI2")]
    [InlineData("GSI3")]
    public async Task Queries_seek_an_index_and_never_scan(string? index)
    {
        await using var store = Open();
        await store.PutAsync(new Item("a", "b"));
        using var c = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        c.Open();
        var queries = new[]
        {
            new Query("p") { Index = index },
            new Query("p") { Index = index, SortKey = SortKeyCondition.BeginsWith("x"), Descending = true },
            new Query("p") { Index = index, SortKey = SortKeyCondition.Between("a", "b"), Limit = 5 },
        };
        foreach (var query in queries)
        {
            var page = await store.QueryAsync(query);
            Assert.Empty(page.Items);
            using var cmd = c.CreateCommand();
            SqliteQueryPlan.Build(query).Bind(cmd);
            cmd.CommandText = "EXPLAIN QUERY PLAN " + cmd.CommandText;
            var plan = new List<string>();
            using (var r = cmd.ExecuteReader()) while (r.Read()) plan.Add(r.GetString(3));
            var text = string.Join(" | ", plan);
            // Index queries walk the index table g and look each item up by its key; table queries seek items alone.
            if (index is not null) Assert.Matches("^SEARCH (TABLE gsi[123] AS )?g USING PRIMARY KEY", text);
            Assert.Matches("SEARCH (TABLE items AS )?i USING PRIMARY KEY", text);
            Assert.DoesNotContain("SCAN", text);
            Assert.DoesNotContain("TEMP B-TREE", text);
        }
    }

    [Fact]
    public async Task Index_cursors_page_with_a_seek_too()
    {
        await using var store = Open();
        for (var i = 0; i < 3; i++) await store.PutAsync(new Item("o" + i, "m") { ["GSI1PK"] = "g", ["GSI1SK"] = "same" });
        var first = await store.QueryAsync(new Query("g") { Index = "GSI1", Limit = 1 });
        using var c = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        SqliteQueryPlan.Build(new Query("g") { Index = "GSI1", Limit = 1, Cursor = first.Cursor }).Bind(cmd);
        cmd.CommandText = "EXPLAIN QUERY PLAN " + cmd.CommandText;
        var text = Convert.ToString(cmd.ExecuteReader() is var r && r.Read() ? r.GetString(3) : "", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Matches("SEARCH (TABLE gsi1 AS )?g USING PRIMARY KEY \\(ipk=\\? AND \\(?isk", text);
    }

    [Fact]
    public async Task Change_times_come_from_the_injected_clock()
    {
        var clock = new ManualClock(new DateTimeOffset(2030, 1, 2, 3, 4, 5, 678, TimeSpan.Zero));
        await using var store = Open(clock);
        await store.PutAsync(new Item("t", "1"));
        clock.Now = clock.Now.AddMinutes(5);
        await store.PutAsync(new Item("t", "2"));

        var changes = (await store.ReadAsync(null)).Changes;
        Assert.Equal(new DateTimeOffset(2030, 1, 2, 3, 4, 5, 678, TimeSpan.Zero), changes[0].CommittedAt);
        Assert.Equal(new DateTimeOffset(2030, 1, 2, 3, 9, 5, 678, TimeSpan.Zero), changes[1].CommittedAt);
    }

    [Fact]
    public async Task A_cursor_of_another_query_or_garbage_is_rejected()
    {
        await using var store = Open();
        for (var i = 0; i < 3; i++) await store.PutAsync(new Item("p", "s" + i) { ["GSI1PK"] = "p", ["GSI1SK"] = "s" });
        var page = await store.QueryAsync(new Query("p") { Limit = 1 });
        Assert.NotNull(page.Cursor);

        await Assert.ThrowsAsync<ArgumentException>(() => store.QueryAsync(new Query("other") { Cursor = page.Cursor }));
        await Assert.ThrowsAsync<ArgumentException>(() => store.QueryAsync(new Query("p") { Index = "GSI1", Cursor = page.Cursor }));
        await Assert.ThrowsAsync<ArgumentException>(() => store.QueryAsync(new Query("p") { Cursor = "not base64 !" }));
        await Assert.ThrowsAsync<ArgumentException>(() => store.QueryAsync(new Query("p") { Cursor = "e30" })); // "{}"
        await Assert.ThrowsAsync<ArgumentException>(() => store.QueryAsync(new Query("p") { Index = "GSI9" }));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.QueryAsync(new Query("p") { Limit = 0 }));
        await Assert.ThrowsAsync<ArgumentException>(() => store.ReadAsync("abc"));
        await Assert.ThrowsAsync<ArgumentException>(() => store.ReadAsync("-1"));
        Assert.Equal(3, (await store.QueryAsync(new Query("p") { Cursor = null })).Items.Count);
    }

    [Fact]
    public async Task Disposing_drains_the_queue_and_later_calls_are_refused()
    {
        var store = Open();
        Task[] writes;
        using (store.HoldWriter())
        {
            writes = Enumerable.Range(0, 50).Select(i => store.PutAsync(new Item("drain", i.ToString("D2", System.Globalization.CultureInfo.InvariantCulture)))).ToArray();
        }
        await store.DisposeAsync();

        Assert.All(writes, w => Assert.True(w.IsCompletedSuccessfully));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.PutAsync(new Item("drain", "late")));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.GetAsync(new ItemKey("drain", "00")));
        await store.DisposeAsync();
        store.Dispose();

        await using var reopened = Open();
        Assert.Equal(50, (await reopened.QueryAsync(new Query("drain"))).Items.Count);
    }

    [Fact]
    public async Task A_cancelled_write_is_not_written()
    {
        await using var store = Open();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.PutAsync(new Item("c", "1"), null, cts.Token));

        using var later = new CancellationTokenSource();
        Task queued;
        using (store.HoldWriter())
        {
            queued = store.PutAsync(new Item("c", "2"), null, later.Token);
            await later.CancelAsync();
        }
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);
        Assert.Null(await store.GetAsync(new ItemKey("c", "1")));
        Assert.Null(await store.GetAsync(new ItemKey("c", "2")));
        Assert.Empty((await store.ReadAsync(null)).Changes);
    }

    [Fact]
    public void Options_are_validated()
    {
        Assert.Throws<ArgumentException>(() => SqliteItemStore.Open(new SqliteItemStoreOptions { Path = " " }));
        Assert.Throws<ArgumentOutOfRangeException>(() => SqliteItemStore.Open(new SqliteItemStoreOptions { Path = DbPath, MaxBatchSize = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => SqliteItemStore.Open(new SqliteItemStoreOptions { Path = DbPath, BusyTimeout = TimeSpan.FromSeconds(-1) }));
        Assert.False(File.Exists(DbPath));
    }

    [Fact]
    public void A_newer_schema_is_refused()
    {
        using (var store = Open()) { }
        using (var c = new SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA user_version=99;";
            cmd.ExecuteNonQuery();
        }
        var e = Assert.Throws<InvalidOperationException>(() => Open());
        Assert.Contains("99", e.Message);
    }

    [Theory]
    [InlineData("a#", "a$")]
    [InlineData("", null)]
    [InlineData("\U0010FFFF", null)]
    [InlineData("x\U0010FFFF", "y")]
    [InlineData("a\uD7FF", "a\uE000")]
    [InlineData("a\uFFFF", "a\U00010000")]
    [InlineData("\u00e9", "\u00ea")]
    public void The_prefix_upper_bound_is_the_next_code_point(string prefix, string? expected)
    {
        Assert.Equal(expected, SqliteQueryPlan.PrefixUpperBound(prefix));
    }

    [Fact]
    public async Task Readers_see_committed_writes_while_the_writer_is_busy()
    {
        await using var store = Open();
        await store.PutAsync(new Item("r", "1") { ["v"] = 1L });
        using (store.HoldWriter())
        {
            var pending = store.PutAsync(new Item("r", "1") { ["v"] = 2L });
            Assert.Equal(1, (await store.GetAsync(new ItemKey("r", "1")))!.GetInt64("v"));
            Assert.False(pending.IsCompleted);
        }
        await EventuallyCommitted(store);
    }

    private static async Task EventuallyCommitted(SqliteItemStore store)
    {
        // The write above completes once the held writer is released; a second write queued behind it proves it committed.
        await store.PutAsync(new Item("r", "2"));
        Assert.Equal(2, (await store.GetAsync(new ItemKey("r", "1")))!.GetInt64("v"));
    }

    private static string? Scalar(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToString(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private sealed class ManualClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
