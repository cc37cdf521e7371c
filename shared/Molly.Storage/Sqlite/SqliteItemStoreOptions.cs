namespace Molly.Storage.Sqlite;

/// <summary>Settings of <see cref="SqliteItemStore"/>.</summary>
public sealed record SqliteItemStoreOptions
{
    /// <summary>The database file; created (with its folder) when missing.</summary>
    public required string Path { get; init; }

    /// <summary>At most this many queued write requests share one transaction and one fsync (group commit).</summary>
    public int MaxBatchSize { get; init; } = 256;

    /// <summary>How long a write waits for another process holding the file's write lock before failing.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Idle reader connections kept open for reuse.</summary>
    public int MaxIdleReaders { get; init; } = 8;

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Path))
            throw new ArgumentException("SqliteItemStoreOptions.Path is required.", nameof(Path));
        if (MaxBatchSize is < 1 or > 10_000)
            throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, "MaxBatchSize must be 1..10000.");
        if (BusyTimeout < TimeSpan.Zero || BusyTimeout > TimeSpan.FromMinutes(10))
            throw new ArgumentOutOfRangeException(nameof(BusyTimeout), BusyTimeout, "BusyTimeout must be 0..10 minutes.");
        if (MaxIdleReaders is < 0 or > 256)
            throw new ArgumentOutOfRangeException(nameof(MaxIdleReaders), MaxIdleReaders, "MaxIdleReaders must be 0..256.");
    }
}
