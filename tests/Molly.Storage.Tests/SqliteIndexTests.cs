using System.Globalization;
using Microsoft.Data.Sqlite;
using Molly.Storage.Sqlite;
using Xunit;

namespace Molly.Storage.Tests;

/// <summary>
/// The SQLite store applies index entries in bulk after the writes: what must hold is that an index query finds every
/// acknowledged write, never an item whose key moved away, and that neither a crash, a failed write nor a second process
/// writing the same file leaves the index wrong.
/// </summary>
public sealed class SqliteIndexTests : IDisposable
{
    private readonly TempFolder _folder = new();

    private string DbPath => _folder.File("store.db");

    public void Dispose() => _folder.Dispose();

    /// <summary>A store that never flushes on its own (only an index query or closing makes it).</summary>
    private static SqliteItemStore OpenDeferred(string path) => SqliteItemStore.Open(new SqliteItemStoreOptions
    {
        Path = path,
        IndexFlushEntries = 1_000_000,
        IndexFlushInterval = TimeSpan.FromMinutes(1),
    });

    private static Item Indexed(string pk, string gsiPk, string gsiSk) => new(pk, "x") { ["GSI1PK"] = gsiPk, ["GSI1SK"] = gsiSk, ["v"] = 1L };

    private static long Scalar(string path, string sql)
    {
        using var c = new SqliteConnection($"Data Source={path};Pooling=False;Mode=ReadOnly");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static async Task<List<string>> Keys(IItemStore store, string partition, string index = "GSI1") =>
        [.. (await store.QueryAsync(new Query(partition) { Index = index, Limit = 1000 })).Items.Select(i => i.PK)];

    [Fact]
    public async Task Entries_wait_in_memory_until_an_index_query_catches_the_index_up()
    {
        await using var store = OpenDeferred(DbPath);
        for (var i = 0; i < 10; i++) await store.PutAsync(Indexed($"item{i}", "g", $"s{i}"));

        Assert.Equal(0, Scalar(DbPath, "SELECT count(*) FROM gsi1;"));
        var flushesBefore = store.IndexFlushes;

        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"item{i}"), await Keys(store, "g"));
        Assert.Equal(10, Scalar(DbPath, "SELECT count(*) FROM gsi1;"));
        Assert.Equal(flushesBefore + 1, store.IndexFlushes);
        Assert.Equal(Scalar(DbPath, "SELECT max(seq) FROM changes;"), Scalar(DbPath, "SELECT value FROM store_meta WHERE name = 'index_seq';"));

