using Microsoft.Extensions.Options;
using Molly.Domain;

namespace Molly.Deposits;

/// <summary>
/// The <c>Molly:Evm</c> section: the EVM chains this deployment follows. No chains: no watcher runs.
/// <code>"Molly": { "Evm": { "Chains": [ { "Chain": "ethereum", "Network": "local", "Endpoints": ["http://127.0.0.1:8545"] } ] } }</code>
/// </summary>
public sealed class EvmWatcherOptions
{
    public const string Section = "Molly:Evm";

    public List<EvmChainOptions> Chains { get; set; } = [];
}

public sealed class EvmChainOptions
{
    /// <summary>The asset registry's chain name ("ethereum", "bsc", "polygon").</summary>
    public string Chain { get; set; } = "";

    /// <summary>The asset registry's network ("mainnet", "local").</summary>
    public string Network { get; set; } = "mainnet";

    /// <summary>JSON-RPC endpoints, tried in order (fail-over is the RPC client's).</summary>
    public List<string> Endpoints { get; set; } = [];

    /// <summary>Pause between passes once the watcher has caught up with the head.</summary>
    public int PollIntervalMs { get; set; } = 1000;

    /// <summary>Blocks scanned at most per pass (one eth_getLogs call covers them).</summary>
    public int MaxBlocksPerPass { get; set; } = 500;

    /// <summary>First block to scan when the chain has no cursor yet; null: the head at first start.</summary>
    public long? StartBlock { get; set; }

    /// <summary>Block hashes kept in the cursor to find the common ancestor after a reorg; a deeper reorg stops the watcher
    /// (an operator decides).</summary>
    public int ReorgWindow { get; set; } = 128;

    /// <summary>How far back each incremental refresh of the watched-address index re-reads, to cover clock skew between
    /// processes, payment writes in flight and index (GSI) propagation.</summary>
    public int IndexRefreshOverlapSeconds { get; set; } = 120;

    /// <summary>A chain whose genesis block changed under the cursor (a dev chain started afresh) makes the watcher start over
    /// at the head instead of stopping. Null: true on the "local" network only; a real network never changes its genesis, so
    /// there it means the endpoint points elsewhere and the watcher stops.</summary>
    public bool? AllowChainReset { get; set; }

    public bool ChainResetAllowed => AllowChainReset ?? Network == "local";

    public string Name => $"{Chain}/{Network}";
}

/// <summary>Fails start-up on a bad chain entry: a chain/network without EVM assets in the deployment's registry (or, with no
/// registry given, the embedded one), no or bad endpoint, limits out of range, duplicates.</summary>
public sealed class EvmWatcherOptionsValidator(AssetRegistry? assets = null) : IValidateOptions<EvmWatcherOptions>
{
    public ValidateOptionsResult Validate(string? name, EvmWatcherOptions options)
    {
        var errors = new List<string>();
        var seen = new HashSet<(string, string)>();
        for (var i = 0; i < options.Chains.Count; i++)
        {
            var c = options.Chains[i];
            var at = $"Molly:Evm:Chains:{i}";
            if (!(assets?.Assets ?? AssetRegistry.Embedded).Any(a => a.Family == ChainFamily.Evm && a.Chain == c.Chain && a.Network == c.Network))
                errors.Add($"{at}: '{c.Chain}' on network '{c.Network}' has no EVM asset in the asset registry (Molly:Payments:Networks).");
            if (!seen.Add((c.Chain, c.Network)))
                errors.Add($"{at}: {c.Name} is configured twice.");
            if (c.Endpoints.Count == 0)
                errors.Add($"{at}:Endpoints needs at least one JSON-RPC URL.");
            foreach (var e in c.Endpoints)
                if (!Uri.TryCreate(e, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                    errors.Add($"{at}:Endpoints: '{e}' is not an absolute http(s) URL.");
            if (c.PollIntervalMs is < 50 or > 600_000)
                errors.Add($"{at}:PollIntervalMs must be 50..600000.");
            if (c.MaxBlocksPerPass is < 1 or > 10_000)
                errors.Add($"{at}:MaxBlocksPerPass must be 1..10000.");
            if (c.StartBlock is < 0)
                errors.Add($"{at}:StartBlock must not be negative.");
            if (c.ReorgWindow is < 2 or > 4096)
                errors.Add($"{at}:ReorgWindow must be 2..4096.");
            if (c.IndexRefreshOverlapSeconds is < 0 or > 86_400)
                errors.Add($"{at}:IndexRefreshOverlapSeconds must be 0..86400.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
