using System.Numerics;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Molly.ChainWatcher;
using Molly.Chains.Evm;
using Molly.Chains.Rpc.Evm;
using Molly.Storage.Sqlite;
using Xunit;

namespace Molly.Deposits.Tests;

/// <summary>The Lambda entry, replaying events-samples/chain-watcher/*.json over a SQLite store and a scripted chain.</summary>
public sealed class ChainWatcherFunctionTests : IAsyncLifetime
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"molly-chainwatcher-fn-{Guid.NewGuid():N}.db");
    private SqliteItemStore _store = null!;

    public Task InitializeAsync()
    {
        _store = SqliteItemStore.Open(new SqliteItemStoreOptions { Path = _path });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        File.Delete(_path);
    }

    private sealed class OneChain(IEvmRpc rpc) : IEvmRpcFactory
    {
        public IEvmRpc Create(EvmChainOptions chain) => rpc;
    }

    private static Stream Sample(string name) => File.OpenRead(Path.Combine(AppContext.BaseDirectory, "events-samples", "chain-watcher", name));

    [Fact]
    public async Task The_scheduled_event_runs_a_bounded_catch_up_per_chain_and_answers_what_it_did()
    {
        var world = new DepositWorld(_store);
        var payment = await world.PayableAsync("USDT", "7");
        var chain = new ScriptedChain();
        chain.Mine();
        chain.Mine(new ScriptedTransfer(EvmAddress.Parse(payment.Address), 7_000_000, DepositWorld.Token));
        chain.Mine();
        var metrics = new StringWriter();
        var runtime = new WatcherRuntime(_store, new OneChain(chain), new EvmWatcherOptions { Chains = [DepositWorld.Options(maxBlocks: 2)] },
            DepositWorld.Assets, world.Clock, NullLoggerFactory.Instance, TimeSpan.FromSeconds(30), "dev", metrics);
        var function = new Function(runtime);

        using var output = JsonDocument.Parse(await function.Handle(Sample("scheduled.json")));
        var result = output.RootElement;
        Assert.Equal("53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", result.GetProperty("eventId").GetString());
        var only = Assert.Single(result.GetProperty("chains").EnumerateArray());
        Assert.Equal("ethereum/local", only.GetProperty("chain").GetString());
        Assert.Equal(3, only.GetProperty("blocks").GetInt32());     // blocks 1..3 in passes of at most 2
        Assert.Equal(2, only.GetProperty("passes").GetInt32());
        Assert.Equal(1, only.GetProperty("deposits").GetInt32());
        Assert.True(only.GetProperty("caughtUp").GetBoolean());
        Assert.Equal("confirming", (await world.PaymentAsync(payment.Id))!.GetString("status"));
        using (var emf = JsonDocument.Parse(metrics.ToString().Trim()))
        {
            var directive = emf.RootElement.GetProperty("_aws").GetProperty("CloudWatchMetrics")[0];
            Assert.Equal("Molly", directive.GetProperty("Namespace").GetString());
            Assert.Equal("ChainWatcherLagSeconds", directive.GetProperty("Metrics")[0].GetProperty("Name").GetString());
            Assert.Equal("dev", emf.RootElement.GetProperty("Environment").GetString());
            Assert.Equal(0, emf.RootElement.GetProperty("ChainWatcherLagSeconds").GetDouble());
        }

        // The next minute: nothing new, nothing repeated.
        using var again = JsonDocument.Parse(await function.Handle(Sample("scheduled.json")));
        var second = again.RootElement.GetProperty("chains")[0];
        Assert.Equal(0, second.GetProperty("blocks").GetInt32());
        Assert.Equal(0, second.GetProperty("deposits").GetInt32());
        Assert.Single(await world.DepositsAsync());
    }

    [Fact]
    public async Task Another_event_is_refused_and_nothing_is_scanned()
    {
        var chain = new ScriptedChain();
        chain.Mine(new ScriptedTransfer(EvmAddress.Parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), BigInteger.One));
        var runtime = new WatcherRuntime(_store, new OneChain(chain), new EvmWatcherOptions { Chains = [DepositWorld.Options()] },
            DepositWorld.Assets, TimeProvider.System, NullLoggerFactory.Instance, TimeSpan.FromSeconds(30));
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => new Function(runtime).Handle(Sample("not-a-schedule.json")));
        Assert.Contains("aws.s3", error.Message);
        Assert.Null(await _store.GetAsync(DepositKeys.Cursor("ethereum", "local")));
    }

    [Fact]
    public void Bad_configuration_fails_when_the_instance_starts()
    {
        var bad = DepositWorld.Options();
        bad.Endpoints = [];
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new WatcherRuntime(_store, new OneChain(new ScriptedChain()),
            new EvmWatcherOptions { Chains = [bad] }, DepositWorld.Assets, TimeProvider.System, NullLoggerFactory.Instance, TimeSpan.FromSeconds(30)));
    }
}
