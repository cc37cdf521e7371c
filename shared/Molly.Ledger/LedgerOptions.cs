using System.Numerics;
using Molly.Storage;

namespace Molly.Ledger;

public sealed record LedgerOptions
{
    /// <summary>Partitions of the sparse expiry index (GSI1 <c>ledger#expiry#{n}</c>); fixed for the life of a table.</summary>
    public int ExpiryPartitions { get; init; } = 8;

    /// <summary>Attempts of one command against concurrent writers before <see cref="LedgerContentionException"/>.</summary>
    public int MaxAttempts { get; init; } = 64;

    /// <summary>Largest amount of one transfer; balances are stored in 38 digits, so 10^36 - 1 leaves room for 100 of them.</summary>
    public BigInteger MaxAmount { get; init; } = BigInteger.Pow(10, 36) - 1;

    public int MaxUserDataLength { get; init; } = 256;

    /// <summary>Most transfers of concurrent calls written as one store transaction (see Ledger.Coalescing.cs); 1 turns
    /// coalescing off. A group also stays within the store's 100 items per transaction.</summary>
    public int CoalesceMaxTransfers { get; init; } = 64;

    /// <summary>Most items of one coalesced transaction: the store's limit (100), lower only for a store with a lower one.</summary>
    public int CoalesceMaxItems { get; init; } = TransactionLimits.MaxItems;

    /// <summary>Coalesced groups being written at once; calls arriving meanwhile queue up and form the next group.</summary>
    public int CoalesceMaxInFlight { get; init; } = 4;

    /// <summary>Most shards one account may have (one consolidation is one transaction of that many items).</summary>
    public const int MaxShards = 64;

    public void Validate()
    {
        if (ExpiryPartitions is < 1 or > 256) throw new ArgumentOutOfRangeException(nameof(ExpiryPartitions), "1..256");
        if (MaxAttempts < 1) throw new ArgumentOutOfRangeException(nameof(MaxAttempts), "at least 1");
        if (MaxAmount <= 0 || MaxAmount >= BigInteger.Pow(10, 38)) throw new ArgumentOutOfRangeException(nameof(MaxAmount));
        if (MaxUserDataLength is < 0 or > 4096) throw new ArgumentOutOfRangeException(nameof(MaxUserDataLength));
        if (CoalesceMaxTransfers is < 1 or > TransactionLimits.MaxItems) throw new ArgumentOutOfRangeException(nameof(CoalesceMaxTransfers), "1..100");
        if (CoalesceMaxItems is < 2 or > TransactionLimits.MaxItems) throw new ArgumentOutOfRangeException(nameof(CoalesceMaxItems), "2..100");
        if (CoalesceMaxInFlight is < 1 or > 256) throw new ArgumentOutOfRangeException(nameof(CoalesceMaxInFlight), "1..256");
    }
}
