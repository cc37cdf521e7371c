using System.Numerics;
using Microsoft.Extensions.Options;
using Molly.Chains.Evm;
using Molly.Chains.Rpc.Evm;
using Xunit;

namespace Molly.Deposits.Tests;

public sealed class AddressSetTests
{
    [Fact]
    public void Members_are_found_others_are_not_across_growth()
    {
        var rng = new Random(7);
        var set = new AddressSet(expectedCount: 16);
        var members = Enumerable.Range(0, 200_000).Select(_ => Bytes(rng)).ToList();
        foreach (var m in members) Assert.True(set.Add(m));
        Assert.Equal(members.Count, set.Count);
        Assert.All(members.Take(1000), m => Assert.False(set.Add(m)));
        Assert.Equal(members.Count, set.Count);
        Assert.All(members, m => Assert.True(set.Contains(m)));
        Assert.All(Enumerable.Range(0, 200_000).Select(_ => Bytes(rng)), o => Assert.False(set.Contains(o)));
    }

    [Fact]
    public void Addresses_that_share_a_prefix_or_a_tag_are_told_apart()
    {
        var set = new AddressSet();
        var a = new byte[20];
        var b = new byte[20];
        b[19] = 1; // same first 12 bytes: same slot and same tag
        Assert.True(set.Add(a));
        Assert.False(set.Contains(b));
        Assert.True(set.Add(b));
        Assert.True(set.Contains(a) && set.Contains(b));
    }

    [Fact]
    public void Hex_lookups_take_either_case_and_refuse_anything_else()
    {
        var set = new AddressSet();
        var address = EvmAddress.Parse("0x5FbDB2315678afecb367f032d93F642f64180aa3");
        set.Add(address.Bytes);
        Assert.True(set.ContainsHex("5fbdb2315678afecb367f032d93f642f64180aa3"));
        Assert.True(set.ContainsHex("5FBDB2315678AFECB367F032D93F642F64180AA3"));
        Assert.False(set.ContainsHex("5fbdb2315678afecb367f032d93f642f64180aa4"));
        Assert.False(set.ContainsHex("5fbdb2315678afecb367f032d93f642f64180aa"));
        Assert.False(set.ContainsHex("zzbdb2315678afecb367f032d93f642f64180aa3"));
        Assert.False(set.Contains(new byte[19]));
    }

    [Fact]
    public void A_million_addresses_take_under_40_bytes_each()
    {
        var rng = new Random(1);
        var set = new AddressSet();
        var buffer = new byte[20];
        for (var i = 0; i < 1_000_000; i++)
        {
            rng.NextBytes(buffer);
            set.Add(buffer);
        }
        Assert.Equal(1_000_000, set.Count);
        Assert.InRange(set.MemoryBytes / 1_000_000.0, 20, 40);
    }

    private static byte[] Bytes(Random rng)
    {
        var b = new byte[20];
        rng.NextBytes(b);
        return b;
    }
}

public sealed class TransferMatcherTests
{
    private static readonly EvmAddress Ours = EvmAddress.Parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");

    private static EvmLog Log(IReadOnlyList<string> topics, string data = "0x00000000000000000000000000000000000000000000000000000000000f4240", bool removed = false) =>
        new(DepositWorld.Token, topics, data, 5, "0x" + new string('a', 64), "0x" + new string('b', 64), 0, 3, removed);

    private static string Word(EvmAddress a) => "0x" + new string('0', 24) + Convert.ToHexStringLower(a.Bytes);

    [Fact]
    public void The_transfer_topic_is_keccak_of_the_event_signature()
    {
        Assert.Equal("0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef", TransferMatcher.TransferTopic);
    }

    [Fact]
    public void Only_well_formed_transfers_to_watched_addresses_of_registered_tokens_match()
    {
        var set = new AddressSet();
        set.Add(Ours.Bytes);
        var from = EvmAddress.Parse("0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
        var good = Log([TransferMatcher.TransferTopic, Word(from), Word(Ours)]);
        Assert.True(TransferMatcher.IsTransferToWatched(good, set));
        Assert.False(TransferMatcher.IsTransferToWatched(good with { Removed = true }, set));
        Assert.False(TransferMatcher.IsTransferToWatched(Log([TransferMatcher.TransferTopic, Word(Ours), Word(from)]), set));
        Assert.False(TransferMatcher.IsTransferToWatched(Log([TransferMatcher.TransferTopic, Word(from), "0x01" + Word(Ours)[4..]]), set));
        Assert.False(TransferMatcher.IsTransferToWatched(Log([TransferMatcher.TransferTopic, Word(from), Word(Ours), "0x"]), set));

        var block = new EvmBlock(5, "0x" + new string('a', 64), "0x" + new string('c', 64), DateTimeOffset.UnixEpoch, 1, []);
        var tokens = new Dictionary<EvmAddress, Domain.Asset> { [DepositWorld.Token] = DepositWorld.Assets.Assets.Single(a => a.Symbol == "USDT") };
        var found = Assert.Single(TransferMatcher.Match([block], [good, good with { Data = "0x01" }, good with { Address = DepositWorld.OtherToken }], set, null, tokens));
        Assert.Equal(new BigInteger(1_000_000), found.Amount);
        Assert.Equal(Ours, found.To);
        Assert.Equal(from, found.From);
        Assert.Equal("3", found.Index);
    }
}

public sealed class EvmWatcherOptionsTests
{
    private static ValidateOptionsResult Check(Action<EvmChainOptions> change)
    {
        var chain = DepositWorld.Options();
        change(chain);
        return new EvmWatcherOptionsValidator().Validate(null, new EvmWatcherOptions { Chains = [chain] });
    }

    [Fact]
    public void A_good_chain_passes_and_no_chain_at_all_is_fine()
    {
        Assert.True(Check(_ => { }).Succeeded);
        Assert.True(new EvmWatcherOptionsValidator().Validate(null, new EvmWatcherOptions()).Succeeded);
    }

    [Theory]
    [InlineData("chain")]
    [InlineData("network")]
    [InlineData("endpoints")]
    [InlineData("endpoint")]
    [InlineData("poll")]
    [InlineData("blocks")]
    [InlineData("window")]
    public void Bad_entries_fail_naming_the_setting(string what)
    {
        var result = Check(c =>
        {
            switch (what)
            {
                case "chain": c.Chain = "tron"; break;
                case "network": c.Network = "moon"; break;
                case "endpoints": c.Endpoints = []; break;
                case "endpoint": c.Endpoints = ["ftp://127.0.0.1"]; break;
                case "poll": c.PollIntervalMs = 0; break;
                case "blocks": c.MaxBlocksPerPass = 0; break;
                case "window": c.ReorgWindow = 1; break;
            }
        });
        Assert.True(result.Failed);
        Assert.Contains("Molly:Evm:Chains:0", result.FailureMessage);
    }
}
