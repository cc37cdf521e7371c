using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Molly.Domain;

public enum ChainFamily { Evm, Tron, Solana, Bitcoin }

/// <summary>
/// One asset on one chain and network: its decimals, its token contract or mint (null for the chain's native coin) and the
/// number of confirmations after which a deposit counts by default. A merchant may require more, never fewer.
/// </summary>
public sealed record Asset(
    string Chain,
    string Network,
    ChainFamily Family,
    long? EvmChainId,
    string Symbol,
    int Decimals,
    string? Contract,
    int Confirmations)
{
    public bool IsNative => Contract is null;

    /// <summary>The asset's id within its network, as merchants name it: "USDT@tron".</summary>
    public string Id => $"{Symbol}@{Chain}";
}

/// <summary>
/// The assets the gateway knows, as data (Assets/assets.json, embedded), for the network a deployment runs on
/// (mainnet in production; local/regtest on one machine). Entries can be added at start-up (the local dev chain's test token
/// gets its contract address only when it is deployed).
/// </summary>
public sealed class AssetRegistry
{
    private readonly FrozenDictionary<(string Chain, string Symbol), Asset> _byChainAndSymbol;

    public AssetRegistry(IEnumerable<Asset> assets)
    {
        var list = assets.ToList();
        foreach (var a in list) Validate(a);
        var duplicates = list.GroupBy(a => (a.Chain, a.Symbol)).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0)
            throw new ArgumentException($"Asset {duplicates[0].Symbol}@{duplicates[0].Chain} is listed twice.", nameof(assets));
        _byChainAndSymbol = list.ToFrozenDictionary(a => (a.Chain, a.Symbol));
        Assets = list;
    }

    public IReadOnlyList<Asset> Assets { get; }

    /// <summary>Every asset embedded in the registry file, across networks.</summary>
    public static IReadOnlyList<Asset> Embedded { get; } = LoadEmbedded();

    /// <summary>
    /// The registry for the given networks (e.g. "mainnet"), optionally with extra or replacing entries. When two networks
    /// list one chain's asset, the later network wins: ["mainnet", "local"] (what configuration binding makes of a default
    /// "mainnet" plus a configured "local") pays ETH and USDT on ethereum through the local dev chain and keeps the other chains.
    /// </summary>
    public static AssetRegistry ForNetworks(IEnumerable<string> networks, IEnumerable<Asset>? extra = null)
    {
        var chosen = new List<Asset>();
        foreach (var network in networks.Distinct(StringComparer.Ordinal))
            foreach (var a in Embedded.Where(a => a.Network == network))
            {
                chosen.RemoveAll(c => c.Chain == a.Chain && c.Symbol == a.Symbol);
                chosen.Add(a);
            }
        foreach (var e in extra ?? [])
        {
            chosen.RemoveAll(a => a.Chain == e.Chain && a.Symbol == e.Symbol);
            chosen.Add(e);
        }
        return new AssetRegistry(chosen);
    }

    /// <summary>Finds an asset by chain and symbol; the error says which is wrong (an unknown asset, or a known one on another chain).</summary>
    public bool TryFind(string? chain, string? symbol, [NotNullWhen(true)] out Asset? asset, [NotNullWhen(false)] out string? error)
    {
        asset = null;
        if (string.IsNullOrWhiteSpace(symbol)) { error = "The asset is missing."; return false; }
        if (string.IsNullOrWhiteSpace(chain)) { error = "The chain is missing."; return false; }
        if (_byChainAndSymbol.TryGetValue((chain, symbol), out asset)) { error = null; return true; }

        var chainsWithSymbol = Assets.Where(a => a.Symbol == symbol).Select(a => a.Chain).ToList();
        if (chainsWithSymbol.Count == 0)
            error = $"Unknown asset '{symbol}'.";
        else if (Assets.All(a => a.Chain != chain))
            error = $"Unknown chain '{chain}'.";
        else
            error = $"Asset '{symbol}' is not available on chain '{chain}'; it is on: {string.Join(", ", chainsWithSymbol)}.";
        return false;
    }

    private static void Validate(Asset a)
    {
        if (string.IsNullOrWhiteSpace(a.Chain) || string.IsNullOrWhiteSpace(a.Symbol) || string.IsNullOrWhiteSpace(a.Network))
            throw new ArgumentException("An asset needs a chain, a network and a symbol.");
        if (a.Decimals is < 0 or > 36)
            throw new ArgumentException($"Asset {a.Id} has {a.Decimals} decimals; 0 to 36 are allowed.");
        if (a.Confirmations < 1)
            throw new ArgumentException($"Asset {a.Id} needs at least one confirmation.");
        if (a.Family == ChainFamily.Evm && a.EvmChainId is null)
            throw new ArgumentException($"EVM asset {a.Id} needs a chain id.");
    }

    private static List<Asset> LoadEmbedded()
    {
        using var stream = typeof(AssetRegistry).Assembly.GetManifestResourceStream("Molly.Domain.assets.json")
            ?? throw new InvalidOperationException("The embedded asset registry is missing.");
        var file = JsonSerializer.Deserialize(stream, DomainJsonContext.Default.AssetFile)
            ?? throw new InvalidOperationException("The embedded asset registry is empty.");
        return file.Assets.ToList();
    }
}

internal sealed record AssetFile(IReadOnlyList<Asset> Assets);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow)]
[JsonSerializable(typeof(AssetFile))]
internal sealed partial class DomainJsonContext : JsonSerializerContext;
