using System.Numerics;
using System.Text.Json.Nodes;
using Molly.Chains.Rpc.Evm;
using Molly.Domain;
using Molly.Ledger;
using Molly.Payments;
using Molly.Storage;
using Molly.Workflows;
using Xunit;
using static Molly.Settlement.Tests.Detection;

namespace Molly.Settlement.Tests;

/// <summary>
/// The whole local path on SQLite: a new deposit item -> the starter consumer (change feed) -> the engine running
/// workflows/deposit-confirm.asl.json -> these handlers -> ledger, payment, outbox. The node is scripted (its Hardhat
/// counterpart is HardhatConfirmationTests); the engine, the ASL file, the store and the feed are the real ones.
/// </summary>
public sealed class DepositConfirmWorkflowTests : IAsyncLifetime
{
    private readonly SqliteStoreFactory _stores = new();
    private readonly ScriptedEvmRpc _node = new();
    private readonly ManualTimeProvider _time = new(SettlementContractTests.T0);
    private IItemStore _store = null!;
    private Ledger.Ledger _ledger = null!;
    private DepositConfirmTasks _tasks = null!;
    private PaymentService _payments = null!;
    private WorkflowEngine _engine = null!;
    private ChangeFeedConsumer _starter = null!;

    public async Task InitializeAsync()
    {
        _store = await _stores.CreateAsync();
        _ledger = new Ledger.Ledger(_store, _time);
        var assets = AssetRegistry.ForNetworks(["local"], [SettlementContractTests.Usdt]);
        _tasks = new DepositConfirmTasks(_store, _ledger, assets, new Dictionary<string, IEvmRpc> { ["ethereum"] = _node }, new SettlementOptions(), _time);
        _payments = new PaymentService(_store, assets, new IndexedTargets(), new PaymentOptions { PublicBaseUrl = "http://127.0.0.1" }, _time);
        var handlers = new WorkflowTaskHandlers();
        foreach (var (name, handler) in _tasks.Handlers) handlers.Add(name, handler);
        handlers.Add("ScreenWithdrawal", (_, _, _) => throw new NotSupportedException()); // withdrawal-approval is not under test
        var definitions = new WorkflowDefinitions().Add("deposit-confirm",
            await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "workflows", "deposit-confirm.asl.json")));
        Assert.Empty(definitions.MissingHandlers(handlers));
        _engine = new WorkflowEngine(_store, definitions, handlers, _time);
        _starter = new DepositConfirmStarter(_engine).CreateConsumer(_store, time: _time);
    }

    public async Task DisposeAsync() => await _stores.DisposeAsync();

    private async Task<string> PaymentAsync(string amount = "1")
    {
        var created = await _payments.CreateAsync(new MerchantPaymentSettings("m_flow", new HashSet<string> { "USDT@ethereum" }),
            Guid.NewGuid().ToString("N"), new CreatePaymentCommand(Guid.NewGuid().ToString("N"), amount, "USDT", "ethereum"));
        return Assert.IsType<CreatePaymentOutcome.Created>(created).Payment.Id;
    }

    /// <summary>Feed -> starter -> engine, until nothing is due (waits in the ASL are moved past by the clock).</summary>
    private async Task<ExecutionDescription> RunAsync(string depositId)
    {
        await _starter.RunOnceAsync();
        var id = $"deposit-confirm:{DepositConfirmStarter.ExecutionName(depositId)}";
        for (var i = 0; i < 50; i++)
        {
            await _engine.RunUntilIdleAsync();
            var d = await _engine.DescribeAsync(id);
            Assert.NotNull(d);
            if (d!.Status != "RUNNING") return d;
            _time.Advance(TimeSpan.FromSeconds(15));
            _node.Mine(_node.Head + 1);
        }
        throw new TimeoutException("deposit-confirm did not finish");
    }

    private async Task<BigInteger> MerchantBalanceAsync() =>
        (await _ledger.GetBalanceAsync(AccountId.Create("m_flow", "USDT-ethereum", AccountKind.MerchantAvailable)))?.CreditBalance ?? 0;

    [Fact]
    public async Task A_new_deposit_is_waited_for_credited_once_and_its_payment_paid()
    {
        var paymentId = await PaymentAsync();
        _node.Include(Hash(1), 100, logIndexes: 3);
        var depositId = await DetectAsync(_store, paymentId, 1_000_000, _time.GetUtcNow(), 100, _node.Blocks[100], Hash(1), "3");

        var done = await RunAsync(depositId);
        Assert.Equal("SUCCEEDED", done.Status);
        Assert.Equal("paid", done.Output!["paymentStatus"]!.GetValue<string>());
        Assert.Equal("paid", (await _store.GetAsync(Keys.Payment(paymentId)))!.GetString("status"));
        Assert.Equal(new BigInteger(1_000_000), await MerchantBalanceAsync());
        Assert.True(_node.Head >= 101); // it waited for the second confirmation

        // The same change delivered again (a consumer restart) starts nothing new and credits nothing twice.
        await new DepositConfirmStarter(_engine).HandleAsync((await _store.ChangeFeed.ReadAsync(null, 10_000)).Changes, default);
        await _engine.RunUntilIdleAsync();
        Assert.Equal(new BigInteger(1_000_000), await MerchantBalanceAsync());
    }

    [Fact]
    public async Task A_reorged_deposit_ends_orphaned_with_its_payment_back_to_created_and_no_credit()
    {
        var paymentId = await PaymentAsync();
        _node.Include(Hash(2), 100, logIndexes: 0);
        var depositId = await DetectAsync(_store, paymentId, 1_000_000, _time.GetUtcNow(), 100, _node.Blocks[100], Hash(2), "0");
        _node.Blocks[100] = Hash(4242);
        _node.Receipts.Clear();
        _node.Mine(103);

        var done = await RunAsync(depositId);
        Assert.Equal("SUCCEEDED", done.Status);
        Assert.Equal("created", done.Output!["paymentStatus"]!.GetValue<string>());
        Assert.Equal(DepositStatus.Orphaned, (await _store.GetAsync(Deposit.Key(depositId)))!.GetString("status"));
        Assert.Equal(BigInteger.Zero, await MerchantBalanceAsync());
    }

    [Fact]
    public async Task A_permanent_failure_ends_in_review_with_the_error_on_the_deposit()
    {
        var paymentId = await PaymentAsync();
        _node.Include(Hash(3), 100, logIndexes: 0);
        var depositId = await DetectAsync(_store, paymentId, 1_000_000, _time.GetUtcNow(), 100, _node.Blocks[100], Hash(3), "0");
        _node.Receipts[Hash(3)] = _node.Receipts[Hash(3)] with { Succeeded = false }; // the node says it reverted
        _node.Mine(105);

        var done = await RunAsync(depositId);
        Assert.Equal("FAILED", done.Status);
        Assert.Equal("Molly.NeedsReview", done.Error);
        var deposit = (await _store.GetAsync(Deposit.Key(depositId)))!;
        Assert.Equal(DepositStatus.NeedsReview, deposit.GetString("status"));
        Assert.Equal("Molly.Permanent", deposit.GetString("reviewError"));
        Assert.Contains("reverted", deposit.GetString("reviewCause"));
        Assert.Equal(BigInteger.Zero, await MerchantBalanceAsync());
    }

    [Theory]
    [InlineData("m", "ethereum#0xabc#1", "ethereum.0xabc.1")]
    [InlineData("m", "ethereum#0xabc#1~2", "ethereum.0xabc.1_2")]
    public void Execution_names_are_valid_step_functions_names_and_stable(string _, string depositId, string expected) =>
        Assert.Equal(expected, DepositConfirmStarter.ExecutionName(depositId));

    [Fact]
    public void A_long_deposit_id_gets_a_hashed_name_within_80_characters()
    {
        var id = $"ethereum#{Hash(7)}#n12~3";
        var name = DepositConfirmStarter.ExecutionName(id);
        Assert.True(name.Length <= 80, name);
        Assert.Equal(name, DepositConfirmStarter.ExecutionName(id));
        Assert.NotEqual(name, DepositConfirmStarter.ExecutionName(id + "4"));
    }
}

