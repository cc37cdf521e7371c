namespace Molly.Settlement;

/// <summary>How long deposit-confirm waits between confirmation checks: the missing confirmations times the chain's block
/// time, clamped to [<see cref="MinWaitSeconds"/>, <see cref="MaxWaitSeconds"/>].</summary>
public sealed class SettlementOptions
{
    public const string Section = "Molly:Settlement";

    /// <summary>Seconds per block by chain name (the asset registry's chain, e.g. "ethereum"); chains not listed use
    /// <see cref="DefaultBlockTimeSeconds"/>.</summary>
    public Dictionary<string, double> BlockTimeSeconds { get; init; } = new(StringComparer.Ordinal)
    {
        ["ethereum"] = 12, ["bsc"] = 3, ["polygon"] = 2, ["tron"] = 3, ["solana"] = 0.4, ["bitcoin"] = 600, ["litecoin"] = 150,
    };

    public double DefaultBlockTimeSeconds { get; init; } = 12;

    public int MinWaitSeconds { get; init; } = 1;

    public int MaxWaitSeconds { get; init; } = 600;

    /// <summary>Attempts of one settlement against concurrent writers of the same deposit or payment before it gives up
    /// with <c>Molly.Transient</c> (the workflow retries it).</summary>
    public int MaxAttempts { get; init; } = 8;

    public void Validate()
    {
        if (DefaultBlockTimeSeconds is not (> 0 and <= 3600))
            throw new ArgumentOutOfRangeException(nameof(DefaultBlockTimeSeconds), DefaultBlockTimeSeconds, "0 < block time <= 3600 s");
        foreach (var (chain, seconds) in BlockTimeSeconds)
            if (seconds is not (> 0 and <= 3600))
                throw new ArgumentOutOfRangeException(nameof(BlockTimeSeconds), seconds, $"Block time of {chain}: 0 < s <= 3600.");
        if (MinWaitSeconds < 1) throw new ArgumentOutOfRangeException(nameof(MinWaitSeconds), MinWaitSeconds, "at least 1");
        if (MaxWaitSeconds < MinWaitSeconds || MaxWaitSeconds > 86_400)
            throw new ArgumentOutOfRangeException(nameof(MaxWaitSeconds), MaxWaitSeconds, "MinWaitSeconds..86400");
        if (MaxAttempts is < 1 or > 100) throw new ArgumentOutOfRangeException(nameof(MaxAttempts), MaxAttempts, "1..100");
    }

    public int WaitSecondsFor(string chain, long missingConfirmations)
    {
        var blockTime = BlockTimeSeconds.TryGetValue(chain, out var s) ? s : DefaultBlockTimeSeconds;
        var wait = Math.Ceiling(Math.Max(1, missingConfirmations) * blockTime);
        return (int)Math.Clamp(wait, MinWaitSeconds, MaxWaitSeconds);
    }
}
