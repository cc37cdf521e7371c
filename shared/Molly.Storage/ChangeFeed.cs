namespace Molly.Storage;

public enum ChangeKind { Insert, Modify, Remove }

/// <summary>One committed change of one item. <see cref="Sequence"/> orders the changes of an item.</summary>
public sealed record Change(string Sequence, ChangeKind Kind, ItemKey Key, Item? OldImage, Item? NewImage, DateTimeOffset CommittedAt);

/// <summary>A batch read from the feed, and the checkpoint to resume after it (store it once the batch is processed).</summary>
public sealed record ChangeBatch(IReadOnlyList<Change> Changes, string Checkpoint);

/// <summary>
/// The change feed: SQLite's change-log table written in the write's transaction, or DynamoDB Streams (NEW_AND_OLD_IMAGES).
/// Reading is pull-based and stateless: pass the checkpoint returned by the previous read (null: from the oldest retained change).
/// A consumer that stores its checkpoint after processing a batch sees every change at least once and, if its handler is
/// idempotent by <see cref="Change.Sequence"/>, in effect exactly once.
/// </summary>
public interface IChangeFeed
{
    Task<ChangeBatch> ReadAsync(string? checkpoint, int maxChanges = 1000, CancellationToken ct = default);

    /// <summary>
    /// Reads only the changes of items whose PK starts with one of <paramref name="keyPrefixes"/> (an outbox, the deposits),
    /// and the checkpoint past every change read, matching or not. This default reads whole batches and drops the others;
    /// a store that can filter before decoding (SQLite) does so. On AWS the same filter belongs in the stream trigger.
    /// Returns an empty batch only at the end of the feed.
    /// </summary>
    async Task<ChangeBatch> ReadAsync(string? checkpoint, int maxChanges, IReadOnlyList<string> keyPrefixes, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(keyPrefixes);
        while (true)
        {
            var batch = await ReadAsync(checkpoint, maxChanges, ct).ConfigureAwait(false);
            if (batch.Changes.Count == 0) return batch;
            var matching = batch.Changes.Where(c => MatchesAny(c.Key.PK, keyPrefixes)).ToList();
            if (matching.Count > 0) return batch with { Changes = matching };
            checkpoint = batch.Checkpoint;
        }
    }

    private static bool MatchesAny(string pk, IReadOnlyList<string> prefixes)
    {
        foreach (var prefix in prefixes)
            if (pk.StartsWith(prefix, StringComparison.Ordinal)) return true;
        return false;
    }
}
