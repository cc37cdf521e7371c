using Molly.Storage;

namespace Molly.Payments;

/// <summary>
/// Hands out deposit-address indexes per chain and network: one counter per shard of <see cref="AddressShards.Size"/> addresses,
/// and a pointer to the shard being filled. An index is never handed out twice (atomic increments); an index whose payment
/// then fails to be written is skipped, which HD wallets tolerate (the gateway scans its own index range, not a gap limit).
/// Limit: one shard counter takes every allocation of its chain, about 1,000 a second on DynamoDB, far above one chain's payment rate.
/// </summary>
public sealed class DepositAddressAllocator(IItemStore store)
{
    private const int MaxShardAdvances = 8;

    public async Task<long> AllocateAsync(string chain, string network, CancellationToken ct = default)
    {
        var pointerKey = Keys.AllocationPointer(chain, network);
        for (var attempt = 0; attempt < MaxShardAdvances; attempt++)
        {
            var pointer = await store.GetAsync(pointerKey, ct);
            var shard = pointer?.GetInt64("shard") ?? 0;
            var next = await store.IncrementAsync(Keys.AllocationShard(chain, network, shard), "next", 1, ct);
            if (next <= AddressShards.Size)
                return shard * AddressShards.Size + (long)next - 1;

            // The shard is full: move the pointer on. Only one racer wins; the others see the new pointer on their next read.
            var expected = pointer?.Has("shard") == true ? Condition.AttributeEquals("shard", shard) : Condition.AttributeAbsent("shard");
            try
            {
                await store.UpdateAsync(pointerKey, new Update().Set("shard", shard + 1), expected, ct);
            }
            catch (ConditionFailedException)
            {
            }
        }
        throw new InvalidOperationException($"Could not allocate a deposit address on {chain}/{network}: the shard pointer kept moving.");
    }
}
