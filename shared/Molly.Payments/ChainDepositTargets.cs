using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using Molly.Chains.Evm;
using Molly.Chains.Wallets;
using Molly.Domain;

namespace Molly.Payments;

/// <summary>
/// Deposit targets derived from each chain's account xpub (public keys only: no private key in this path), with the chain's
/// payment URI: EIP-681 on EVM chains, BIP21 on Bitcoin and Litecoin, and a plain "tron:" URI on Tron (Tron has no URI standard).
/// Every EVM chain shares the m/44'/60'/0' account, so one xpub serves Ethereum, BSC, Polygon and the local dev chain.
/// Solana deposits (a wallet plus a Solana Pay reference key) are not derived here yet and are refused.
/// <para>Addresses are derived <see cref="BlockSize"/> at a time (aligned blocks, one field inversion and one keyed HMAC per block
/// instead of per address) and the current block of each chain and network is kept: the allocator hands out consecutive indexes
/// from its own blocks of the same size, so most creates find their address already derived.</para>
/// </summary>
public sealed class ChainDepositTargets : IDepositTargetFactory
{
    /// <summary>Addresses derived together; the allocator's block size, so one allocator block is usually one derived block.</summary>
    public const int BlockSize = DepositAddressAllocator.DefaultBlockSize;

    private readonly IReadOnlyDictionary<string, string> _xpubs;
    private readonly ConcurrentDictionary<(string Chain, string Network), DepositAddressDeriver> _derivers = new();
    // By registry chain and network (not by deriver): each has its own allocator counter, so one cached block per key is enough
    // even where several EVM chains share one deriver.
    private readonly ConcurrentDictionary<(string Chain, string Network), DerivedBlock> _blocks = new();

    /// <param name="accountXpubs">Account xpub by deriver chain ("eth", "tron", "btc", "ltc"), or by chain and network
    /// ("btc:regtest") where a network needs its own account.</param>
    public ChainDepositTargets(IReadOnlyDictionary<string, string> accountXpubs) => _xpubs = accountXpubs;

    /// <summary>The deriver chain of a registry chain ("ethereum" -> "eth"), or null where addresses are not derived from an xpub.</summary>
    public static string? DeriverChain(Asset asset) => asset.Family switch
    {
        ChainFamily.Evm => "eth",
        ChainFamily.Tron => "tron",
        ChainFamily.Bitcoin => asset.Chain == "litecoin" ? "ltc" : "btc",
        _ => null,
    };

    public DepositTarget Create(Asset asset, long index, BigInteger amount, string label)
    {
        if (index is < 0 or >= 1L << 31) throw new ArgumentOutOfRangeException(nameof(index), "A non-hardened index is below 2^31.");
        var chain = DeriverChain(asset) ?? throw new NotSupportedException($"Deposit addresses on {asset.Chain} are not available yet.");
        var deriver = _derivers.GetOrAdd((chain, asset.Network), key =>
            DepositAddressDeriver.Create(key.Chain, key.Network,
                _xpubs.TryGetValue($"{key.Chain}:{key.Network}", out var xpub) || _xpubs.TryGetValue(key.Chain, out xpub)
                    ? xpub
                    : throw new InvalidOperationException($"No account xpub is configured for {key.Chain} ({key.Network}).")));
        var address = Address(deriver, (asset.Chain, asset.Network), (uint)index);
        return new DepositTarget(address, deriver.PathOf((uint)index).ToString(), Uri(asset, address, amount, label), null);
    }

    /// <summary>The address of <paramref name="index"/> from the cached block, deriving its aligned block on a miss. Racing misses
    /// may derive the same block twice (the same addresses); the last one stays cached.</summary>
    private string Address(DepositAddressDeriver deriver, (string, string) key, uint index)
    {
        if (_blocks.TryGetValue(key, out var block) && index - block.From < (uint)block.Addresses.Length)
            return block.Addresses[index - block.From];
        var from = index / BlockSize * BlockSize;
        block = new DerivedBlock(from, deriver.DeriveAddresses(from, (int)Math.Min(BlockSize, (1L << 31) - from)));
        _blocks[key] = block;
        return block.Addresses[index - from];
    }

    private sealed record DerivedBlock(uint From, string[] Addresses);

    private static string Uri(Asset asset, string address, BigInteger amount, string label) => asset.Family switch
    {
        ChainFamily.Evm when asset.Contract is null =>
            EvmPaymentUri.ForNative(EvmAddress.Parse(address), asset.EvmChainId!.Value, amount).ToString(),
        ChainFamily.Evm =>
            EvmPaymentUri.ForErc20(EvmAddress.Parse(asset.Contract), asset.EvmChainId!.Value, EvmAddress.Parse(address), amount).ToString(),
        // BIP21: the amount in whole coins as a decimal string, the label percent-encoded.
        ChainFamily.Bitcoin =>
            $"{asset.Chain}:{address}?amount={Amount.Format(amount, asset.Decimals)}&label={System.Uri.EscapeDataString(label)}",
        ChainFamily.Tron => asset.Contract is null
            ? $"tron:{address}?amount={Amount.Format(amount, asset.Decimals)}"
            : $"tron:{address}?amount={Amount.Format(amount, asset.Decimals)}&token={asset.Contract}",
        _ => throw new NotSupportedException($"No payment URI for {asset.Chain}."),
    };

    /// <summary>A new random account for local development: its mnemonic (kept by the caller in a private file) and the xpubs.</summary>
    public static (string Mnemonic, IReadOnlyDictionary<string, string> Xpubs) NewDevelopmentAccount(string? mnemonicText = null)
    {
        var mnemonic = mnemonicText is null
            ? Molly.Chains.Hd.Mnemonic.FromEntropy(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16))
            : Molly.Chains.Hd.Mnemonic.Parse(mnemonicText);
        var root = Molly.Chains.Hd.ExtKey.FromSeed(mnemonic.DeriveSeed());
        string Xpub(string path) => root.Derive(Molly.Chains.Hd.KeyPath.Parse(path)).Neuter().ToString(Molly.Chains.Hd.ExtKeyVersion.Xpub);
        string Tpub(string path) => root.Derive(Molly.Chains.Hd.KeyPath.Parse(path)).Neuter().ToString(Molly.Chains.Hd.ExtKeyVersion.Tpub);
        var xpubs = new Dictionary<string, string>
        {
            ["eth"] = Xpub("m/44'/60'/0'"),
            ["tron"] = Xpub("m/44'/195'/0'"),
            ["btc"] = Xpub("m/84'/0'/0'"),
            ["ltc"] = Xpub("m/84'/2'/0'"),
            ["btc:regtest"] = Tpub("m/84'/1'/0'"),
            ["btc:testnet"] = Tpub("m/84'/1'/0'"),
            ["ltc:regtest"] = Tpub("m/84'/1'/0'"),
        };
        return (mnemonic.ToString(), xpubs);
    }
}
