using System.Collections.Concurrent;
using Molly.Storage;

namespace Molly.Payments;

/// <summary>
/// Hands out deposit-address indexes per chain and network: one counter per shard of <see cref="AddressShards.Size"/> addresses,
/// and a pointer to the shard being filled. Each process reserves a block of <see cref="BlockSize"/> indexes with one atomic
/// increment and hands them out from memory, so the counter is written once per block, not once per payment; the next block is
/// reserved in the background when half of the current one is left, so a payment rarely waits for the counter. An index is never
/// handed out twice (blocks are disjoint); indexes left in a block (and the block reserved ahead) when a process stops, or whose
/// payment fails to be written, are skipped, which HD wallets tolerate (the gateway scans its own index range, not a gap limit).
/// Limit: one shard counter takes every block reservation of its chain; at 1,000 writes/s per key on DynamoDB that is
/// 32,000 payments/s per chain.
/// </summary>
public sealed class DepositAddressAllocator(IItemStore store, int blockSize = DepositAddressAllocator.DefaultBlockSize)
{
    public const int DefaultBlockSize = 32;
    private const int MaxShardAdvances = 8;

    private readonly ConcurrentDictionary<(string, string), Block> _blocks = new();

    public int BlockSize { get; } = blockSize is >= 1 and <= AddressShards.Size
        ? blockSize : throw new ArgumentOutOfRangeException(nameof(blockSize), "A block is 1 to 10,000 indexes.");

    public async Task<long> AllocateAsync(string chain, string network, CancellationToken ct = default)
    {
        var block = _blocks.GetOrAdd((chain, network), _ => new Block());
        await block.Gate.WaitAsync(ct);
        try
        {
            if (block.Next >= block.End)
            {
                var next = block.Ahead ?? ReserveAsync(chain, network, ct);
                block.Ahead = null; // a failed reservation is retried by the next caller
                (block.Next, block.End) = await next;
            }
            var index = block.Next++;
            // Reserve the next block while half of this one is left, so no payment waits for the counter's commit
            // (with every connection taking one index per round, that wait would double a create's latency).
            if (block.Ahead is null && block.End - block.Next <= BlockSize / 2)
                block.Ahead = ReserveAsync(chain, network, CancellationToken.None);
            return index;
        }
        finally
        {
            block.Gate.Release();
        }
    }

    /// <summary>Reserves the next block [start, end) of global indexes, within one shard.</summary>
    private async Task<(long Start, long End)> ReserveAsync(string chain, string network, CancellationToken ct)
    {
        var pointerKey = Keys.AllocationPointer(chain, network);
        for (var attempt = 0; attempt < MaxShardAdvances; attempt++)
        {
            var pointer = await store.GetAsync(pointerKey, ct);
            var shard = pointer?.GetInt64("shard") ?? 0;
            var top = (long)await store.IncrementAsync(Keys.AllocationShard(chain, network, shard), "next", BlockSize, ct);
            var start = top - BlockSize;
            if (start < AddressShards.Size)
                return (shard * AddressShards.Size + start, shard * AddressShards.Size + Math.Min(top, AddressShards.Size));

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

    private sealed class Block
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public long Next;
        public long End;
        public Task<(long Start, long End)>? Ahead;
    }
}
