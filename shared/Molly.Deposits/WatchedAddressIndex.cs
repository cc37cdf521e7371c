using Microsoft.Extensions.Logging;
using Molly.Chains.Evm;
using Molly.Payments;
using Molly.Storage;

namespace Molly.Deposits;

/// <summary>
/// Every watched deposit address of one EVM chain and network, in memory (<see cref="AddressSet"/>), read from the store
/// through the watched-address index, never a scan: the payments API writes each address into GSI1 partition
/// <c>watch#{chain}#{shard}</c> with sort key <c>{createdAt}#{address}</c>, and the allocation pointer
/// <c>alloc#{chain}#{network}/open</c> says how many shards exist. The first refresh reads every shard; later refreshes ask
/// each shard only for items created since the previous refresh began, less an overlap (clock skew between processes,
/// writes in flight, index propagation). A payer can only pay an address after the API has answered with it, so a refresh
/// made after a block is fetched sees every address that block can pay.
/// </summary>
public sealed class WatchedAddressIndex(IItemStore store, string chain, string network, TimeSpan overlap, TimeProvider clock, ILogger log)
{
    private const int PageSize = 1000;
    private DateTimeOffset? _lastRefreshStart;

    public AddressSet Addresses { get; } = new();

    /// <summary>Items read by the refreshes so far (a measure of what freshness costs).</summary>
    public long ItemsRead { get; private set; }

    public async Task RefreshAsync(CancellationToken ct)
    {
        var started = clock.GetUtcNow();
        var pointer = await store.GetAsync(Keys.AllocationPointer(chain, network), ct).ConfigureAwait(false);
        var shards = (pointer?.GetInt64("shard") ?? 0) + 1;
        SortKeyCondition? since = _lastRefreshStart is { } last
            ? SortKeyCondition.GreaterThan(Keys.ByTime(last - overlap, ""))
            : null;
        var added = 0;
        for (long shard = 0; shard < shards; shard++)
        {
            string? cursor = null;
            do
            {
                var page = await store.QueryAsync(new Query(Keys.Watch(chain, shard))
                {
                    Index = "GSI1", SortKey = since, Limit = PageSize, Cursor = cursor,
                }, ct).ConfigureAwait(false);
                foreach (var item in page.Items)
                {
                    ItemsRead++;
                    if (item.GetString("network") is { } n && n != network) continue; // same chain name, another network
                    var text = item.GetString("address") ?? item.GetString(KeyNames.IndexSK("GSI1"))!.Split('#')[^1];
                    if (EvmAddress.TryParse(text, out var address)) { if (Addresses.Add(address.Bytes)) added++; }
                    else log.LogWarning("Watched address item {ItemKey} has no EVM address; skipped", item.Key.ToString());
                }
                cursor = page.Cursor;
            } while (cursor is not null);
        }
        if (_lastRefreshStart is null || added > 0)
            log.LogInformation("Watched addresses of {Chain}/{Network}: {Added} added, {Count} in all ({Shards} shards)",
                chain, network, added, Addresses.Count, shards);
        _lastRefreshStart = started;
    }
}
