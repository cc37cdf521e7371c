using Molly.Chains.Rpc.Evm;
using Molly.Domain;
using Molly.Ledger;
using Molly.Payments;
using Molly.Storage;
using Xunit;
using static Molly.Settlement.Tests.Detection;

namespace Molly.Settlement.Tests;

/// <summary>CheckConfirmations and VerifyCanonical against a scripted node: the counting, the orphan evidence, and which
/// failures are transient or permanent. (The same handlers against a real Hardhat node: HardhatConfirmationTests.)</summary>
public sealed class ConfirmationTests : IAsyncLifetime
{
    private readonly SqliteStoreFactory _stores = new();
    private readonly ScriptedEvmRpc _node = new();
    private readonly ManualTimeProvider _time = new(SettlementContractTests.T0);
    private IItemStore _store = null!;
    private DepositConfirmTasks _tasks = null!;
    private string _paymentId = "";

    public async Task InitializeAsync()
    {
        _store = await _stores.CreateAsync();
        var assets = AssetRegistry.ForNetworks(["local"], [SettlementContractTests.Usdt]);
        _tasks = new DepositConfirmTasks(_store, new Ledger.Ledger(_store, _time), assets,
            new Dictionary<string, IEvmRpc> { ["ethereum"] = _node },
            new SettlementOptions { BlockTimeSeconds = new() { ["ethereum"] = 12 } }, _time);
        var payments = new PaymentService(_store, assets, new IndexedTargets(), new PaymentOptions { PublicBaseUrl = "http://127.0.0.1" }, _time);
        var created = await payments.CreateAsync(new MerchantPaymentSettings("m1", new HashSet<string> { "USDT@ethereum" }),
            "k1", new CreatePaymentCommand("o1", "1", "USDT", "ethereum"));
        _paymentId = Assert.IsType<CreatePaymentOutcome.Created>(created).Payment.Id;
    }

    public async Task DisposeAsync() => await _stores.DisposeAsync();

    private Task<string> Detect(ulong block, string tx = "0x01", string index = "3") =>
        DetectAsync(_store, _paymentId, 1_000_000, SettlementContractTests.T0, block, _node.Blocks[block], Hash(int.Parse(tx[2..], System.Globalization.NumberStyles.HexNumber)), index);

    [Fact]
    public async Task Counts_confirmations_from_the_head_and_waits_by_the_block_time()
    {
        _node.Include(Hash(1), 100, logIndexes: 3);
        var d = await Detect(100);
        // USDT on the local chain needs 2 confirmations (asset registry); the deposit's own block is the first.
        Assert.Equal(new ConfirmationsResult("waiting", 1, 2, 12), await _tasks.CheckConfirmationsAsync(d));
        _node.Mine(101);
        Assert.Equal(new ConfirmationsResult("confirmed", 2, 2, 0), await _tasks.CheckConfirmationsAsync(d));
        _node.Mine(110);
        Assert.Equal(new ConfirmationsResult("confirmed", 11, 2, 0), await _tasks.CheckConfirmationsAsync(d));
        Assert.Equal(new CanonicalResult(true), await _tasks.VerifyCanonicalAsync(d));
    }

    [Fact]
    public async Task A_node_behind_the_deposit_means_waiting_not_orphaned()
    {
        _node.Include(Hash(1), 100, logIndexes: 3);
        var d = await Detect(100);
        _node.Head = 98; // a lagging endpoint after a fail-over
        var r = await _tasks.CheckConfirmationsAsync(d);
        Assert.Equal("waiting", r.State);
        Assert.Equal(0, r.Confirmations);
        Assert.Equal(24, r.WaitSeconds);
        await Assert.ThrowsAsync<TransientTaskException>(() => _tasks.VerifyCanonicalAsync(d));
    }

    [Fact]
    public async Task Another_block_at_the_height_is_orphaned()
    {
        _node.Include(Hash(1), 100, logIndexes: 3);
        var d = await Detect(100);
        _node.Blocks[100] = Hash(999); // the reorg replaced block 100; the receipt is gone with it
        _node.Receipts.Clear();
        _node.Mine(105);
        Assert.Equal(new ConfirmationsResult("orphaned", 0, 2, 0), await _tasks.CheckConfirmationsAsync(d));
        Assert.Equal(new CanonicalResult(false), await _tasks.VerifyCanonicalAsync(d));
    }