        // Caught up: the next query needs no flush.
        Assert.Equal(10, (await Keys(store, "g")).Count);
        Assert.Equal(flushesBefore + 1, store.IndexFlushes);
    }

    [Fact]
    public async Task An_item_whose_key_moved_is_found_under_its_new_key_only()
    {
        await using var store = OpenDeferred(DbPath);
        await store.PutAsync(Indexed("a", "g1", "1"));
        await store.PutAsync(Indexed("b", "g1", "2"));
        Assert.Equal(["a", "b"], await Keys(store, "g1"));

        await store.UpdateAsync(new ItemKey("a", "x"), new Update().Set("GSI1PK", "g2"));
        await store.UpdateAsync(new ItemKey("b", "x"), new Update().Remove("GSI1PK"));
        Assert.Empty(await Keys(store, "g1"));
        Assert.Equal(["a"], await Keys(store, "g2"));
        Assert.Equal(1, Scalar(DbPath, "SELECT count(*) FROM gsi1;"));

        await store.DeleteAsync(new ItemKey("a", "x"));
        Assert.Empty(await Keys(store, "g2"));
        Assert.Equal(0, Scalar(DbPath, "SELECT count(*) FROM gsi1;"));
    }

    [Fact]
    public async Task A_failed_write_leaves_no_index_entry()
    {
        await using var store = OpenDeferred(DbPath);
        await store.PutAsync(Indexed("taken", "g", "0"));
        await Assert.ThrowsAsync<ConditionFailedException>(() => store.TransactWriteAsync(
        [
            TransactOp.Put(Indexed("lost", "g", "1")),
            TransactOp.Check(new ItemKey("missing", "x"), Condition.ItemExists),
        ]));
        await Assert.ThrowsAsync<ConditionFailedException>(() => store.PutAsync(Indexed("taken", "g", "2"), Condition.ItemAbsent));
        await Assert.ThrowsAsync<ConditionFailedException>(() =>
            store.UpdateAsync(new ItemKey("taken", "x"), new Update().Set("GSI1SK", "3"), Condition.AttributeEquals("v", 99L)));
        await store.PutAsync(Indexed("kept", "g", "4"));

        Assert.Equal(["taken", "kept"], await Keys(store, "g"));
        Assert.Equal(2, Scalar(DbPath, "SELECT count(*) FROM gsi1;"));
        Assert.Equal(1, Scalar(DbPath, "SELECT count(*) FROM gsi1 WHERE pk = 'taken' AND isk = '0';"));
    }

    [Fact]
    public async Task Entries_lost_in_a_crash_are_replayed_from_the_change_log_at_open()
    {
        var copy = _folder.File("copy.db");
        await using (var store = OpenDeferred(DbPath))
        {
            await store.PutAsync(Indexed("a", "g", "1"));
            Assert.Equal(["a"], await Keys(store, "g")); // index_seq now covers "a"
            await store.PutAsync(Indexed("b", "g", "2"));
            await store.PutAsync(Indexed("c", "g", "3"));
            await store.UpdateAsync(new ItemKey("a", "x"), new Update().Set("GSI1SK", "9"));
            await store.DeleteAsync(new ItemKey("b", "x"));

            // The files as a power cut would leave them: every write committed, the later index moves only in memory.
            File.Copy(DbPath, copy);
            File.Copy(DbPath + "-wal", copy + "-wal");
        }
        Assert.Equal(1, Scalar(copy, "SELECT count(*) FROM gsi1;"));
        Assert.Equal(1, Scalar(copy, "SELECT count(*) FROM gsi1 WHERE pk = 'a' AND isk = '1';"));

        await using var reopened = OpenDeferred(copy);
        Assert.Equal(2, Scalar(copy, "SELECT count(*) FROM gsi1;")); // replayed when it opened, before any query
        Assert.Equal(["c", "a"], await Keys(reopened, "g"));
    }

    [Fact]
    public async Task Closing_the_store_applies_what_is_pending()
    {
        await using (var store = OpenDeferred(DbPath))
        {
            await store.PutAsync(Indexed("a", "g", "1"));
            await store.PutAsync(Indexed("b", "g", "2"));
        }
        Assert.Equal(2, Scalar(DbPath, "SELECT count(*) FROM gsi1;"));
        Assert.Equal(Scalar(DbPath, "SELECT max(seq) FROM changes;"), Scalar(DbPath, "SELECT value FROM store_meta WHERE name = 'index_seq';"));
    }

    [Fact]
    public async Task Two_stores_writing_one_file_keep_the_index_exact()
    {
        // Two processes on one file (the local host and a CLI command): each writer's notes miss the other's writes, so a
        // writer that sees another connection's commit replays the change log instead of its notes.
        await using var a = OpenDeferred(DbPath);
        await using var b = OpenDeferred(DbPath);
        await a.PutAsync(Indexed("x", "g", "1"));
        await a.PutAsync(Indexed("y", "g", "2"));
        Assert.Equal(["x", "y"], await Keys(b, "g"));

        await b.UpdateAsync(new ItemKey("x", "x"), new Update().Set("GSI1SK", "3"));
        await a.PutAsync(Indexed("z", "g", "0"));
        await b.DeleteAsync(new ItemKey("y", "x"));
        Assert.Equal(["z", "x"], await Keys(a, "g"));
        Assert.Equal(["z", "x"], await Keys(b, "g"));
        Assert.Equal(2, Scalar(DbPath, "SELECT count(*) FROM gsi1;"));
        Assert.Equal(1, Scalar(DbPath, "SELECT count(*) FROM gsi1 WHERE pk = 'x' AND isk = '3';"));
    }

    [Fact]
    public async Task A_version_1_file_is_migrated_to_index_tables()
    {
        using (var c = new SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = """
                PRAGMA journal_mode=WAL;
                CREATE TABLE items (pk TEXT NOT NULL, sk TEXT NOT NULL, attrs TEXT NOT NULL, gsi1pk TEXT, gsi1sk TEXT,
                    gsi2pk TEXT, gsi2sk TEXT, gsi3pk TEXT, gsi3sk TEXT, PRIMARY KEY (pk, sk)) WITHOUT ROWID;
                CREATE INDEX items_gsi1 ON items (gsi1pk, gsi1sk) WHERE gsi1pk IS NOT NULL;
                CREATE INDEX items_gsi2 ON items (gsi2pk, gsi2sk) WHERE gsi2pk IS NOT NULL;
                CREATE INDEX items_gsi3 ON items (gsi3pk, gsi3sk) WHERE gsi3pk IS NOT NULL;
                CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, pk TEXT NOT NULL, sk TEXT NOT NULL, kind INTEGER NOT NULL,
                    old_image TEXT, new_image TEXT, committed_at INTEGER NOT NULL);
                INSERT INTO items VALUES ('a', 'x', '{"GSI1PK":{"S":"g"},"GSI1SK":{"S":"1"}}', 'g', '1', NULL, NULL, NULL, NULL);
                INSERT INTO items VALUES ('b', 'x', '{"GSI3PK":{"S":"h"},"GSI3SK":{"S":"2"}}', NULL, NULL, NULL, NULL, 'h', '2');
                INSERT INTO changes (pk, sk, kind, old_image, new_image, committed_at) VALUES ('a', 'x', 0, NULL, '{"GSI1PK":{"S":"g"},"GSI1SK":{"S":"1"}}', 0);
                PRAGMA user_version=1;
                """;
            cmd.ExecuteNonQuery();
        }
        await using (var store = OpenDeferred(DbPath))
        {
            Assert.Equal(["a"], await Keys(store, "g"));
            Assert.Equal(["b"], await Keys(store, "h", "GSI3"));
        }
        Assert.Equal(2, Scalar(DbPath, "PRAGMA user_version;"));
        Assert.Equal(0, Scalar(DbPath, "SELECT count(*) FROM sqlite_master WHERE name LIKE 'items_gsi%';"));
        Assert.Equal(1, Scalar(DbPath, "SELECT value FROM store_meta WHERE name = 'index_seq';"));
    }

    [Theory]
    [InlineData(1, 11)]
    [InlineData(7, 12)]
    [InlineData(1_000_000, 13)]
    public async Task Random_writes_and_queries_always_match_a_model(int flushEntries, int seed)
    {
        await using var store = SqliteItemStore.Open(new SqliteItemStoreOptions
        {
            Path = DbPath,
            IndexFlushEntries = flushEntries,
            IndexFlushInterval = TimeSpan.FromMinutes(1),
        });
        var random = new Random(seed);
        var model = new Dictionary<string, (string Pk, string Sk)?>();
        string[] partitions = ["p0", "p1", "p2"];
        for (var step = 0; step < 400; step++)
        {
            var key = "k" + random.Next(25).ToString(CultureInfo.InvariantCulture);
            var partition = partitions[random.Next(partitions.Length)];
            var sort = random.Next(5).ToString(CultureInfo.InvariantCulture);
            var tasks = new List<Task>();
            switch (random.Next(6))
            {
                case 0 or 1:
                    await store.PutAsync(Indexed(key, partition, sort));
                    model[key] = (partition, sort);
                    break;
                case 2:
                    await store.UpdateAsync(new ItemKey(key, "x"), new Update().Set("GSI1PK", partition).Set("GSI1SK", sort));
                    model[key] = (partition, sort);
                    break;
                case 3:
                    await store.UpdateAsync(new ItemKey(key, "x"), new Update().Remove("GSI1SK").Add("v", 1L));
                    model[key] = null;
                    break;
                case 4:
                    await store.DeleteAsync(new ItemKey(key, "x"));
                    model.Remove(key);
                    break;
                default:
                    await AssertMatches(partition);
                    break;
            }
        }
        foreach (var p in partitions) await AssertMatches(p);

        async Task AssertMatches(string partition)
        {
            var expected = model.Where(kv => kv.Value is { } v && v.Pk == partition)
                .OrderBy(kv => kv.Value!.Value.Sk, StringComparer.Ordinal).ThenBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => kv.Key).ToList();
            Assert.Equal(expected, await Keys(store, partition));
        }
    }

    [Fact]
    public async Task A_background_connection_checkpoints_the_log()
    {
        await using var store = SqliteItemStore.Open(new SqliteItemStoreOptions { Path = DbPath, CheckpointInterval = TimeSpan.FromMilliseconds(10) });
        for (var round = 0; round < 500 && store.BackgroundCheckpoints == 0; round++)
        {
            await store.PutAsync(new Item("c", round.ToString(CultureInfo.InvariantCulture)));
            await Task.Delay(5);
        }
        Assert.True(store.BackgroundCheckpoints > 0);
        Assert.Equal(0, Scalar(DbPath, "SELECT count(*) FROM items WHERE pk <> 'c';"));
    }

    [Fact]
    public async Task The_writers_item_cache_forgets_what_a_failed_request_changed()
    {
        await using var store = OpenDeferred(DbPath);
        await store.UpdateAsync(new ItemKey("n", "x"), new Update().Add("v", 1L));
        Task<Item> last;
        Task failed;
        using (store.HoldWriter())
        {
            _ = store.UpdateAsync(new ItemKey("n", "x"), new Update().Add("v", 10L));
            failed = store.TransactWriteAsync(
            [
                TransactOp.Update(new ItemKey("n", "x"), new Update().Add("v", 100L)),
                TransactOp.Check(new ItemKey("missing", "x"), Condition.ItemExists),
            ]);
            _ = store.DeleteAsync(new ItemKey("n", "x"), Condition.AttributeEquals("v", 0L)); // fails: v is 11
            last = store.UpdateAsync(new ItemKey("n", "x"), new Update().Add("v", 1000L));
        }
        await Assert.ThrowsAsync<ConditionFailedException>(() => failed);
        Assert.Equal(1011L, (await last).GetInt64("v"));
        Assert.Equal(1011L, (await store.GetAsync(new ItemKey("n", "x")))!.GetInt64("v"));

        // The item handed back is the caller's own: changing it changes nothing stored or cached.
        var returned = await store.UpdateAsync(new ItemKey("n", "x"), new Update().Add("v", 1L));
        returned["v"] = 5L;
        Assert.Equal(1013L, (await store.UpdateAsync(new ItemKey("n", "x"), new Update().Add("v", 1L))).GetInt64("v"));
    }

    [Fact]
    public async Task The_writers_item_cache_sees_another_connections_writes()
    {
        await using var a = OpenDeferred(DbPath);
        await using var b = OpenDeferred(DbPath);
        await a.UpdateAsync(new ItemKey("n", "x"), new Update().Add("v", 1L)); // cached by a's writer
        await b.UpdateAsync(new ItemKey("n", "x"), new Update().Add("v", 10L));
        Assert.Equal(111L, (await a.UpdateAsync(new ItemKey("n", "x"), new Update().Add("v", 100L))).GetInt64("v"));
        await b.DeleteAsync(new ItemKey("n", "x"));
        await Assert.ThrowsAsync<ConditionFailedException>(() => a.UpdateAsync(new ItemKey("n", "x"), new Update().Add("v", 1L), Condition.ItemExists));
    }
}
