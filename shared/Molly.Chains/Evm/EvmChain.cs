using System.Diagnostics.CodeAnalysis;

namespace Molly.Chains.Evm;

/// <summary>An EVM network: its EIP-155 chain id and native currency. Networks are data, not code paths.</summary>
public sealed record EvmChain(string Name, long ChainId, string NativeSymbol, int NativeDecimals = 18)
{
    public static readonly EvmChain Ethereum = new("ethereum", 1, "ETH");
    public static readonly EvmChain Sepolia = new("sepolia", 11155111, "ETH");
    public static readonly EvmChain Bsc = new("bsc", 56, "BNB");
    public static readonly EvmChain Polygon = new("polygon", 137, "POL");
    /// <summary>Hardhat / anvil local development chain.</summary>
    public static readonly EvmChain LocalDev = new("local", 31337, "ETH");

    public static IReadOnlyList<EvmChain> Known { get; } = [Ethereum, Sepolia, Bsc, Polygon, LocalDev];

    public static bool TryFromChainId(long chainId, [MaybeNullWhen(false)] out EvmChain chain)
    {
        chain = Known.FirstOrDefault(c => c.ChainId == chainId);
        return chain is not null;
    }

    public static bool TryFromName(string? name, [MaybeNullWhen(false)] out EvmChain chain)
    {
        chain = Known.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase));
        return chain is not null;
    }
}
