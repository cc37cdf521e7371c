using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using Molly.Chains.Evm;
using Molly.Chains.Hd;
using Molly.Chains.Solana;
using Molly.Chains.Wallets;
using Molly.Domain;

namespace Molly.Payments;

/// <summary>
/// Deposit targets derived from each chain's account xpub (public keys only: no private key in this path), with the chain's
/// payment URI: EIP-681 on EVM chains, BIP21 on Bitcoin and Litecoin, and a plain "tron:" URI on Tron (Tron has no URI standard).
/// Every EVM chain shares the m/44'/60'/0' account, so one xpub serves Ethereum, BSC, Polygon and the local dev chain.
/// Solana has no public derivation (SLIP-10 ed25519 is hardened only), so a Solana payment goes to its shard's receiving wallet
/// (configured by public key) and is told apart by a fresh random Solana Pay reference key.
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
    private readonly Dictionary<string, SolanaAddress[]> _solanaRecipients;
    private readonly ConcurrentDictionary<(SolanaAddress Owner, SolanaAddress Mint), SolanaAddress> _tokenAccounts = new();

    /// <summary>The SLIP-10 path of shard <c>s</c>'s Solana receiving wallet: the account level is the shard, as Phantom and
    /// Solflare number accounts (m/44'/501'/account'/0'), and what `molly keys derive --chain sol` gives for index s.</summary>
    public static string SolanaShardPath(long shard) => $"m/44'/501'/{shard}'/0'";

    /// <param name="accountXpubs">Account xpub by deriver chain ("eth", "tron", "btc", "ltc"), or by chain and network
    /// ("btc:regtest") where a network needs its own account.</param>
    /// <param name="solanaRecipients">By Solana network ("mainnet"), the receiving wallet (base58 public key) of each shard, shard 0
    /// first. A network without any has no Solana deposits; a shard beyond the list cannot take a payment.</param>
    public ChainDepositTargets(IReadOnlyDictionary<string, string> accountXpubs, IReadOnlyDictionary<string, IReadOnlyList<string>>? solanaRecipients = null)
    {
        _xpubs = accountXpubs;
        _solanaRecipients = (solanaRecipients ?? new Dictionary<string, IReadOnlyList<string>>()).ToDictionary(
            kv => kv.Key,
            kv => kv.Value.Select((text, shard) => TryParseSolanaRecipient(text, out var a, out var error)
                ? a : throw new ArgumentException($"Solana recipient of shard {shard} on {kv.Key}: {error}", nameof(solanaRecipients))).ToArray());
    }

    /// <summary>A receiving wallet is a base58 ed25519 public key on the curve: a program address (off the curve) has no private
    /// key to sweep it with, and its associated token accounts are not what wallets derive for a Solana Pay recipient.</summary>
    public static bool TryParseSolanaRecipient(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SolanaAddress? address, out string error)
    {
        if (!SolanaAddress.TryParse(text, out address, out error)) return false;
        if (address.IsOnCurve()) return true;
        error = $"Solana address '{text}' is off the ed25519 curve (a program address), not a wallet.";
        address = null;
        return false;
    }

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
        if (asset.Family == ChainFamily.Solana) return Solana(asset, AddressShards.ShardOf(index), amount, label);
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

    /// <summary>
    /// Solana Pay transfer request to the shard's wallet with one fresh reference: 32 bytes from the CSPRNG (the spec allows any
    /// 32 bytes, on the curve or not), which the payer's wallet adds as a read-only key to the transfer, so the payment's
    /// transaction is found by the reference alone. SPL tokens go to the wallet's associated token account (the wallet derives
    /// it from recipient and spl-token; it is kept here for the watcher). The order text is the request's message; no memo,
    /// which would put it on chain.
    /// </summary>
    private DepositTarget Solana(Asset asset, long shard, BigInteger amount, string label)
    {
        if (!_solanaRecipients.TryGetValue(asset.Network, out var recipients) || recipients.Length == 0)
            throw new NotSupportedException($"Solana deposits on {asset.Network} are not configured on this deployment.");
        if (shard >= recipients.Length)
            throw new InvalidOperationException(
                $"Solana shard {shard} on {asset.Network} has no receiving wallet: {recipients.Length} are configured (Molly:Payments:SolanaRecipients).");
        var recipient = recipients[shard];
        var mint = asset.Contract is null ? null : SolanaAddress.Parse(asset.Contract);
        var tokenAccount = mint is null ? null
            : _tokenAccounts.GetOrAdd((recipient, mint), k => SolanaAddress.AssociatedTokenAddress(k.Owner, k.Mint));
        var reference = SolanaAddress.FromBytes(RandomNumberGenerator.GetBytes(SolanaAddress.Length));
        var uri = new SolanaPayUri(recipient, amount, asset.Decimals, mint, [reference], Message: label);
        return new DepositTarget(recipient.ToString(), SolanaShardPath(shard), uri.ToString(), reference.ToString(), tokenAccount?.ToString());
    }

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

    /// <summary>Solana shards given a receiving wallet by <see cref="NewDevelopmentAccount"/>: 640,000 Solana payments per network.</summary>
    public const int DevelopmentSolanaShards = 64;

    /// <summary>A new random account for local development: its mnemonic (kept by the caller in a private file), the xpubs, and the
    /// public keys of the Solana receiving wallets of the first <see cref="DevelopmentSolanaShards"/> shards.</summary>
    public static (string Mnemonic, IReadOnlyDictionary<string, string> Xpubs, IReadOnlyList<string> SolanaRecipients) NewDevelopmentAccount(
        string? mnemonicText = null)
    {
        var mnemonic = mnemonicText is null
            ? Mnemonic.FromEntropy(RandomNumberGenerator.GetBytes(16))
            : Mnemonic.Parse(mnemonicText);
        var seed = mnemonic.DeriveSeed();
        var root = ExtKey.FromSeed(seed);
        string Xpub(string path) => root.Derive(KeyPath.Parse(path)).Neuter().ToString(ExtKeyVersion.Xpub);
        string Tpub(string path) => root.Derive(KeyPath.Parse(path)).Neuter().ToString(ExtKeyVersion.Tpub);
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
        var solanaRoot = Slip10Ed25519.FromSeed(seed);
        var solana = Enumerable.Range(0, DevelopmentSolanaShards)
            .Select(shard => SolanaAddress.FromBytes(solanaRoot.Derive(KeyPath.Parse(SolanaShardPath(shard))).PublicKey).ToString())
            .ToList();
        return (mnemonic.ToString(), xpubs, solana);
    }
}