/// <summary>events-samples/workflow-tasks: each sample (what Step Functions passes to that task) run through the real handler.</summary>
public sealed class WorkflowTaskSampleTests : IAsyncLifetime
{
    private readonly SqliteStoreFactory _stores = new();
    private readonly ScriptedEvmRpc _node = new();
    private readonly ManualTimeProvider _time = new(SettlementContractTests.T0);
    private IItemStore _store = null!;
    private DepositConfirmTasks _tasks = null!;

    public async Task InitializeAsync()
    {
        _store = await _stores.CreateAsync();
        var assets = AssetRegistry.ForNetworks(["local"], [SettlementContractTests.Usdt]);
        _tasks = new DepositConfirmTasks(_store, new Ledger.Ledger(_store, _time), assets,
            new Dictionary<string, IEvmRpc> { ["ethereum"] = _node }, new SettlementOptions(), _time);
    }

    public async Task DisposeAsync() => await _stores.DisposeAsync();

    [Theory]
    [InlineData("CheckConfirmations", """{"state":"confirmed","confirmations":6,"required":2,"waitSeconds":0}""")]
    [InlineData("VerifyCanonical", """{"canonical":true}""")]
    [InlineData("CreditPayment", null)]
    [InlineData("UndoDetection", null)]
    [InlineData("MarkForReview", "{}")]
    public async Task Each_sample_runs_through_its_handler(string task, string? expected)
    {
        var sample = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "events-samples", "workflow-tasks", task + ".json")))!;
        var depositId = sample["depositId"]!.GetValue<string>();
        var payments = new PaymentService(_store, AssetRegistry.ForNetworks(["local"], [SettlementContractTests.Usdt]), new IndexedTargets(),
            new PaymentOptions { PublicBaseUrl = "http://127.0.0.1" }, _time);
        var created = await payments.CreateAsync(new MerchantPaymentSettings("m_s", new HashSet<string> { "USDT@ethereum" }), "k",
            new CreatePaymentCommand("o", "1", "USDT", "ethereum"));
        var paymentId = Assert.IsType<CreatePaymentOutcome.Created>(created).Payment.Id;
        _node.Include(Hash(9), 100, logIndexes: 1);
        _node.Mine(105);
        // The deposit the sample names, in the watcher's shape.
        await DetectAsync(_store, paymentId, 1_000_000, _time.GetUtcNow(), 100, _node.Blocks[100], Hash(9), "1");
        var item = (await _store.GetAsync(Deposit.Key($"ethereum#{Hash(9)}#1")))!;
        var copy = new Item(Deposit.Key(depositId));
        foreach (var (k, v) in item) copy[k] = v;
        await _store.PutAsync(copy);
        await _store.DeleteAsync(item.Key);
        await _store.UpdateAsync(Keys.Payment(paymentId), new Update().Set("detectedBy", depositId)); // the sample's deposit holds it

        var output = await _tasks.Handlers[task](sample, TaskContext.Value, default);
        if (expected is not null) Assert.Equal(expected, output!.ToJsonString());
        else Assert.Equal(paymentId, output!["paymentId"]!.GetValue<string>());
        if (task == "CreditPayment") Assert.Equal("paid", output!["paymentStatus"]!.GetValue<string>());
        if (task == "UndoDetection") Assert.Equal("created", output!["paymentStatus"]!.GetValue<string>());
    }
}
