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
    /// <summary>Addresses per parallel work item: the batch that shares one field inversion.</summary>
    private const int Chunk = ChildPublicKeys.MaxBlock;

    private readonly ExtPubKey _receive;
    private readonly KeyPath _receivePath;
    private readonly PublicKeyAddress _address;

    /// <summary>The address of a 65-byte uncompressed SEC1 public key.</summary>
    private delegate string PublicKeyAddress(ReadOnlySpan<byte> uncompressed);

    private DepositAddressDeriver(string chain, ExtPubKey account, KeyPath accountPath, PublicKeyAddress address)
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
                return new DepositAddressDeriver(net.Chain, account, net.Bip84AccountPath(account.Child & ~KeyPath.HardenedBit), PublicKeyAddressFunction(chain, network));
            }

            case "eth":
            {
                var account = ParseAccount(accountXpub, [ExtKeyVersion.Xpub, ExtKeyVersion.Tpub]);
                return new DepositAddressDeriver("eth", account, Bip44AccountPath(60, account), PublicKeyAddressFunction(chain, network));
            }

            case "tron":
            {
                var account = ParseAccount(accountXpub, [ExtKeyVersion.Xpub, ExtKeyVersion.Tpub]);
                return new DepositAddressDeriver("tron", account, Bip44AccountPath(195, account), PublicKeyAddressFunction(chain, network));
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
        var address = PublicKeyAddressFunction(chain, network);
        return k => address(k.GetPublicKey(compressed: false));
    }

    private static PublicKeyAddress PublicKeyAddressFunction(string chain, string network)
    {
        switch (chain.ToLowerInvariant())
        {
            case "btc" or "ltc":
                var net = Network.Get(chain.ToLowerInvariant(), network);
                return uncompressed =>
                {
                    Span<byte> compressed = stackalloc byte[33];
                    compressed[0] = (byte)(0x02 | (uncompressed[64] & 1));
                    uncompressed[1..33].CopyTo(compressed[1..]);
                    return BitcoinAddress.FromPublicKey(compressed, net).Value;
                };
            case "eth":
                return uncompressed => EvmAddress.FromPublicKey(uncompressed).ToString();
            case "tron":
                return uncompressed => TronAddress.FromEvm(EvmAddress.FromPublicKey(uncompressed)).ToBase58();
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
    {
        using var children = new ChildPublicKeys(_receive);
        Span<byte> key = stackalloc byte[ChildPublicKeys.KeySize];
        children.Derive(index, 1, key);
        return new(index, PathOf(index), _address(key));
    }

    /// <summary>The full derivation path of receive index <paramref name="index"/> (account path/0/index).</summary>
    public KeyPath PathOf(uint index) => _receivePath.Derive(index);

    /// <summary>Derives <paramref name="count"/> addresses from <paramref name="from"/>, in index order, on every core.</summary>
    public DerivedAddress[] DeriveRange(uint from, int count, Action<int>? progress = null, CancellationToken cancellationToken = default)
    {
        var addresses = DeriveAddresses(from, count, progress, cancellationToken);
        var result = new DerivedAddress[count];
        for (var i = 0; i < count; i++) result[i] = new DerivedAddress(from + (uint)i, PathOf(from + (uint)i), addresses[i]);
        return result;
    }

    /// <summary>
    /// The addresses alone of indexes <paramref name="from"/>.. in order: blocks of 256 children share one field inversion.
    /// Up to one block is derived on the caller's thread (the payments API derives a few dozen at a time); more go on every core,
    /// each worker thread keeping its own keyed HMAC. <paramref name="progress"/> gets each block's count.
    /// </summary>
    public string[] DeriveAddresses(uint from, int count, Action<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if ((ulong)from + (ulong)count > KeyPath.HardenedBit) throw new ArgumentOutOfRangeException(nameof(count), "Indexes must stay below 2^31.");
        var result = new string[count];
        var chunks = (count + Chunk - 1) / Chunk;
        if (chunks == 1)
        {
            using var children = new ChildPublicKeys(_receive);
            DeriveChunk(children, from, 0, count, result, progress);
            return result;
        }
        Parallel.For(
            0,
            chunks,
            new ParallelOptions { CancellationToken = cancellationToken },
            () => new ChildPublicKeys(_receive),
            (c, _, children) =>
            {
                DeriveChunk(children, from, c * Chunk, count, result, progress);
                return children;
            },
            children => children.Dispose());
        return result;
    }

    /// <summary>Addresses of indexes from + start .. (at most one block, not past <paramref name="count"/>) into result[start..].</summary>
    private void DeriveChunk(ChildPublicKeys children, uint from, int start, int count, string[] result, Action<int>? progress)
    {
        var n = Math.Min(count, start + Chunk) - start;
        Span<byte> keys = stackalloc byte[Chunk * ChildPublicKeys.KeySize];
        children.Derive(from + (uint)start, n, keys);
        for (var i = 0; i < n; i++) result[start + i] = _address(keys.Slice(i * ChildPublicKeys.KeySize, ChildPublicKeys.KeySize));
        progress?.Invoke(n);
    }

    /// <summary>
    /// Writes "index,address" lines for <paramref name="count"/> indexes from <paramref name="from"/> (what
    /// `molly wallets generate` writes): blocks of 65,536 derived on every core, written in order by the caller's thread.
    /// </summary>
    public void WriteRange(TextWriter writer, uint from, int count, Action<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writer);
        const int block = 1 << 16;
        Span<char> number = stackalloc char[16];
        for (var done = 0; done < count; done += block)
        {
            var n = Math.Min(block, count - done);
            var addresses = DeriveAddresses(from + (uint)done, n, progress, cancellationToken);
            for (var i = 0; i < n; i++)
            {
                (from + (uint)(done + i)).TryFormat(number, out var written, provider: System.Globalization.CultureInfo.InvariantCulture);
                writer.Write(number[..written]);
                writer.Write(',');
                writer.Write(addresses[i]);
                writer.Write('\n');
            }
        }
    }
}
