using Molly.Storage.Sqlite;

namespace Molly.Storage.Tests;

/// <summary>The contract suite against <see cref="SqliteItemStore"/>: a new database file per test, deleted afterwards.</summary>
public sealed class SqliteItemStoreContractTests : ItemStoreContractTests
{
    private readonly TempFolder _folder = new();

    protected override Task<IItemStore> CreateStoreAsync() =>
        Task.FromResult<IItemStore>(SqliteItemStore.Open(new SqliteItemStoreOptions { Path = _folder.File("store.db") }));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _folder.Dispose();
    }
}

/// <summary>A temporary folder deleted on dispose.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "molly-storage-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
