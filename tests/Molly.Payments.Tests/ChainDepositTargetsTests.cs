using System.Numerics;
using Molly.Chains.Wallets;
using Molly.Domain;

namespace Molly.Payments.Tests;

/// <summary>
/// The deposit targets derive addresses a block at a time and keep the current block per chain: whatever order indexes come
/// in, each address and path must be the one the single-address derivation gives for that index.
/// </summary>
public sealed class ChainDepositTargetsTests
{
    private static readonly AssetRegistry Assets = AssetRegistry.ForNetworks(["mainnet"]);
    private static readonly IReadOnlyDictionary<string, string> Xpubs =
        ChainDepositTargets.NewDevelopmentAccount("test test test test test test test test test test test junk").Xpubs;

    private static Asset Find(string chain, string symbol) =>
        Assets.TryFind(chain, symbol, out var asset, out var error) ? asset : throw new InvalidOperationException(error);

    [Fact]
    public void Addresses_and_paths_match_the_single_address_derivation_in_any_order()
    {
        var targets = new ChainDepositTargets(Xpubs);
        var usdt = Find("tron", "USDT");
        var tron = DepositAddressDeriver.Create("tron", "mainnet", Xpubs["tron"]);
        // Within a block, both sides of a block boundary, backwards, far away, a shard boundary (10,000 is not a multiple
        // of the block size), and back to a block seen before.
        long[] indexes = [0, 1, 31, 32, 33, 30, 95, 64, 9_999, 10_000, 10_001, 2, (1L << 31) - 1, 31];
        foreach (var index in indexes)
        {
            var target = targets.Create(usdt, index, BigInteger.One, "Order 1");
            var expected = tron.Derive((uint)index);
            Assert.Equal(expected.Address, target.Address);
            Assert.Equal(expected.Path.ToString(), target.DerivationPath);
            Assert.StartsWith($"tron:{expected.Address}?", target.PaymentUri, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Chains_that_share_one_deriver_interleave_without_mixing_their_blocks()
    {
        var targets = new ChainDepositTargets(Xpubs);
        var eth = DepositAddressDeriver.Create("eth", "mainnet", Xpubs["eth"]);
        var ethereum = Find("ethereum", "ETH");
        var bsc = Find("bsc", "BNB");
        for (var i = 0; i < 70; i++)
        {
            // Each chain has its own allocator, so their indexes advance independently over the same account.
            Assert.Equal(eth.Derive((uint)i).Address, targets.Create(ethereum, i, BigInteger.One, "a").Address, ignoreCase: true);
            Assert.Equal(eth.Derive((uint)(500 + i)).Address, targets.Create(bsc, 500 + i, BigInteger.One, "b").Address, ignoreCase: true);
        }
    }

    [Fact]
    public void Indexes_outside_the_non_hardened_range_are_refused()
    {
        var targets = new ChainDepositTargets(Xpubs);
        var usdt = Find("tron", "USDT");
        Assert.Throws<ArgumentOutOfRangeException>(() => targets.Create(usdt, -1, BigInteger.One, "x"));
        Assert.Throws<ArgumentOutOfRangeException>(() => targets.Create(usdt, 1L << 31, BigInteger.One, "x"));
    }
}
