using Molly.Chains.Bitcoin;
using Molly.Chains.Evm;
using Molly.Chains.Hd;
using Molly.Chains.Tron;

namespace Molly.Chains.Wallets;

/// <summary>One derived deposit address.</summary>
public sealed record DerivedAddress(uint Index, KeyPath Path, string Address);

/// <summary>
/// Turns (account xpub, index) into a deposit address: the account xpub sits at m/purpose'/coin'/account'
/// and the address is its receive child 0/index. Public keys only: no private key ever enters this path.
/// btc/ltc give P2WPKH (BIP84), eth keccak(X||Y)[12..], tron 0x41 || that, Base58Check. Solana cannot derive
/// from an xpub (SLIP-10 ed25519 is hardened only).
/// </summary>
public sealed class DepositAddressDeriver
{
    private readonly ExtPubKey _receive;
    private readonly KeyPath _receivePath;
    private readonly Func<ExtPubKey, string> _address;

    private DepositAddressDeriver(string chain, ExtPubKey account, KeyPath accountPath, Func<ExtPubKey, string> address)
    {
        Chain = chain;
        AccountPath = accountPath;
        _receive = account.Derive(0);
        _receivePath = accountPath.Derive(0);
        _address = address;
    }

    public string Chain { get; }

    public KeyPath AccountPath { get; }

    /// <summary>Builds the deriver for <paramref name="chain"/>; <paramref name="network"/> matters for btc/ltc (mainnet, testnet, regtest).</summary>
    /// <exception cref="FormatException">Malformed xpub, or an xpub of another network.</exception>
    /// <exception cref="ArgumentException">Unknown chain/network, or an xpub that is not at account depth.</exception>
    public static DepositAddressDeriver Create(string chain, string network, string accountXpub)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(chain);
        switch (chain.ToLowerInvariant())
        {
            case "btc" or "ltc":
            {
                var net = Network.Get(chain.ToLowerInvariant(), network);
                var account = ParseAccount(accountXpub, net.AcceptedExtKeyVersions);
                return new DepositAddressDeriver(net.Chain, account, net.Bip84AccountPath(account.Child & ~KeyPath.HardenedBit), AddressFunction(chain, network));
            }

            case "eth":
            {
                var account = ParseAccount(accountXpub, [ExtKeyVersion.Xpub, ExtKeyVersion.Tpub]);
                return new DepositAddressDeriver("eth", account, Bip44AccountPath(60, account), AddressFunction(chain, network));
            }

            case "tron":
            {
                var account = ParseAccount(accountXpub, [ExtKeyVersion.Xpub, ExtKeyVersion.Tpub]);
                return new DepositAddressDeriver("tron", account, Bip44AccountPath(195, account), AddressFunction(chain, network));
            }

            case "sol":
                throw new ArgumentException("Solana addresses cannot be derived from an xpub: SLIP-10 ed25519 is hardened only. Derive from the mnemonic instead.");
            default:
                throw new ArgumentException($"Unknown chain '{chain}'; expected btc, ltc, eth, tron or sol.");
        }
    }

    /// <summary>The address of a secp256k1 key on <paramref name="chain"/> (btc, ltc, eth, tron).</summary>
    public static Func<ExtPubKey, string> AddressFunction(string chain, string network)
    {
        switch (chain.ToLowerInvariant())
        {
            case "btc" or "ltc":
                var net = Network.Get(chain.ToLowerInvariant(), network);
                return k => BitcoinAddress.FromPublicKey(k.PublicKey, net).Value;
            case "eth":
                return k => EvmAddress.FromPublicKey(k.GetPublicKey(compressed: false)).ToString();
            case "tron":
                return k => TronAddress.FromEvm(EvmAddress.FromPublicKey(k.GetPublicKey(compressed: false))).ToBase58();
            default:
                throw new ArgumentException($"Chain '{chain}' has no secp256k1 address; expected btc, ltc, eth or tron.");
        }
    }

    private static KeyPath Bip44AccountPath(uint coin, ExtPubKey account)
        => new(44 | KeyPath.HardenedBit, coin | KeyPath.HardenedBit, account.Child | KeyPath.HardenedBit);

    private static ExtPubKey ParseAccount(string xpub, IReadOnlyList<ExtKeyVersion> allowed)
    {
        var account = ExtPubKey.Parse(xpub, allowed);
        if (account.Depth != 3)
            throw new ArgumentException($"Expected an account-level extended public key (depth 3, m/purpose'/coin'/account'); this one has depth {account.Depth}.");
        if (!KeyPath.IsHardened(account.Child))
            throw new ArgumentException("Expected an account-level extended public key: its own index must be hardened.");
        return account;
    }

    public DerivedAddress Derive(uint index)
        => new(index, _receivePath.Derive(index), _address(_receive.Derive(index)));

    /// <summary>Derives <paramref name="count"/> addresses from <paramref name="from"/>, in index order, on every core.</summary>
    public DerivedAddress[] DeriveRange(uint from, int count, Action<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if ((ulong)from + (ulong)count > KeyPath.HardenedBit) throw new ArgumentOutOfRangeException(nameof(count), "Indexes must stay below 2^31.");
        var result = new DerivedAddress[count];
        const int chunk = 1024;
        var chunks = (count + chunk - 1) / chunk;
        Parallel.For(0, chunks, new ParallelOptions { CancellationToken = cancellationToken }, c =>
        {
            var start = c * chunk;
            var end = Math.Min(count, start + chunk);
            for (var i = start; i < end; i++) result[i] = Derive(from + (uint)i);
            progress?.Invoke(end - start);
        });
        return result;
    }
}
