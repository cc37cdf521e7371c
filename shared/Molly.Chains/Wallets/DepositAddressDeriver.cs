using Molly.Chains.Bitcoin;
using Molly.Chains.Hd;

namespace Molly.Chains.Wallets;

/// <summary>One derived deposit address.</summary>
public sealed record DerivedAddress(uint Index, KeyPath Path, string Address);

/// <summary>
/// Turns (account xpub, index) into the deposit address: the account xpub is m/84'/coin'/account' and the
/// address is its receive child 0/index. Public keys only: no private key ever enters this path.
/// </summary>
public sealed class Bip84DepositDeriver
{
    private readonly ExtPubKey _receive;
    private readonly KeyPath _receivePath;

    public Bip84DepositDeriver(Network network, string accountXpub, KeyPath? accountPath = null)
    {
        Network = network ?? throw new ArgumentNullException(nameof(network));
        var account = ExtPubKey.Parse(accountXpub, network.AcceptedExtKeyVersions);
        if (account.Depth != 3)
            throw new ArgumentException($"Expected an account-level extended public key (depth 3, m/84'/{network.CoinType}'/0'); this one has depth {account.Depth}.", nameof(accountXpub));
        AccountPath = accountPath ?? network.Bip84AccountPath(account.Child & ~KeyPath.HardenedBit);
        _receive = account.Derive(0);
        _receivePath = AccountPath.Derive(0);
    }

    public Network Network { get; }

    public KeyPath AccountPath { get; }

    public DerivedAddress Derive(uint index)
    {
        var key = _receive.Derive(index);
        return new DerivedAddress(index, _receivePath.Derive(index), BitcoinAddress.FromPublicKey(key.PublicKey, Network).Value);
    }

    /// <summary>Derives <paramref name="count"/> addresses from <paramref name="from"/>, in index order, using every core.</summary>
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
