using System.Numerics;

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

    /// <summary>Most shards one account may have (one consolidation is one transaction of that many items).</summary>
    public const int MaxShards = 64;

    public void Validate()
    {
        if (ExpiryPartitions is < 1 or > 256) throw new ArgumentOutOfRangeException(nameof(ExpiryPartitions), "1..256");
        if (MaxAttempts < 1) throw new ArgumentOutOfRangeException(nameof(MaxAttempts), "at least 1");
        if (MaxAmount <= 0 || MaxAmount >= BigInteger.Pow(10, 38)) throw new ArgumentOutOfRangeException(nameof(MaxAmount));
        if (MaxUserDataLength is < 0 or > 4096) throw new ArgumentOutOfRangeException(nameof(MaxUserDataLength));
    }
}
