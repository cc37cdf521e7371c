using Molly.Storage;

namespace Molly.Api.Hosting;

/// <summary>Where change-feed consumers keep their checkpoints (read by diagnostics to compute the lag).</summary>
public interface IChangeFeedCheckpoints
{
    Task<string?> GetAsync(string consumer, CancellationToken ct);
}

/// <summary>Reads the checkpoint <see cref="ChangeFeedConsumer"/> stores (item <c>sys#feed / &lt;consumer&gt;</c>, attribute <c>checkpoint</c>).</summary>
public sealed class ItemStoreCheckpoints(IItemStore store) : IChangeFeedCheckpoints
{
    public static ItemKey Key(string consumer) => new(ChangeFeedConsumer.CheckpointPartition, consumer);

    public async Task<string?> GetAsync(string consumer, CancellationToken ct) =>
        (await store.GetAsync(Key(consumer), ct))?.GetString("checkpoint");
}
