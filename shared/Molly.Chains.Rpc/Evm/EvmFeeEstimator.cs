using System.Numerics;
using Microsoft.Extensions.Options;

namespace Molly.Chains.Rpc.Evm;

/// <summary>
/// EIP-1559 fee settings. maxFeePerGas = next base fee × <see cref="BaseFeeMultiplierPercent"/>/100 + priority fee, so the
/// transaction stays includable while the base fee rises (it can rise 12.5 % per full block: 200 % covers about 6 full
/// blocks in a row). All amounts are wei.
/// </summary>
public sealed class EvmFeeOptions
{
    /// <summary>Blocks of fee history to look at.</summary>
    public int HistoryBlocks { get; set; } = 20;

    /// <summary>Which percentile of each block's priority fees (tips) to take; the median over the blocks is used.</summary>
    public double PriorityFeePercentile { get; set; } = 50;

    public int BaseFeeMultiplierPercent { get; set; } = 200;

    /// <summary>Floor and ceiling of the priority fee (a quiet chain reports tips of 0; a spike should not buy a 500 gwei tip).</summary>
    public BigInteger MinPriorityFeePerGas { get; set; } = 1_000_000_000;

    public BigInteger MaxPriorityFeePerGas { get; set; } = 50_000_000_000;

    /// <summary>Never offer more than this per gas. When the next block's base fee plus the tip is above it, estimation fails
    /// (wait, or raise the cap deliberately) instead of sending a transaction that cannot be included.</summary>
    public BigInteger MaxFeePerGasCap { get; set; } = 500_000_000_000;
}

/// <summary>What to put in an EIP-1559 transaction, and the base fee it was derived from.</summary>
public sealed record EvmFeeEstimate(BigInteger MaxFeePerGas, BigInteger MaxPriorityFeePerGas, BigInteger NextBaseFeePerGas, ulong NewestBlock)
{
    /// <summary>The most the transaction can cost for <paramref name="gasLimit"/> gas.</summary>
    public BigInteger MaxCost(BigInteger gasLimit) => MaxFeePerGas * gasLimit;
}

/// <summary>The next block's base fee plus the tip exceeds <see cref="EvmFeeOptions.MaxFeePerGasCap"/>.</summary>
public sealed class EvmFeeCapExceededException(BigInteger needed, BigInteger cap)
    : Exception($"Gas is too expensive now: the next block needs at least {needed} wei/gas (base fee + tip), the cap is {cap}.")
{
    public BigInteger Needed { get; } = needed;

    public BigInteger Cap { get; } = cap;
}

/// <summary>Estimates EIP-1559 fees from eth_feeHistory (one call; no eth_maxPriorityFeePerGas, which not every node has).</summary>
public sealed class EvmFeeEstimator
{
    private readonly IEvmRpc _rpc;
    private readonly EvmFeeOptions _options;

    public EvmFeeEstimator(IEvmRpc rpc, EvmFeeOptions options)
    {
        _rpc = rpc ?? throw new ArgumentNullException(nameof(rpc));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        var result = EvmFeeOptionsValidator.Instance.Validate(null, options);
        if (result.Failed) throw new OptionsValidationException(nameof(EvmFeeOptions), typeof(EvmFeeOptions), result.Failures);
    }

    public async Task<EvmFeeEstimate> EstimateAsync(CancellationToken ct = default)
    {
        var history = await _rpc.GetFeeHistoryAsync(_options.HistoryBlocks, "latest", [_options.PriorityFeePercentile], ct).ConfigureAwait(false);
        return Estimate(history, _options);
    }

    /// <summary>The pure part: fees from a fee history (exposed for unit tests of the arithmetic).</summary>
    public static EvmFeeEstimate Estimate(EvmFeeHistory history, EvmFeeOptions options)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.BaseFeePerGas.Count == 0) throw new ArgumentException("The fee history has no base fee (a pre-London chain?).", nameof(history));
        var nextBaseFee = history.BaseFeePerGas[^1];

        // Median over blocks of the chosen percentile, ignoring empty blocks (reward 0 there means "no transactions", not "free").
        var tips = history.Reward
            .Select((row, i) => (Row: row, Ratio: i < history.GasUsedRatio.Count ? history.GasUsedRatio[i] : 0))
            .Where(x => x.Row.Count > 0 && x.Ratio > 0)
            .Select(x => x.Row[0])
            .Order()
            .ToList();
        var tip = tips.Count == 0 ? options.MinPriorityFeePerGas : tips[tips.Count / 2];
        tip = BigInteger.Clamp(tip, options.MinPriorityFeePerGas, options.MaxPriorityFeePerGas);

        var needed = nextBaseFee + tip;
        if (needed > options.MaxFeePerGasCap) throw new EvmFeeCapExceededException(needed, options.MaxFeePerGasCap);
        var maxFee = BigInteger.Min(nextBaseFee * options.BaseFeeMultiplierPercent / 100 + tip, options.MaxFeePerGasCap);
        var newest = history.OldestBlock + (ulong)Math.Max(history.GasUsedRatio.Count - 1, 0);
        return new EvmFeeEstimate(maxFee, tip, nextBaseFee, newest);
    }
}

public sealed class EvmFeeOptionsValidator : IValidateOptions<EvmFeeOptions>
{
    public static readonly EvmFeeOptionsValidator Instance = new();

    public ValidateOptionsResult Validate(string? name, EvmFeeOptions o)
    {
        var errors = new List<string>();
        if (o.HistoryBlocks is < 1 or > 1024) errors.Add("HistoryBlocks must be 1..1024.");
        if (o.PriorityFeePercentile is < 0 or > 100 || double.IsNaN(o.PriorityFeePercentile)) errors.Add("PriorityFeePercentile must be 0..100.");
        if (o.BaseFeeMultiplierPercent is < 100 or > 1000) errors.Add("BaseFeeMultiplierPercent must be 100..1000 (below 100 the transaction waits for the base fee to fall).");
        if (o.MinPriorityFeePerGas.Sign < 0) errors.Add("MinPriorityFeePerGas must not be negative.");
        if (o.MaxPriorityFeePerGas < o.MinPriorityFeePerGas) errors.Add("MaxPriorityFeePerGas must be at least MinPriorityFeePerGas.");
        if (o.MaxFeePerGasCap <= o.MinPriorityFeePerGas) errors.Add("MaxFeePerGasCap must be above MinPriorityFeePerGas.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
