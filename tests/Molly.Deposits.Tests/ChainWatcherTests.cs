using System.Globalization;
using System.Numerics;
using Molly.Chains.Evm;
using Molly.Storage;
using Molly.Storage.Sqlite;
using Molly.Testing;
using Xunit;

namespace Molly.Deposits.Tests;

/// <summary>
/// The chain watcher's logic against a scripted chain and a real store (SQLite and DynamoDB Local): matching, one record per
/// deposit, the payment transition and outbox event in the same transaction, reorgs, restarts and crashes at every write.
/// </summary>
public abstract class ChainWatcherTests : IAsyncLifetime
{
    private DepositWorld _world = null!;

    protected abstract Task<IItemStore> CreateStoreAsync();

    public async Task InitializeAsync() => _world = new DepositWorld(await CreateStoreAsync());

    public async Task DisposeAsync()
    {
        if (_world.Store is IAsyncDisposable d) await d.DisposeAsync();
    }

    private static EvmAddress A(string address) => EvmAddress.Parse(address);

    [Fact]
    public async Task Native_and_token_deposits_are_recorded_once_with_the_payment_confirming_and_an_outbox_event()
    {
        var eth = await _world.PayableAsync("ETH", "0.5");
        var usdt = await _world.PayableAsync("USDT", "12.5");
        var chain = new ScriptedChain();
        var stranger = A("0x1111111111111111111111111111111111111111");
        var ethTx = ScriptedChain.RandomHash();
        var usdtTx = ScriptedChain.RandomHash();
        chain.Mine(new ScriptedTransfer(stranger, 5), new ScriptedTransfer(A(eth.Address), BigInteger.Parse("500000000000000000"), TxHash: ethTx));
        chain.Mine(
            new ScriptedTransfer(stranger, 7, DepositWorld.Token),                                   // not ours
            new ScriptedTransfer(A(usdt.Address), 0, DepositWorld.Token),                            // zero value: poisoning noise
            new ScriptedTransfer(A(usdt.Address), 99, DepositWorld.OtherToken),                      // a token the registry does not know
            new ScriptedTransfer(A(usdt.Address), 1) { RawLog = (["0xdeadbeef"], "0x") },            // not a Transfer
            new ScriptedTransfer(A(usdt.Address), 12_500_000, DepositWorld.Token, usdtTx));          // log index 4
        chain.Mine();

        var watcher = _world.Watcher(chain);
        var passes = await watcher.CatchUpAsync(10, TimeSpan.FromMinutes(1), default);
        Assert.Equal(2, passes.Sum(p => p.Deposits));
        Assert.True(passes[^1].CaughtUp);

        var ethDeposit = await _world.DepositAsync($"ethereum#{ethTx}#n1");
        Assert.NotNull(ethDeposit);
        Assert.Equal(DepositStatus.Detected, ethDeposit.GetString("status"));
        Assert.Equal(BigInteger.Parse("500000000000000000"), ethDeposit.RequireNumber("amount"));
        Assert.Equal("ETH@ethereum", ethDeposit.GetString("asset"));
        Assert.Equal(eth.Id, ethDeposit.GetString("paymentId"));
        Assert.Equal(eth.Address, ethDeposit.GetString("address"));
        Assert.Equal(chain.Block(1).Hash, ethDeposit.GetString("blockHash"));
        Assert.Equal(1, ethDeposit.GetInt64("blockNumber"));

        var tokenDeposit = await _world.DepositAsync($"ethereum#{usdtTx}#4");
        Assert.NotNull(tokenDeposit);
        Assert.Equal(12_500_000, tokenDeposit.RequireNumber("amount"));
        Assert.Equal("USDT@ethereum", tokenDeposit.GetString("asset"));
        Assert.Equal("4", tokenDeposit.GetString("index"));

        foreach (var (payment, received) in new[] { (eth, "500000000000000000"), (usdt, "12500000") })
        {
            var item = (await _world.PaymentAsync(payment.Id))!;
            Assert.Equal("confirming", item.GetString("status"));
            Assert.Equal(2, item.GetInt64("statusVersion"));
            Assert.Equal(received, item.GetString("received"));
        }
        var detected = await _world.OutboxAsync(nameof(PaymentDetectedV1));
        Assert.Equal(2, detected.Count);
        Assert.Contains(detected, e => e.RequireString("payload").Contains(usdt.Id, StringComparison.Ordinal)
                                       && e.RequireString("payload").Contains("\"amount\":\"12500000\"", StringComparison.Ordinal));
        Assert.Equal(2, (await _world.DepositsAsync()).Count);
        Assert.Equal(1, chain.GetLogsCalls); // one eth_getLogs for the whole range, whatever the number of addresses

        // A replay of the same blocks (the cursor lost, a second deployment, a restart from an old backup) writes nothing.
        await _world.Store.DeleteAsync(DepositKeys.Cursor("ethereum", "local"));
        var replay = await _world.Watcher(chain).CatchUpAsync(10, TimeSpan.FromMinutes(1), default);
        Assert.Equal(0, replay.Sum(p => p.Deposits));
        Assert.Equal(2, (await _world.OutboxAsync(nameof(PaymentDetectedV1))).Count);
        Assert.Equal(2, (await _world.PaymentAsync(eth.Id))!.GetInt64("statusVersion"));
    }