    [Fact]
    public async Task A_receipt_in_another_block_is_orphaned_even_if_the_height_still_answers_the_old_hash()
    {
        _node.Include(Hash(1), 100, logIndexes: 3);
        var d = await Detect(100);
        _node.Mine(103);
        _node.Receipts[Hash(1)] = _node.Receipts[Hash(1)] with { BlockNumber = 102, BlockHash = _node.Blocks[102] }; // re-mined
        Assert.Equal("orphaned", (await _tasks.CheckConfirmationsAsync(d)).State);
        Assert.False((await _tasks.VerifyCanonicalAsync(d)).Canonical);
    }

    [Fact]
    public async Task A_deposit_the_watcher_marked_orphaned_is_orphaned_without_asking_the_node()
    {
        _node.Include(Hash(1), 100, logIndexes: 3);
        var d = await Detect(100);
        await _store.UpdateAsync(Deposit.Key(d), new Update().Set("status", DepositStatus.Orphaned));
        var calls = _node.Calls;
        Assert.Equal("orphaned", (await _tasks.CheckConfirmationsAsync(d)).State);
        Assert.False((await _tasks.VerifyCanonicalAsync(d)).Canonical);
        Assert.Equal(calls, _node.Calls);
    }

    [Fact]
    public async Task Node_failures_are_transient_and_impossible_chain_states_permanent()
    {
        _node.Include(Hash(1), 100, logIndexes: 3);
        var d = await Detect(100);
        _node.Mine(101);

        _node.Fail = new HttpRequestException("connection refused");
        var e = await Assert.ThrowsAsync<TransientTaskException>(() => _tasks.CheckConfirmationsAsync(d));
        Assert.Equal("Molly.Transient", e.ErrorName);
        _node.Fail = new TaskCanceledException("request timed out");
        await Assert.ThrowsAsync<TransientTaskException>(() => _tasks.VerifyCanonicalAsync(d));
        _node.Fail = null;

        var receipt = _node.Receipts[Hash(1)];
        _node.Receipts.Clear(); // the node has the block but not yet the receipt
        await Assert.ThrowsAsync<TransientTaskException>(() => _tasks.CheckConfirmationsAsync(d));

        _node.Receipts[Hash(1)] = receipt with { Succeeded = false };
        Assert.Equal("Molly.Permanent", (await Assert.ThrowsAsync<PermanentTaskException>(() => _tasks.CheckConfirmationsAsync(d))).ErrorName);

        _node.Receipts[Hash(1)] = receipt with { Logs = [] }; // the watcher's log index is not in the receipt
        await Assert.ThrowsAsync<PermanentTaskException>(() => _tasks.VerifyCanonicalAsync(d));
    }

    [Fact]
    public async Task A_chain_without_a_node_or_a_deposit_off_the_registry_is_permanent()
    {
        _node.Include(Hash(1), 100, logIndexes: 3);
        var d = await Detect(100);
        await _store.UpdateAsync(Deposit.Key(d), new Update().Set("chain", "polygon"));
        await Assert.ThrowsAsync<PermanentTaskException>(() => _tasks.CheckConfirmationsAsync(d));
    }

    [Fact]
    public async Task Handlers_answer_the_contract_json()
    {
        _node.Include(Hash(1), 100, logIndexes: 3);
        var d = await Detect(100);
        var input = JsonHelpers.Parse($$"""{"depositId":"{{d}}"}""");
        var check = await _tasks.Handlers[DepositConfirmTasks.CheckConfirmations](input, TaskContext.Value, default);
        Assert.Equal("""{"state":"waiting","confirmations":1,"required":2,"waitSeconds":12}""", check!.ToJsonString());
        var canonical = await _tasks.Handlers[DepositConfirmTasks.VerifyCanonical](input, TaskContext.Value, default);
        Assert.Equal("""{"canonical":true}""", canonical!.ToJsonString());
    }

    [Theory]
    [InlineData("ethereum", 1, 12)]
    [InlineData("ethereum", 100, 600)]   // clamped to MaxWaitSeconds
    [InlineData("solana", 3, 2)]         // ceil(3 * 0.4)
    [InlineData("unknown", 2, 24)]       // default block time
    public void Wait_is_the_missing_blocks_times_the_block_time_clamped(string chain, long missing, int expected) =>
        Assert.Equal(expected, new SettlementOptions().WaitSecondsFor(chain, missing));

    [Fact]
    public void Options_that_cannot_work_fail_validation()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new SettlementOptions { MinWaitSeconds = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new SettlementOptions { MaxWaitSeconds = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new SettlementOptions { BlockTimeSeconds = new() { ["x"] = 0 } }.Validate());
        new SettlementOptions().Validate();
    }
}
