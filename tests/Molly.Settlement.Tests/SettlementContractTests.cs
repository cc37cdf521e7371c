using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Molly.Chains.Rpc.Evm;
using Molly.Domain;
using Molly.Ledger;
using Molly.Payments;
using Molly.Storage;
using Xunit;
using static Molly.Settlement.Tests.Detection;

namespace Molly.Settlement.Tests;

/// <summary>
/// The settlement (CreditPayment, UndoDetection, MarkForReview) run unchanged on each store: SQLite and DynamoDB Local.
/// Every case checks the three places a settlement writes: the ledger balances, the payment and deposit items, the outbox.
/// </summary>
public abstract class SettlementContractTests(IStoreFactory factory) : IAsyncLifetime
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    public const string Merchant = "m_acme";
    public static readonly Asset Usdt = new("ethereum", "local", ChainFamily.Evm, 31337, "USDT", 6, "0x5FbDB2315678afecb367f032d93F642f64180aa3", 2);
    public static readonly string LedgerAsset = DepositConfirmTasks.LedgerAsset(Usdt);

    protected ManualTimeProvider Time { get; } = new(T0);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await factory.DisposeAsync();

    protected sealed record World(IItemStore Store, Ledger.Ledger Ledger, DepositConfirmTasks Tasks, PaymentService Payments, AssetRegistry Assets)
    {
        public DepositConfirmTasks TasksOn(IItemStore store, TimeProvider time) =>
            new(store, new Ledger.Ledger(store, time), Assets, new Dictionary<string, IEvmRpc>(), new SettlementOptions(), time);
    }

    protected async Task<World> NewWorldAsync(MerchantFee? fee = null)
    {
        var store = await factory.CreateAsync();
        var ledger = new Ledger.Ledger(store, Time);
        var assets = AssetRegistry.ForNetworks(["local"], [Usdt]);
        var tasks = new DepositConfirmTasks(store, ledger, assets, new Dictionary<string, IEvmRpc>(), new SettlementOptions(), Time);
        var payments = new PaymentService(store, assets, new IndexedTargets(), new PaymentOptions { PublicBaseUrl = "http://127.0.0.1:8080" }, Time);
        if (fee is not null) await SetFeeAsync(store, fee);
        return new World(store, ledger, tasks, payments, assets);
    }

    /// <summary>Writes the merchant's settings with <paramref name="fee"/> on USDT@ethereum, as the admin API does.</summary>
    protected static Task SetFeeAsync(IItemStore store, MerchantFee fee) =>
        store.PutAsync(new MerchantSettings(["USDT@ethereum"], 0, MerchantPlan.Standard,
            new Dictionary<string, MerchantFee> { ["USDT@ethereum"] = fee }).ToItem(Merchant));

    protected static async Task<string> NewPaymentAsync(World w, string amount = "1", int toleranceBps = 0, int expiresInSeconds = 900)
    {
        var outcome = await w.Payments.CreateAsync(new MerchantPaymentSettings(Merchant, new HashSet<string> { "USDT@ethereum" }, toleranceBps),
            Guid.NewGuid().ToString("N"), new CreatePaymentCommand(Guid.NewGuid().ToString("N"), amount, "USDT", "ethereum", expiresInSeconds));
        return Assert.IsType<CreatePaymentOutcome.Created>(outcome).Payment.Id;
    }

    protected static async Task<BigInteger> MerchantBalanceAsync(World w) =>
        (await w.Ledger.GetBalanceAsync(AccountId.Create(Merchant, LedgerAsset, AccountKind.MerchantAvailable)))?.CreditBalance ?? BigInteger.Zero;

    protected static async Task<BigInteger> FeeBalanceAsync(World w) =>
        (await w.Ledger.GetBalanceAsync(AccountId.Platform(LedgerAsset, AccountKind.FeeRevenue)))?.CreditBalance ?? BigInteger.Zero;

    protected static async Task<BigInteger> InFlightDebitsAsync(World w) =>
        (await w.Ledger.GetBalanceAsync(AccountId.Platform(LedgerAsset, AccountKind.DepositsInFlight)))?.DebitsPosted ?? BigInteger.Zero;

    protected static async Task<Item> PaymentAsync(World w, string id) => (await w.Store.GetAsync(Keys.Payment(id)))!;

    protected static async Task<Item> DepositAsync(World w, string depositId) => (await w.Store.GetAsync(Deposit.Key(depositId)))!;

    protected static async Task<Item?> OutboxAsync(World w, string type, string depositId) =>
        await w.Store.GetAsync(Keys.Outbox(DepositConfirmTasks.EventId(type, depositId)));

    private static readonly MerchantFee OnePercent = new(100, 0);

    // ------------------------------------------------------------ settlement outcomes

    [Theory]
    [InlineData("1", 0, 1_000_000, "paid", "PaymentPaidV1")]
    [InlineData("1", 0, 999_999, "underpaid", "PaymentUnderpaidV1")]
    [InlineData("1", 100, 990_000, "paid", "PaymentPaidV1")]            // within a 1% tolerance
    [InlineData("1", 100, 989_999, "underpaid", "PaymentUnderpaidV1")]  // just outside it
    [InlineData("1", 0, 1_000_001, "overpaid", "PaymentOverpaidV1")]
    public async Task Credit_settles_by_the_aggregate_and_credits_the_merchant_net_of_the_fee(
        string amount, int toleranceBps, long deposited, string expectedStatus, string expectedEvent)
    {
        var w = await NewWorldAsync(OnePercent);
        var paymentId = await NewPaymentAsync(w, amount, toleranceBps);
        var depositId = await DetectAsync(w.Store, paymentId, deposited, T0.AddMinutes(1), 10, Hash(10), Hash(1));

        var result = await w.Tasks.CreditPaymentAsync(depositId);

        Assert.Equal(paymentId, result.PaymentId);
        Assert.Equal(expectedStatus, result.PaymentStatus);
        Assert.Equal($"dep:ethereum:{Hash(1)}:0:net", result.TransferId);
        var fee = (deposited * 100 + 5_000) / 10_000;              // half up
        Assert.Equal(new BigInteger(deposited - fee), await MerchantBalanceAsync(w));
        Assert.Equal(new BigInteger(fee), await FeeBalanceAsync(w));
        Assert.Equal(new BigInteger(deposited), await InFlightDebitsAsync(w));

        var payment = await PaymentAsync(w, paymentId);
        Assert.Equal(expectedStatus, payment.GetString("status"));
        Assert.Equal(3, payment.GetInt64("statusVersion"));         // detected, confirming, final
        Assert.Equal(deposited.ToString(CultureInfo.InvariantCulture), payment.GetString("received"));
        Assert.Equal(new BigInteger(deposited), payment.GetNumber("credited"));
        Assert.Equal(Keys.MerchantPaymentsByStatus(Merchant, expectedStatus), payment.GetString("GSI2PK"));
        var listed = await w.Payments.ListAsync(Merchant, PaymentService.TryParseStatus(expectedStatus, out var s) ? s : throw new InvalidOperationException(), null, null, 10, null);
        Assert.Contains(listed.Items, p => p.Id == paymentId);

        var deposit = await DepositAsync(w, depositId);
        Assert.Equal(DepositStatus.Credited, deposit.GetString("status"));
        Assert.Equal(2, deposit.GetInt64("version"));
        Assert.Equal(expectedStatus, deposit.GetString("paymentStatus"));

        var outbox = await OutboxAsync(w, expectedEvent, depositId);
        Assert.NotNull(outbox);
        using var payload = JsonDocument.Parse(outbox!.RequireString("payload"));
        Assert.Equal(paymentId, payload.RootElement.GetProperty("paymentId").GetString());
        Assert.Equal(expectedStatus, payload.RootElement.GetProperty("status").GetString());
        Assert.Equal((deposited - fee).ToString(CultureInfo.InvariantCulture), payload.RootElement.GetProperty("net").GetString());
        Assert.Equal(fee.ToString(CultureInfo.InvariantCulture), payload.RootElement.GetProperty("fee").GetString());
        Assert.Equal(3, payload.RootElement.GetProperty("statusVersion").GetInt64());
    }

    [Fact]
    public async Task Merchant_balance_is_amount_minus_fee_exactly_with_a_fixed_part_and_half_up_rounding()
    {
        // 250 bps of 1,234,567 = 30,864.175 -> 30,864; + fixed 1,000 = 31,864.
        var w = await NewWorldAsync(new MerchantFee(250, 1_000));
        var paymentId = await NewPaymentAsync(w, "1.234567");
        var depositId = await DetectAsync(w.Store, paymentId, 1_234_567, T0.AddMinutes(1), 10, Hash(10), Hash(1));
        Assert.Equal("paid", (await w.Tasks.CreditPaymentAsync(depositId)).PaymentStatus);
        Assert.Equal(new BigInteger(1_234_567 - 31_864), await MerchantBalanceAsync(w));
        Assert.Equal(new BigInteger(31_864), await FeeBalanceAsync(w));
    }

    [Fact]
    public async Task A_fee_change_applies_to_the_next_credit_and_replays_credit_once()
    {
        var w = await NewWorldAsync(OnePercent);
        var d1 = await DetectAsync(w.Store, await NewPaymentAsync(w), 1_000_000, T0.AddMinutes(1), 10, Hash(10), Hash(1));
        Assert.Equal("paid", (await w.Tasks.CreditPaymentAsync(d1)).PaymentStatus);       // 1% = 10,000
        await SetFeeAsync(w.Store, new MerchantFee(0, 50_000));                             // now a fixed 50,000
        var d2 = await DetectAsync(w.Store, await NewPaymentAsync(w), 1_000_000, T0.AddMinutes(2), 11, Hash(11), Hash(2));
        Assert.Equal("paid", (await w.Tasks.CreditPaymentAsync(d2)).PaymentStatus);
        Assert.Equal(new BigInteger(60_000), await FeeBalanceAsync(w));
        Assert.Equal(new BigInteger(1_940_000), await MerchantBalanceAsync(w));

        // Replays after the change (this instance, and a fresh one as another Lambda would be) answer from the deposit.
        await SetFeeAsync(w.Store, new MerchantFee(300, 0));
        foreach (var tasks in new[] { w.Tasks, w.TasksOn(w.Store, Time) })
        {
            Assert.Equal("paid", (await tasks.CreditPaymentAsync(d1)).PaymentStatus);
            Assert.Equal("paid", (await tasks.CreditPaymentAsync(d2)).PaymentStatus);
        }
        Assert.Equal(new BigInteger(60_000), await FeeBalanceAsync(w));
        Assert.Equal(new BigInteger(1_940_000), await MerchantBalanceAsync(w));
        Assert.Equal(new BigInteger(10_000), (await DepositAsync(w, d1)).GetNumber("fee"));
        Assert.Equal(new BigInteger(50_000), (await DepositAsync(w, d2)).GetNumber("fee"));
    }

    [Fact]
    public async Task A_deposit_seen_after_expiry_ends_paid_late_from_created_and_from_expired()
    {
        var w = await NewWorldAsync(OnePercent);
        var p1 = await NewPaymentAsync(w, expiresInSeconds: 60);
        var d1 = await DetectAsync(w.Store, p1, 1_000_000, T0.AddMinutes(5), 10, Hash(10), Hash(1));
        Assert.Equal("paid_late", (await w.Tasks.CreditPaymentAsync(d1)).PaymentStatus);
        Assert.NotNull(await OutboxAsync(w, "PaymentPaidLateV1", d1));
        Assert.True((await PaymentAsync(w, p1)).GetBool("late"));

        // A payment the expiry sweep already moved to Expired.
        var p2 = await NewPaymentAsync(w, expiresInSeconds: 60);
        await w.Store.UpdateAsync(Keys.Payment(p2), new Update().Set("status", "expired").Set("statusVersion", 1));
        var d2 = await DetectAsync(w.Store, p2, 1_000_000, T0.AddMinutes(5), 11, Hash(11), Hash(2));
        Assert.Equal("paid_late", (await w.Tasks.CreditPaymentAsync(d2)).PaymentStatus);
        Assert.Equal(4, (await PaymentAsync(w, p2)).GetInt64("statusVersion"));
        Assert.Equal(new BigInteger(2 * 990_000), await MerchantBalanceAsync(w));
    }

    [Fact]
    public async Task A_second_deposit_tops_an_underpaid_payment_up_and_the_total_decides()
    {
        var w = await NewWorldAsync(OnePercent);
        var paymentId = await NewPaymentAsync(w);
        var d1 = await DetectAsync(w.Store, paymentId, 600_000, T0.AddMinutes(1), 10, Hash(10), Hash(1));
        Assert.Equal("underpaid", (await w.Tasks.CreditPaymentAsync(d1)).PaymentStatus);
        // The second transfer to the same address: the payment has ended, so the watcher records it without a transition.
        var d2 = await DetectAsync(w.Store, paymentId, 500_000, T0.AddMinutes(2), 11, Hash(11), Hash(2), transition: false);
        Assert.Equal("overpaid", (await w.Tasks.CreditPaymentAsync(d2)).PaymentStatus);

        var payment = await PaymentAsync(w, paymentId);
        Assert.Equal("1100000", payment.GetString("received"));
        Assert.Equal(new BigInteger(1_100_000), payment.GetNumber("credited"));
        Assert.Equal(new BigInteger(594_000 + 495_000), await MerchantBalanceAsync(w));
        Assert.NotNull(await OutboxAsync(w, "PaymentUnderpaidV1", d1));
        Assert.NotNull(await OutboxAsync(w, "PaymentOverpaidV1", d2));
    }

    [Fact]
    public async Task A_deposit_of_another_asset_is_never_credited_against_the_payment()
    {
        var w = await NewWorldAsync();
        var paymentId = await NewPaymentAsync(w);
        var depositId = await DetectAsync(w.Store, paymentId, 1_000_000_000_000_000_000, T0.AddMinutes(1), 10, Hash(10), Hash(1), asset: "ETH", transition: false);
        var e = await Assert.ThrowsAsync<PermanentTaskException>(() => w.Tasks.CreditPaymentAsync(depositId));
        Assert.Equal("Molly.Permanent", e.ErrorName);
        Assert.Contains("asks for USDT", e.Message);
        Assert.Equal(BigInteger.Zero, await MerchantBalanceAsync(w));
        Assert.Equal(DepositStatus.Detected, (await DepositAsync(w, depositId)).GetString("status"));
    }

    // ------------------------------------------------------------ orphaned

    [Fact]
    public async Task An_orphaned_deposit_undoes_the_detection_and_is_never_credited()
    {
        var w = await NewWorldAsync(OnePercent);
        var paymentId = await NewPaymentAsync(w);
        var depositId = await DetectAsync(w.Store, paymentId, 1_000_000, T0.AddMinutes(1), 10, Hash(10), Hash(1));
        Assert.Equal("detected", (await PaymentAsync(w, paymentId)).GetString("status"));

        var undo = await w.Tasks.UndoDetectionAsync(depositId);
        Assert.Equal(new UndoResult(paymentId, "created"), undo);
        var payment = await PaymentAsync(w, paymentId);
        Assert.Equal("created", payment.GetString("status"));
        Assert.Equal("0", payment.GetString("received"));
        Assert.Equal(2, payment.GetInt64("statusVersion"));
        Assert.Equal(DepositStatus.Orphaned, (await DepositAsync(w, depositId)).GetString("status"));
        Assert.NotNull(await OutboxAsync(w, nameof(Deposits.DepositOrphanedV1), depositId));

        // Idempotent: again answers the same and writes nothing more.
        Assert.Equal(undo, await w.Tasks.UndoDetectionAsync(depositId));
        Assert.Equal(2, (await PaymentAsync(w, paymentId)).GetInt64("statusVersion"));

        // A credit of the orphaned deposit is refused; the ledger never moved.
        await Assert.ThrowsAsync<PermanentTaskException>(() => w.Tasks.CreditPaymentAsync(depositId));
        Assert.Equal(BigInteger.Zero, await MerchantBalanceAsync(w));
        Assert.Equal(BigInteger.Zero, await InFlightDebitsAsync(w));
        Assert.Null(await w.Ledger.GetTransferAsync(TransferId.Parse($"dep:ethereum:{Hash(1)}:0:net")));
    }

    [Fact]
    public async Task An_orphaned_deposit_of_an_expired_payment_leaves_it_expired_and_a_replacement_deposit_still_settles()
    {
        var w = await NewWorldAsync();
        var paymentId = await NewPaymentAsync(w, expiresInSeconds: 60);
        var orphan = await DetectAsync(w.Store, paymentId, 1_000_000, T0.AddSeconds(30), 10, Hash(10), Hash(1));
        Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal("expired", (await w.Tasks.UndoDetectionAsync(orphan)).PaymentStatus);

        // The payer's transaction is mined again in the replacement chain: a new deposit, detected late.
        var replacement = await DetectAsync(w.Store, paymentId, 1_000_000, T0.AddMinutes(2), 11, Hash(111), Hash(2));
        Assert.Equal("paid_late", (await w.Tasks.CreditPaymentAsync(replacement)).PaymentStatus);
        Assert.Equal(new BigInteger(1_000_000), await MerchantBalanceAsync(w));
    }

    [Fact]
    public async Task Undoing_a_deposit_that_does_not_hold_the_payment_leaves_the_payment_alone()
    {
        var w = await NewWorldAsync();
        var paymentId = await NewPaymentAsync(w);
        var holder = await DetectAsync(w.Store, paymentId, 1_000_000, T0.AddMinutes(1), 10, Hash(10), Hash(1));
        var other = await DetectAsync(w.Store, paymentId, 5, T0.AddMinutes(1), 10, Hash(10), Hash(2), transition: false);
        Assert.Equal(new UndoResult(paymentId, "detected"), await w.Tasks.UndoDetectionAsync(other));
        var payment = await PaymentAsync(w, paymentId);
        Assert.Equal(1, payment.GetInt64("statusVersion"));
        Assert.Equal(holder, payment.GetString("detectedBy"));
        Assert.Equal(DepositStatus.Orphaned, (await DepositAsync(w, other)).GetString("status"));
        Assert.Equal("paid", (await w.Tasks.CreditPaymentAsync(holder)).PaymentStatus);
    }

    [Fact]
    public async Task A_credited_deposit_cannot_be_undone()
    {
        var w = await NewWorldAsync();
        var paymentId = await NewPaymentAsync(w);
        var depositId = await DetectAsync(w.Store, paymentId, 1_000_000, T0.AddMinutes(1), 10, Hash(10), Hash(1));
        await w.Tasks.CreditPaymentAsync(depositId);
        await Assert.ThrowsAsync<PermanentTaskException>(() => w.Tasks.UndoDetectionAsync(depositId));
        Assert.Equal("paid", (await PaymentAsync(w, paymentId)).GetString("status"));
        Assert.Equal(new BigInteger(1_000_000), await MerchantBalanceAsync(w));
    }

    // ------------------------------------------------------------ exactly once

    [Fact]
    public async Task Credit_called_twice_credits_once_and_answers_the_same()
    {
        var w = await NewWorldAsync(OnePercent);
        var paymentId = await NewPaymentAsync(w);
        var depositId = await DetectAsync(w.Store, paymentId, 1_000_000, T0.AddMinutes(1), 10, Hash(10), Hash(1));
        var first = await w.Tasks.CreditPaymentAsync(depositId);
        Time.Advance(TimeSpan.FromMinutes(1));
        var second = await w.Tasks.CreditPaymentAsync(depositId);
        Assert.Equal(first, second);
        Assert.Equal(new BigInteger(990_000), await MerchantBalanceAsync(w));
        Assert.Equal(new BigInteger(1_000_000), await InFlightDebitsAsync(w));
        Assert.Equal(3, (await PaymentAsync(w, paymentId)).GetInt64("statusVersion"));
        Assert.Equal(2, (await DepositAsync(w, depositId)).GetInt64("version"));
    }

    [Fact]
    public async Task Concurrent_credits_of_one_deposit_credit_once()
    {
        var w = await NewWorldAsync(OnePercent);
        var paymentId = await NewPaymentAsync(w);
        var depositId = await DetectAsync(w.Store, paymentId, 1_000_000, T0.AddMinutes(1), 10, Hash(10), Hash(1));
        // Separate task instances (separate ledger caches), as separate Lambda invocations would be.
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => w.TasksOn(w.Store, Time).CreditPaymentAsync(depositId))));
        Assert.All(results, r => Assert.Equal(results[0], r));
        Assert.Equal("paid", results[0].PaymentStatus);
        Assert.Equal(new BigInteger(990_000), await MerchantBalanceAsync(w));
        Assert.Equal(new BigInteger(10_000), await FeeBalanceAsync(w));
        Assert.Equal(new BigInteger(1_000_000), await InFlightDebitsAsync(w));
        Assert.Equal(3, (await PaymentAsync(w, paymentId)).GetInt64("statusVersion"));
    }

    [Fact]
    public async Task Concurrent_credits_of_two_deposits_of_one_payment_both_count()
    {
        var w = await NewWorldAsync();
        var paymentId = await NewPaymentAsync(w);
        var d1 = await DetectAsync(w.Store, paymentId, 400_000, T0.AddMinutes(1), 10, Hash(10), Hash(1));
        var d2 = await DetectAsync(w.Store, paymentId, 600_000, T0.AddMinutes(1), 10, Hash(10), Hash(2), transition: false);
        var results = await Task.WhenAll(Task.Run(() => w.TasksOn(w.Store, Time).CreditPaymentAsync(d1)),
            Task.Run(() => w.TasksOn(w.Store, Time).CreditPaymentAsync(d2)));
        // Whichever went first ended underpaid; the other topped it up to exactly the amount.
        Assert.Equal(["paid", "underpaid"], results.Select(r => r.PaymentStatus).Order().ToArray());
        var payment = await PaymentAsync(w, paymentId);
        Assert.Equal("paid", payment.GetString("status"));
        Assert.Equal(new BigInteger(1_000_000), payment.GetNumber("credited"));
        Assert.Equal(new BigInteger(1_000_000), await MerchantBalanceAsync(w));
    }

    [Fact]
    public async Task A_crash_at_any_write_then_a_retry_completes_with_one_credit()
    {
        // Count the writes of a clean run first, so every crash point is covered, before and after each commit.
        var probe = await NewWorldAsync(OnePercent);
        var probePayment = await NewPaymentAsync(probe);
        var probeDeposit = await DetectAsync(probe.Store, probePayment, 1_000_000, T0.AddMinutes(1), 10, Hash(10), Hash(1));
        var counting = new CrashingStore(probe.Store, int.MaxValue, false);
        await probe.TasksOn(counting, Time).CreditPaymentAsync(probeDeposit);
        var writes = CountWrites(counting);
        Assert.True(writes >= 4, $"a clean credit made {writes} writes"); // 3 account creations + the settlement transaction

        for (var n = 1; n <= writes; n++)
        {
            foreach (var after in (bool[])[false, true])
            {
                // A fresh world per crash point: the ledger accounts are created again, so every write is a crash point.
                var w = await NewWorldAsync(OnePercent);
                var paymentId = await NewPaymentAsync(w);
                var depositId = await DetectAsync(w.Store, paymentId, 1_000_000, T0.AddMinutes(1), 10, Hash(10), Hash(1));
                // Fresh task instances: the crashed process's account cache dies with it.
                var crashing = new CrashingStore(w.Store, n, after);
                await Assert.ThrowsAnyAsync<Exception>(() => w.TasksOn(crashing, Time).CreditPaymentAsync(depositId));
                Assert.True(crashing.Crashed);
                Assert.Equal(after && n == writes ? DepositStatus.Credited : DepositStatus.Detected, (await DepositAsync(w, depositId)).GetString("status"));
                var retried = await w.TasksOn(w.Store, Time).CreditPaymentAsync(depositId);
                Assert.Equal("paid", retried.PaymentStatus);
                Assert.Equal(new BigInteger(990_000), await MerchantBalanceAsync(w));
                Assert.Equal(new BigInteger(10_000), await FeeBalanceAsync(w));
                Assert.Equal(new BigInteger(1_000_000), await InFlightDebitsAsync(w));
                Assert.Equal(DepositStatus.Credited, (await DepositAsync(w, depositId)).GetString("status"));
                Assert.Equal(3, (await PaymentAsync(w, paymentId)).GetInt64("statusVersion"));
                Assert.NotNull(await OutboxAsync(w, "PaymentPaidV1", depositId));
            }
        }
    }

    private static int CountWrites(CrashingStore store) =>
        (int)typeof(CrashingStore).GetField("_writes", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(store)!;

    // ------------------------------------------------------------ review and errors

    [Fact]
    public async Task Mark_for_review_records_the_error_once_and_leaves_the_payment_as_it_was()
    {
        var w = await NewWorldAsync();
        var paymentId = await NewPaymentAsync(w);
        var depositId = await DetectAsync(w.Store, paymentId, 1_000_000, T0.AddMinutes(1), 10, Hash(10), Hash(1));
        var handler = w.Tasks.Handlers[DepositConfirmTasks.MarkForReview];
        var output = await handler(JsonHelpers.Parse($$$"""{"depositId":"{{{depositId}}}","error":{"Error":"Molly.Permanent","Cause":"node says no"}}"""), TaskContext.Value, default);
        Assert.Equal("{}", output!.ToJsonString());
        await handler(JsonHelpers.Parse($$$"""{"depositId":"{{{depositId}}}","error":{"Error":"Other","Cause":"second"}}"""), TaskContext.Value, default);

        var deposit = await DepositAsync(w, depositId);
        Assert.Equal(DepositStatus.NeedsReview, deposit.GetString("status"));
        Assert.Equal("Molly.Permanent", deposit.GetString("reviewError"));
        Assert.Equal("node says no", deposit.GetString("reviewCause"));
        Assert.Equal(2, deposit.GetInt64("version"));
        var outbox = await OutboxAsync(w, nameof(Deposits.PaymentNeedsReviewV1), depositId);
        Assert.Contains("node says no", outbox!.RequireString("payload"));
        Assert.Equal("detected", (await PaymentAsync(w, paymentId)).GetString("status"));

        await Assert.ThrowsAsync<PermanentTaskException>(() => w.Tasks.CreditPaymentAsync(depositId));
        Assert.Equal(BigInteger.Zero, await MerchantBalanceAsync(w));
    }

    [Fact]
    public async Task Handlers_take_and_give_the_contract_json()
    {
        var w = await NewWorldAsync(OnePercent);
        var paymentId = await NewPaymentAsync(w);
        var depositId = await DetectAsync(w.Store, paymentId, 1_000_000, T0.AddMinutes(1), 10, Hash(10), Hash(1));
        // The whole execution input, as a Task without Parameters would pass it.
        var input = JsonHelpers.Parse($$"""
            {"depositId":"{{depositId}}","paymentId":"{{paymentId}}","chain":"ethereum","txHash":"{{Hash(1)}}","index":"0",
             "blockNumber":10,"blockHash":"{{Hash(10)}}","asset":"USDT","amount":"1000000"}
            """);
        var output = await w.Tasks.Handlers[DepositConfirmTasks.CreditPayment](input, TaskContext.Value, default);
        Assert.Equal(paymentId, output!["paymentId"]!.GetValue<string>());
        Assert.Equal("paid", output["paymentStatus"]!.GetValue<string>());
        Assert.Equal($"dep:ethereum:{Hash(1)}:0:net", output["transferId"]!.GetValue<string>());

        var bad = await Assert.ThrowsAsync<PermanentTaskException>(() => w.Tasks.Handlers[DepositConfirmTasks.CreditPayment](JsonHelpers.Parse("{}"), TaskContext.Value, default));
        Assert.Equal("Molly.Permanent", bad.ErrorName);
        var unknown = await Assert.ThrowsAsync<PermanentTaskException>(() => w.Tasks.CreditPaymentAsync("ethereum#0xdead#0"));
        Assert.Contains("does not exist", unknown.Message);
        Assert.Equal(["CheckConfirmations", "CreditPayment", "MarkForReview", "UndoDetection", "VerifyCanonical"], w.Tasks.Handlers.Keys.Order().ToArray());
    }

    [Fact]
    public async Task Store_throttling_surfaces_as_transient()
    {
        var w = await NewWorldAsync();
        var tasks = w.TasksOn(new UnavailableStore(w.Store), Time);
        var e = await Assert.ThrowsAsync<TransientTaskException>(() => tasks.CreditPaymentAsync("ethereum#0x01#0"));
        Assert.Equal("Molly.Transient", e.ErrorName);
    }
}

public sealed class SqliteSettlementTests() : SettlementContractTests(new SqliteStoreFactory());

public sealed class DynamoDbSettlementTests() : SettlementContractTests(new DynamoDbLocalStoreFactory());
