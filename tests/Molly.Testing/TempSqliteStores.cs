using Molly.Storage;
using Molly.Storage.Sqlite;

namespace Molly.Testing;

/// <summary>SQLite item stores in one temp folder, each a new file; all closed and the folder deleted on dispose.</summary>
public sealed class TempSqliteStores(string prefix) : IAsyncDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory(prefix).FullName;
    private readonly List<SqliteItemStore> _stores = [];
    private int _n;

    public Task<IItemStore> CreateAsync(TimeProvider? time = null)
    {
        var store = SqliteItemStore.Open(new SqliteItemStoreOptions { Path = Path.Combine(_folder, $"s{Interlocked.Increment(ref _n)}.db") },
            time);
        lock (_stores) _stores.Add(store);
        return Task.FromResult<IItemStore>(store);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var s in _stores) await s.DisposeAsync();
        Directory.Delete(_folder, true);
    }
}