    [Fact]
    public async Task A_payment_created_after_the_watcher_started_is_watched_and_a_late_deposit_is_recorded_late()
    {
        var chain = new ScriptedChain();
        var watcher = _world.Watcher(chain);
        await watcher.CatchUpAsync(10, TimeSpan.FromMinutes(1), default);

        var late = await _world.PayableAsync("ETH", "1", expiresInSeconds: 60);
        _world.Clock.Advance(TimeSpan.FromMinutes(5)); // the payment expired
        var tx = ScriptedChain.RandomHash();
        chain.Mine(new ScriptedTransfer(A(late.Address), BigInteger.Pow(10, 18), TxHash: tx));
        // The block's timestamp is the scripted chain's "now", after expiry as far as the payment is concerned.
        await watcher.CatchUpAsync(10, TimeSpan.FromMinutes(1), default);

        var deposit = await _world.DepositAsync($"ethereum#{tx}#n0");
        Assert.NotNull(deposit);
        var payment = (await _world.PaymentAsync(late.Id))!;
        Assert.Equal("confirming", payment.GetString("status"));
        Assert.Equal(deposit.GetString("depositId"), payment.GetString("detectedBy"));
    }

    [Fact]
    public async Task Another_asset_or_a_second_deposit_is_recorded_for_review_and_leaves_the_payment_alone()
    {
        var usdt = await _world.PayableAsync("USDT", "10");
        var chain = new ScriptedChain();
        var wrongAsset = ScriptedChain.RandomHash();
        var first = ScriptedChain.RandomHash();
        var second = ScriptedChain.RandomHash();
        chain.Mine(new ScriptedTransfer(A(usdt.Address), 1000, TxHash: wrongAsset));                       // ETH to a USDT payment
        chain.Mine(new ScriptedTransfer(A(usdt.Address), 10_000_000, DepositWorld.Token, first));
        chain.Mine(new ScriptedTransfer(A(usdt.Address), 5_000_000, DepositWorld.Token, second));
        await _world.Watcher(chain).CatchUpAsync(10, TimeSpan.FromMinutes(1), default);

        Assert.Equal(DepositStatus.NeedsReview, (await _world.DepositAsync($"ethereum#{wrongAsset}#n0"))!.GetString("status"));
        Assert.Equal(DepositStatus.Detected, (await _world.DepositAsync($"ethereum#{first}#0"))!.GetString("status"));
        Assert.Equal(DepositStatus.NeedsReview, (await _world.DepositAsync($"ethereum#{second}#0"))!.GetString("status"));
        var payment = (await _world.PaymentAsync(usdt.Id))!;
        Assert.Equal("10000000", payment.GetString("received"));
        Assert.Equal(2, (await _world.OutboxAsync(nameof(PaymentNeedsReviewV1))).Count);
    }

