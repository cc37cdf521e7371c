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

    /// <summary>Index entries are applied in bulk once this many index moves are pending (or sooner: see
    /// <see cref="IndexFlushInterval"/>, and always before an index query). 1 applies them with the next write.</summary>
    public int IndexFlushEntries { get; init; } = 4096;

    /// <summary>Pending index moves are applied with the first write this long after the oldest was committed.</summary>
    public TimeSpan IndexFlushInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How often a background connection copies committed WAL frames into the database file (a passive
    /// checkpoint), so the writer's own checkpoints find little left to copy. Zero leaves checkpoints to the writer.</summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Path))
            throw new ArgumentException("SqliteItemStoreOptions.Path is required.", nameof(Path));
        if (MaxBatchSize is < 1 or > 10_000)
            throw new ArgumentOutOfRangeException(nameof(MaxBatchSize), MaxBatchSize, "MaxBatchSize must be 1..10000.");
        if (BusyTimeout < TimeSpan.Zero || BusyTimeout > TimeSpan.FromMinutes(10))
            throw new ArgumentOutOfRangeException(nameof(BusyTimeout), BusyTimeout, "BusyTimeout must be 0..10 minutes.");
        if (IndexFlushEntries is < 1 or > 1_000_000)
            throw new ArgumentOutOfRangeException(nameof(IndexFlushEntries), IndexFlushEntries, "IndexFlushEntries must be 1..1000000.");
        if (IndexFlushInterval < TimeSpan.Zero || IndexFlushInterval > TimeSpan.FromMinutes(1))
            throw new ArgumentOutOfRangeException(nameof(IndexFlushInterval), IndexFlushInterval, "IndexFlushInterval must be 0..1 minute.");
        if (CheckpointInterval < TimeSpan.Zero || CheckpointInterval > TimeSpan.FromMinutes(10))
            throw new ArgumentOutOfRangeException(nameof(CheckpointInterval), CheckpointInterval, "CheckpointInterval must be 0..10 minutes.");
        if (MaxIdleReaders is < 0 or > 256)
            throw new ArgumentOutOfRangeException(nameof(MaxIdleReaders), MaxIdleReaders, "MaxIdleReaders must be 0..256.");
    }
}
