using Molly.Storage;

namespace Molly.Api.Hosting;

/// <summary>Where change-feed consumers keep their checkpoints (read by diagnostics to compute the lag).</summary>
public interface IChangeFeedCheckpoints
{
    Task<string?> GetAsync(string consumer, CancellationToken ct);
}

/// <summary>Checkpoints as items <c>CHECKPOINT#&lt;consumer&gt; / CHECKPOINT</c> with a <c>checkpoint</c> attribute.</summary>
public sealed class ItemStoreCheckpoints(IItemStore store) : IChangeFeedCheckpoints
{
    public static ItemKey Key(string consumer) => new("CHECKPOINT#" + consumer, "CHECKPOINT");

    public async Task<string?> GetAsync(string consumer, CancellationToken ct) =>
        (await store.GetAsync(Key(consumer), ct))?.GetString("checkpoint");
}