    [Fact]
    public async Task A_reorg_deeper_than_one_block_orphans_the_deposits_above_the_ancestor_and_finds_the_replacement_chains()
    {
        var p1 = await _world.PayableAsync("ETH", "1");
        var p2 = await _world.PayableAsync("USDT", "3");
        var p3 = await _world.PayableAsync("USDT", "4");
        var chain = new ScriptedChain();
        var a2 = ScriptedChain.RandomHash();
        var a3 = ScriptedChain.RandomHash();
        chain.Mine();                                                                                        // 1: the ancestor
        chain.Mine(new ScriptedTransfer(A(p1.Address), BigInteger.Pow(10, 18), TxHash: a2));                 // 2
        chain.Mine(new ScriptedTransfer(A(p2.Address), 3_000_000, DepositWorld.Token, a3));                  // 3
        var watcher = _world.Watcher(chain);
        await watcher.CatchUpAsync(10, TimeSpan.FromMinutes(1), default);
        Assert.Equal("confirming", (await _world.PaymentAsync(p1.Id))!.GetString("status"));
        Assert.Equal("confirming", (await _world.PaymentAsync(p2.Id))!.GetString("status"));

        // Blocks 2 and 3 are replaced: a2 comes back at the same position of a new block 2 (same deposit id, another block),
        // a3 is gone, and p3 is paid in a new block 4.
        chain.Fork(1);
        chain.Mine(new ScriptedTransfer(A(p1.Address), BigInteger.Pow(10, 18), TxHash: a2));
        chain.Mine();
        var b4 = ScriptedChain.RandomHash();
        chain.Mine(new ScriptedTransfer(A(p3.Address), 4_000_000, DepositWorld.Token, b4));

        var passes = await watcher.CatchUpAsync(10, TimeSpan.FromMinutes(1), default);
        Assert.Contains(passes, p => p.Reorg && p.Orphaned == 2 && p.From == 2);

        Assert.Equal(DepositStatus.Orphaned, (await _world.DepositAsync($"ethereum#{a2}#n0"))!.GetString("status"));
        Assert.Equal(DepositStatus.Orphaned, (await _world.DepositAsync($"ethereum#{a3}#0"))!.GetString("status"));
        var again = (await _world.DepositAsync($"ethereum#{a2}#n0~1"))!;
        Assert.Equal(DepositStatus.Detected, again.GetString("status"));
        Assert.Equal(chain.Block(2).Hash, again.GetString("blockHash"));
        Assert.Equal(DepositStatus.Detected, (await _world.DepositAsync($"ethereum#{b4}#0"))!.GetString("status"));

        var payment1 = (await _world.PaymentAsync(p1.Id))!;
        Assert.Equal("confirming", payment1.GetString("status"));          // undone, then detected again in the new block
        Assert.Equal(5, payment1.GetInt64("statusVersion")); // detected, confirming, created, detected, confirming
        Assert.Equal($"ethereum#{a2}#n0~1", payment1.GetString("detectedBy"));
        var payment2 = (await _world.PaymentAsync(p2.Id))!;
        Assert.Equal("created", payment2.GetString("status"));
        Assert.Equal("0", payment2.GetString("received"));
        Assert.Equal("confirming", (await _world.PaymentAsync(p3.Id))!.GetString("status"));
        Assert.Equal(2, (await _world.OutboxAsync(nameof(DepositOrphanedV1))).Count);
        Assert.Equal(4, (await _world.OutboxAsync(nameof(PaymentDetectedV1))).Count);
    }

    [Fact]
    public async Task A_reorg_to_a_shorter_chain_is_found_at_the_tip_and_a_credited_deposit_goes_to_review()
    {
        var p1 = await _world.PayableAsync("ETH", "1");
        var p2 = await _world.PayableAsync("ETH", "2");
        var chain = new ScriptedChain();
        var t1 = ScriptedChain.RandomHash();
        var t2 = ScriptedChain.RandomHash();
        chain.Mine(new ScriptedTransfer(A(p1.Address), 10, TxHash: t1));                                  // 1
        chain.Mine(new ScriptedTransfer(A(p2.Address), 20, TxHash: t2));                                  // 2
        var watcher = _world.Watcher(chain);
        await watcher.CatchUpAsync(10, TimeSpan.FromMinutes(1), default);
        // The confirm workflow credited the first deposit (simulated: its status only).
        await _world.Store.UpdateAsync(DepositKeys.Deposit($"ethereum#{t1}#n0"),
            new Update().Set("status", DepositStatus.Credited).Set("version", 2), Condition.VersionEquals(1));

        chain.Fork(0);
        chain.Mine(); // a new block 1, and no block 2: the chain is shorter than what the watcher saw
        var pass = await watcher.RunPassAsync(default);
        Assert.True(pass.Reorg);
        Assert.Equal(DepositStatus.NeedsReview, (await _world.DepositAsync($"ethereum#{t1}#n0"))!.GetString("status"));
        Assert.Equal(DepositStatus.Orphaned, (await _world.DepositAsync($"ethereum#{t2}#n0"))!.GetString("status"));
        Assert.Equal("created", (await _world.PaymentAsync(p2.Id))!.GetString("status"));
        Assert.False((await watcher.RunPassAsync(default)).Reorg);
    }

