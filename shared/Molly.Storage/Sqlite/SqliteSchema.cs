using Microsoft.Data.Sqlite;

namespace Molly.Storage.Sqlite;

/// <summary>The tables of the SQLite item store and the pragmas every connection gets.</summary>
internal static class SqliteSchema
{
    public const int Version = 2;

    /// <summary>The table of a named index of <see cref="KeyNames.Indexes"/>, also the prefix of its key columns in items
    /// ("GSI1" -> "gsi1": table gsi1, columns gsi1pk/gsi1sk).</summary>
    public static string IndexColumnPrefix(string index)
    {
        for (var i = 0; i < KeyNames.Indexes.Count; i++)
            if (string.Equals(KeyNames.Indexes[i], index, StringComparison.Ordinal)) return IndexTable(i);
        throw new ArgumentException($"Unknown index '{index}'; the store has {string.Join(", ", KeyNames.Indexes)}.", nameof(index));
    }

    /// <summary>The table of the index at this position of <see cref="KeyNames.Indexes"/> (0 -> "gsi1").</summary>
    public static string IndexTable(int index) => "gsi" + (index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);

    // Keys are TEXT with the default BINARY collation: SQLite compares them as UTF-8 bytes, which is DynamoDB's order.
    // The items table keeps each item's index key columns (the current truth); the index entries live in their own tables
    // gsiN (ipk, isk, pk, sk), maintained after the write in batches (see SqliteIndexes), so an index query pages on
    // (isk, pk, sk) exactly as DynamoDB orders an index. store_meta.index_seq is the change-log sequence the index tables
    // reflect: every change after it is replayed from the change log when the store opens.
    private const string CreateSql = """
        CREATE TABLE IF NOT EXISTS items (
            pk TEXT NOT NULL,
            sk TEXT NOT NULL,
            attrs TEXT NOT NULL,
            gsi1pk TEXT, gsi1sk TEXT,
            gsi2pk TEXT, gsi2sk TEXT,
            gsi3pk TEXT, gsi3sk TEXT,
            PRIMARY KEY (pk, sk)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            pk TEXT NOT NULL,
            sk TEXT NOT NULL,
            kind INTEGER NOT NULL,
            old_image TEXT,
            new_image TEXT,
            committed_at INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS gsi1 (ipk TEXT NOT NULL, isk TEXT NOT NULL, pk TEXT NOT NULL, sk TEXT NOT NULL, PRIMARY KEY (ipk, isk, pk, sk)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS gsi2 (ipk TEXT NOT NULL, isk TEXT NOT NULL, pk TEXT NOT NULL, sk TEXT NOT NULL, PRIMARY KEY (ipk, isk, pk, sk)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS gsi3 (ipk TEXT NOT NULL, isk TEXT NOT NULL, pk TEXT NOT NULL, sk TEXT NOT NULL, PRIMARY KEY (ipk, isk, pk, sk)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS store_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        """;

    // Version 1 kept the index entries in partial indexes on items, updated in every write's transaction. Its entries move
    // to the index tables once, and the index tables then reflect the whole change log.
    private const string FromVersion1Sql = """
        INSERT OR IGNORE INTO gsi1 SELECT gsi1pk, gsi1sk, pk, sk FROM items WHERE gsi1pk IS NOT NULL AND gsi1sk IS NOT NULL;
        INSERT OR IGNORE INTO gsi2 SELECT gsi2pk, gsi2sk, pk, sk FROM items WHERE gsi2pk IS NOT NULL AND gsi2sk IS NOT NULL;
        INSERT OR IGNORE INTO gsi3 SELECT gsi3pk, gsi3sk, pk, sk FROM items WHERE gsi3pk IS NOT NULL AND gsi3sk IS NOT NULL;
        DROP INDEX IF EXISTS items_gsi1;
        DROP INDEX IF EXISTS items_gsi2;
        DROP INDEX IF EXISTS items_gsi3;
        INSERT OR REPLACE INTO store_meta (name, value) VALUES ('index_seq', (SELECT coalesce(max(seq), 0) FROM changes));
        """;

    /// <summary>Sets the writer's pragmas and creates or checks the schema.</summary>
    public static void InitializeWriter(SqliteConnection connection, TimeSpan busyTimeout, bool backgroundCheckpoints)
    {
        Exec(connection, "PRAGMA journal_mode=WAL;");
        var mode = Scalar(connection, "PRAGMA journal_mode;");
        if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"The SQLite store needs WAL journaling; the file reports '{mode}'.");
        // FULL: the WAL is fsynced at every commit, so an acknowledged write survives power loss.
        Exec(connection, "PRAGMA synchronous=FULL;");
        SetBusyTimeout(connection, busyTimeout);
        Exec(connection, "PRAGMA foreign_keys=OFF;");
        // Each write request runs in a savepoint; its statement journal would otherwise be a temp file created, written
        // and deleted per request (most of the writer's syscalls). In memory it costs a page copy.
        Exec(connection, "PRAGMA temp_store=MEMORY;");
        // The writer reads the pages it updates; 32 MB keeps a working set of hot items (balances, index tails) cached.
        Exec(connection, "PRAGMA cache_size=-32768;");
        // Checkpoint every 8,000 WAL pages (32 MB) instead of 1,000: a page rewritten by many commits (a balance, an index
        // tail) is copied into the database once per checkpoint, so fewer checkpoints write fewer bytes (~30% less per write).
        // With background checkpoints the writer's own is only a backstop (128 MB): copying and fsyncing the database inside
        // a commit stalls every waiting request (20-45 ms, the payments p99).
        Exec(connection, backgroundCheckpoints ? "PRAGMA wal_autocheckpoint=32000;" : "PRAGMA wal_autocheckpoint=8000;");

        var version = long.Parse(Scalar(connection, "PRAGMA user_version;") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        if (version > Version)
            throw new InvalidOperationException($"The database has schema version {version}; this build knows up to {Version}.");
        Exec(connection, "BEGIN IMMEDIATE;");
        try
        {
            Exec(connection, CreateSql);
            if (version < 2) Exec(connection, FromVersion1Sql);
            Exec(connection, $"PRAGMA user_version={Version};");
            Exec(connection, "COMMIT;");
        }
        catch
        {
            Exec(connection, "ROLLBACK;");
            throw;
        }
    }

    public static void InitializeReader(SqliteConnection connection, TimeSpan busyTimeout)
    {
        SetBusyTimeout(connection, busyTimeout);
        Exec(connection, "PRAGMA query_only=1;");
    }

    private static void SetBusyTimeout(SqliteConnection connection, TimeSpan busyTimeout) =>
        Exec(connection, $"PRAGMA busy_timeout={(long)busyTimeout.TotalMilliseconds};");

    public static void Exec(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static string? Scalar(SqliteConnection connection, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToString(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
