namespace Molly.Storage;

/// <summary>Settings of a <see cref="ChangeFeedConsumer"/>.</summary>
public sealed record ChangeFeedConsumerOptions
{
    /// <summary>Pause between passes once the feed is drained.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Changes read (and handed to the handler) at most per batch.</summary>
    public int BatchSize { get; init; } = 500;

    /// <summary>Only changes of items whose PK starts with one of these are read and handed over (null: all). The SQLite
    /// store filters before decoding, so a consumer of one kind of item does not pay for every change of the store.</summary>
    public IReadOnlyList<string>? KeyPrefixes { get; init; }

    /// <summary>Called when a pass fails (the handler or the store threw) before <see cref="ChangeFeedConsumer.RunAsync"/>
    /// retries after <see cref="PollInterval"/>. Without it, <see cref="ChangeFeedConsumer.RunAsync"/> rethrows.</summary>
    public Func<Exception, CancellationToken, Task>? OnError { get; init; }

    public void Validate()
    {
        if (PollInterval <= TimeSpan.Zero || PollInterval > TimeSpan.FromHours(1))
            throw new ArgumentOutOfRangeException(nameof(PollInterval), PollInterval, "PollInterval must be more than 0 and at most 1 hour.");
        if (BatchSize is < 1 or > 10_000)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be 1..10000.");
        if (KeyPrefixes is { } prefixes && (prefixes.Count == 0 || prefixes.Any(string.IsNullOrEmpty)))
            throw new ArgumentException("KeyPrefixes, when set, must hold at least one non-empty prefix.", nameof(KeyPrefixes));
    }
}

/// <summary>
/// Follows a store's change feed for one named consumer: reads batches, hands them to the handler, then stores the
/// checkpoint in the store itself (item PK <c>sys#feed</c>, SK the consumer's name). Delivery is at least once: a crash
/// between the handler and the checkpoint write replays the batch, so handlers are idempotent by <see cref="Change.Sequence"/>
/// or by the item's own key. Changes of <c>sys#feed</c> items (the checkpoints) are never handed over, and a batch made only
/// of them advances the checkpoint in memory without writing it, so checkpoints do not feed themselves.
/// The checkpoint item carries a version: a second instance running under the same name makes the slower one fail
/// with <see cref="ConditionFailedException"/> instead of both silently interleaving.
/// </summary>
public sealed class ChangeFeedConsumer
{
    public const string CheckpointPartition = "sys#feed";
    private const string CheckpointAttribute = "checkpoint";
    private const string VersionAttribute = "version";
    private const string UpdatedAtAttribute = "updatedAt";

    private readonly IItemStore _store;
    private readonly Func<IReadOnlyList<Change>, CancellationToken, Task> _handler;
    private readonly ChangeFeedConsumerOptions _options;
    private readonly TimeProvider _time;
    private readonly ItemKey _checkpointKey;
    private bool _loaded;
    private string? _position;
    private long _version;

    public ChangeFeedConsumer(
        IItemStore store,
        string name,
        Func<IReadOnlyList<Change>, CancellationToken, Task> handler,
        ChangeFeedConsumerOptions? options = null,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Length > 200) throw new ArgumentException("A consumer name is at most 200 characters.", nameof(name));
        ArgumentNullException.ThrowIfNull(handler);
        _options = options ?? new ChangeFeedConsumerOptions();
        _options.Validate();
        _store = store;
        _handler = handler;
        _time = time ?? TimeProvider.System;
        Name = name;
        _checkpointKey = new ItemKey(CheckpointPartition, name);
    }

    public string Name { get; }

    /// <summary>The position read up to (null before the first read and when nothing was ever stored).</summary>
    public string? Position => _position;

    /// <summary>Reads and handles batches until the feed has nothing more; returns how many changes the handler received.</summary>
    public async Task<int> RunOnceAsync(CancellationToken ct = default)
    {
        if (!_loaded) await LoadAsync(ct).ConfigureAwait(false);
        var handled = 0;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var batch = _options.KeyPrefixes is { } prefixes
                ? await _store.ChangeFeed.ReadAsync(_position, _options.BatchSize, prefixes, ct).ConfigureAwait(false)
                : await _store.ChangeFeed.ReadAsync(_position, _options.BatchSize, ct).ConfigureAwait(false);
            if (batch.Changes.Count == 0)
            {
                _position = batch.Checkpoint;
                return handled;
            }
            var relevant = batch.Changes.Where(c => c.Key.PK != CheckpointPartition).ToList();
            if (relevant.Count > 0)
            {
                await _handler(relevant, ct).ConfigureAwait(false);
                handled += relevant.Count;
                await SaveAsync(batch.Checkpoint, ct).ConfigureAwait(false);
            }
            _position = batch.Checkpoint;
        }
    }

    /// <summary>Runs passes every <see cref="ChangeFeedConsumerOptions.PollInterval"/> until <paramref name="ct"/> is cancelled,
    /// then returns normally.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (_options.OnError is not null)
            {
                // Re-read the stored checkpoint next pass: the failed batch is delivered again (at least once).
                _loaded = false;
                await _options.OnError(e, ct).ConfigureAwait(false);
            }
            try
            {
                await Task.Delay(_options.PollInterval, _time, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        var item = await _store.GetAsync(_checkpointKey, ct).ConfigureAwait(false);
        _position = item?.GetString(CheckpointAttribute);
        _version = item?.GetInt64(VersionAttribute) ?? 0;
        _loaded = true;
    }

    private async Task SaveAsync(string checkpoint, CancellationToken ct)
    {
        var item = new Item(_checkpointKey)
        {
            [CheckpointAttribute] = checkpoint,
            [VersionAttribute] = _version + 1,
            [UpdatedAtAttribute] = _time.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        };
        await _store.PutAsync(item, Condition.VersionEquals(_version, VersionAttribute), ct).ConfigureAwait(false);
        _version++;
    }
}