    [Fact]
    public async Task A_reorg_deeper_than_the_window_stops_the_watcher()
    {
        var chain = new ScriptedChain();
        for (var i = 0; i < 8; i++) chain.Mine();
        var watcher = _world.Watcher(chain, DepositWorld.Options(window: 3));
        await watcher.CatchUpAsync(10, TimeSpan.FromMinutes(1), default);
        chain.Fork(2);
        for (var i = 0; i < 8; i++) chain.Mine();
        await Assert.ThrowsAsync<ReorgTooDeepException>(() => watcher.RunPassAsync(default));
    }

    [Fact]
    public async Task A_dev_chain_started_afresh_is_followed_from_its_start_and_another_chain_id_or_genesis_elsewhere_stops_the_watcher()
    {
        var payment = await _world.PayableAsync("ETH", "1");
        var old = new ScriptedChain();
        for (var i = 0; i < 40; i++) old.Mine();
        await _world.Watcher(old, DepositWorld.Options(window: 4)).CatchUpAsync(10, TimeSpan.FromMinutes(1), default);

        var fresh = new ScriptedChain(); // another genesis block, a shorter chain
        var tx = ScriptedChain.RandomHash();
        fresh.Mine(new ScriptedTransfer(A(payment.Address), 10, TxHash: tx));
        var strict = DepositWorld.Options(window: 4);
        strict.AllowChainReset = false;
        await Assert.ThrowsAsync<ChainMismatchException>(() => _world.Watcher(fresh, strict).RunPassAsync(default));

        await _world.Watcher(fresh, DepositWorld.Options(window: 4)).CatchUpAsync(10, TimeSpan.FromMinutes(1), default);
        Assert.Equal(fresh.Block(1).Hash, (await _world.DepositAsync($"ethereum#{tx}#n0"))!.GetString("blockHash"));

        fresh.ChainId = 1;
        await Assert.ThrowsAsync<ChainMismatchException>(() => _world.Watcher(fresh).RunPassAsync(default));
    }

    [Fact]
    public async Task Stopped_mid_range_and_started_again_it_misses_nothing_and_repeats_nothing()
    {
        var payments = new List<Payments.PaymentView>();
        for (var i = 0; i < 6; i++) payments.Add(await _world.PayableAsync(i % 2 == 0 ? "ETH" : "USDT", "1"));
        var chain = new ScriptedChain();
        foreach (var p in payments)
        {
            chain.Mine();
            chain.Mine(p.Asset == "ETH"
                ? new ScriptedTransfer(A(p.Address), 1_000)
                : new ScriptedTransfer(A(p.Address), 1_000_000, DepositWorld.Token));
        }
        // Passes of 4 blocks; the first watcher is cancelled while reading block 7 (the middle of its second range).
        var options = DepositWorld.Options(maxBlocks: 4);
        using var stop = new CancellationTokenSource();
        chain.BeforeGetBlock = n => { if (n == 7) stop.Cancel(); };
        await _world.Watcher(chain, options).RunAsync(stop.Token); // returns once cancelled
        Assert.True(stop.IsCancellationRequested);
        chain.BeforeGetBlock = null;
        var before = (await _world.DepositsAsync()).Count;
        Assert.InRange(before, 1, 5);

        await _world.Watcher(chain, options).CatchUpAsync(20, TimeSpan.FromMinutes(1), default);
        var deposits = await _world.DepositsAsync();
        Assert.Equal(6, deposits.Count);
        Assert.All(deposits, d => Assert.Equal(DepositStatus.Detected, d.GetString("status")));
        Assert.Equal(6, (await _world.OutboxAsync(nameof(PaymentDetectedV1))).Count);
        foreach (var p in payments) Assert.Equal(2, (await _world.PaymentAsync(p.Id))!.GetInt64("statusVersion"));
    }
}

/// <summary>A crash at every write of a watcher run that includes a reorg (before the write, and after it committed, so the
/// caller never heard), then a restart: the final state is the one a run without a crash reaches. SQLite only: crash points
/// times runs make many runs.</summary>
public sealed class ChainWatcherCrashTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("molly-deposits-crash-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task A_crash_at_any_write_then_a_restart_records_every_deposit_once_and_orphans_the_reorged_ones()
    {
        var runs = 0;
        for (var crashAt = 1; ; crashAt++)
        {
            // Restarted: a new watcher after the process died. Warm: the same watcher instance goes on after a failed write
            // (a Lambda instance kept between invocations), so nothing it held in memory may skip a block.
            foreach (var (afterCommit, warm) in new[] { (false, false), (true, false), (false, true), (true, true) })
            {
                await using var store = SqliteItemStore.Open(new SqliteItemStoreOptions { Path = Path.Combine(_dir, $"c{crashAt}-{afterCommit}-{warm}.db") });
                var world = new DepositWorld(store);
                var p1 = await world.PayableAsync("ETH", "1");
                var p2 = await world.PayableAsync("USDT", "2");
                var p3 = await world.PayableAsync("ETH", "3");
                var chain = new ScriptedChain();
                chain.Mine(new ScriptedTransfer(EvmAddress.Parse(p1.Address), 5));                                   // 1
                chain.Mine(new ScriptedTransfer(EvmAddress.Parse(p2.Address), 2_000_000, DepositWorld.Token),
                    new ScriptedTransfer(EvmAddress.Parse(p3.Address), 6));                                            // 2
                chain.Mine();                                                                                          // 3
                // When the watcher first asks for block 3, blocks 2 and 3 are replaced: p3 is paid again in a new block 3.
                var forked = false;
                chain.BeforeGetBlock = n =>
                {
                    if (n != 3 || forked) return;
                    forked = true;
                    chain.Fork(1);
                    chain.Mine();
                    chain.Mine(new ScriptedTransfer(EvmAddress.Parse(p3.Address), 6));
                    chain.Mine();
                };
                var options = DepositWorld.Options(maxBlocks: 2);
                var crashing = new CrashingStore(store, crashAt, afterCommit, recover: warm);
                var watcher = world.Watcher(chain, options, crashing);
                try
                {
                    await watcher.CatchUpAsync(20, TimeSpan.FromMinutes(1), default);
                }
                catch (SimulatedCrash)
                {
                }
                if (!crashing.Crashed)
                {
                    Assert.True(runs > 20, $"only {runs} crash points");
                    return; // every write of the run has been a crash point
                }
                runs++;
                await (warm ? watcher : world.Watcher(chain, options)).CatchUpAsync(20, TimeSpan.FromMinutes(1), default);

                var deposits = await world.DepositsAsync();
                var at = $"crash at write {crashAt} ({(afterCommit ? "after" : "before")} commit, {(warm ? "same instance" : "restarted")})";
                Assert.True(2 == deposits.Count(d => d.GetString("status") == DepositStatus.Detected), at);
                Assert.True(deposits.Count(d => d.GetString("status") == DepositStatus.Orphaned) is >= 1 and <= 2, at);
                Assert.True(deposits.Count is >= 3 and <= 4, at); // p2's and p3's first deposits exist unless the crash came first
                var p1Item = (await world.PaymentAsync(p1.Id))!;
                Assert.Equal("confirming", p1Item.GetString("status"));
                Assert.Equal(2, p1Item.GetInt64("statusVersion"));
                var p2Item = (await world.PaymentAsync(p2.Id))!;
                Assert.Equal("created", p2Item.GetString("status"));
                Assert.Equal("0", p2Item.GetString("received"));
                var p3Item = (await world.PaymentAsync(p3.Id))!;
                Assert.Equal("confirming", p3Item.GetString("status"));
                Assert.Equal(chain.Block(3).Hash, deposits.Single(d => d.GetString("depositId") == p3Item.GetString("detectedBy")).GetString("blockHash"));
                var detectedEvents = (await world.OutboxAsync(nameof(PaymentDetectedV1))).Count;
                var orphanedEvents = (await world.OutboxAsync(nameof(DepositOrphanedV1))).Count;
                Assert.True(detectedEvents == deposits.Count, at);
                Assert.True(orphanedEvents == deposits.Count(d => d.GetString("status") == DepositStatus.Orphaned), at);
            }
        }
    }
}

public sealed class SqliteChainWatcherTests : ChainWatcherTests
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"molly-deposits-{Guid.NewGuid():N}.db");

    protected override Task<IItemStore> CreateStoreAsync() =>
        Task.FromResult<IItemStore>(SqliteItemStore.Open(new SqliteItemStoreOptions { Path = _path }));
}

public sealed class DynamoDbChainWatcherTests : ChainWatcherTests
{
    protected override async Task<IItemStore> CreateStoreAsync() => await DynamoDbLocal.Shared.CreateStoreAsync();
}
