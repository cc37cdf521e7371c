using System.Numerics;
using FsCheck;
using FsCheck.Fluent;
using Molly.Storage;
using static Molly.Ledger.Tests.Chart;

namespace Molly.Ledger.Tests;

/// <summary>The ledger's behaviour, run unchanged on every store (subclasses name the store).</summary>
public abstract class LedgerContractTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly IStoreFactory _factory;
    protected ManualTimeProvider Time { get; } = new(Start);

    protected LedgerContractTests(IStoreFactory factory) => _factory = factory;

    /// <summary>Random cases per property run (DynamoDB Local is slower).</summary>
    protected abstract int PropertyCases { get; }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _factory.DisposeAsync();

    private async Task<(Ledger Ledger, IItemStore Store)> NewLedgerAsync(ManualTimeProvider? time = null, LedgerOptions? options = null)
    {
        var store = await _factory.CreateAsync();
        var ledger = new Ledger(store, time ?? Time, options ?? _factory.Options);
        await Chart.CreateAsync(ledger);
        return (ledger, store);
    }

    private static TransferId Id(string s) => TransferId.Parse(s);

    private static CreateTransfer Pay(string id, AccountId from, AccountId to, BigInteger amount, bool pending = false, TimeSpan? timeout = null) =>
        new(Id(id), from, to, amount, from.Asset, 1, null, pending, timeout);

    // ------------------------------------------------------------ basics and bad input

    [Fact]
    public async Task Single_phase_transfer_moves_posted_balances_and_writes_outbox_in_same_transaction()
    {
        var (ledger, store) = await NewLedgerAsync();
        var checkpoint = await FeedEndAsync(store);
        Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(Pay("t1", InFlight("USDT"), Merchant2("USDT"), 1_000_000)));
        var m = (await ledger.GetBalanceAsync(Merchant2("USDT")))!;
        var d = (await ledger.GetBalanceAsync(InFlight("USDT")))!;
        Assert.Equal(new BigInteger(1_000_000), m.CreditsPosted);
        Assert.Equal(new BigInteger(1_000_000), d.DebitsPosted);

        // The transfer item is the outbox record: exactly one event in the change feed, beside the two balance changes.
        var changes = await FeedAfterAsync(store, checkpoint, 3);
        var ev = Assert.Single(changes.Select(LedgerEvents.FromChange).OfType<LedgerEventV1>());
        Assert.Equal("LedgerTransferCreatedV1", ev.Type);
        Assert.Equal("t1", ev.TransferId);
        Assert.Equal("1000000", ev.Amount);
        Assert.Contains("\"amount\":\"1000000\"", System.Text.Json.JsonSerializer.Serialize(ev, LedgerJson.Default.LedgerEventV1));
    }

    [Fact]
    public async Task Every_ledger_change_is_one_event_and_state_only_changes_are_none()
    {
        var (ledger, store) = await NewLedgerAsync();
        Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(Pay("e0", InFlight("USDT"), Merchant2("USDT"), 100)));
        var checkpoint = await FeedEndAsync(store);
        Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(Pay("e1", Merchant2("USDT"), Suspense("USDT"), 10, pending: true)));
        Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(new PostPending(Id("e2"), Id("e1"), 4)));
        Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(Pay("e3", Merchant2("USDT"), Suspense("USDT"), 10, pending: true)));
        Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(new VoidPending(Id("e4"), Id("e3"))));
        Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(Pay("e5", Merchant2("USDT"), Suspense("USDT"), 10, pending: true, timeout: TimeSpan.FromMinutes(1))));
        Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(1, await ledger.ExpirePendingAsync());

        // 5 inserts + 2 resolutions + 1 expiry of transfer items, and 2 balance changes for each of the 6 ledger writes.
        // The feed is ordered per item only (DynamoDB Streams), so the events are compared as a set.
        var events = (await FeedAfterAsync(store, checkpoint, 20)).Select(LedgerEvents.FromChange).OfType<LedgerEventV1>().ToList();
        Assert.Equal(
            ["e1:LedgerTransferCreatedV1", "e2:LedgerPendingPostedV1", "e3:LedgerTransferCreatedV1", "e4:LedgerPendingVoidedV1",
             "e5:LedgerPendingExpiredV1", "e5:LedgerTransferCreatedV1"],
            events.Select(e => e.TransferId + ":" + e.Type).Order(StringComparer.Ordinal).ToList());
        var posted = Assert.Single(events, e => e.Type == "LedgerPendingPostedV1");
        Assert.Equal("4", posted.Amount);
        Assert.Equal("e1", posted.PendingId);
        Assert.Equal(Time.GetUtcNow(), Assert.Single(events, e => e.Type == "LedgerPendingExpiredV1").At);
    }

    /// <summary>The checkpoint after every change so far (change feeds are read from the start; DynamoDB Local's too).</summary>
    private static async Task<string?> FeedEndAsync(IItemStore store)
    {
        string? checkpoint = null;
        while (true)
        {
            var batch = await store.ChangeFeed.ReadAsync(checkpoint, 1000);
            if (batch.Changes.Count == 0) return checkpoint;
            checkpoint = batch.Checkpoint;
        }
    }

    /// <summary>Reads the feed after <paramref name="checkpoint"/> until at least <paramref name="atLeast"/> changes arrived
    /// (DynamoDB Streams deliver with a lag) or nothing more comes; the changes of items other than the ledger's are dropped.</summary>
    private static async Task<List<Change>> FeedAfterAsync(IItemStore store, string? checkpoint, int atLeast)
    {
        var changes = new List<Change>();
        for (var idle = 0; idle < 20 && changes.Count < atLeast;)
        {
            var batch = await store.ChangeFeed.ReadAsync(checkpoint, 1000);
            checkpoint = batch.Checkpoint;
            if (batch.Changes.Count == 0) { idle++; await Task.Delay(100); continue; }
            changes.AddRange(batch.Changes.Where(c => c.Key.PK.StartsWith("ledger#", StringComparison.Ordinal)));
        }
        return changes;
    }

    [Fact]
    public async Task Bad_input_gets_a_precise_reason_and_changes_nothing()
    {
        var (ledger, store) = await NewLedgerAsync();
        Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(Pay("fund", InFlight("USDT"), Merchant2("USDT"), 100)));
        var before = await AssertInvariantsAsync(ledger);
        var unknown = AccountId.Create("nobody", "USDT", AccountKind.MerchantAvailable);
        var cases = new (TransferCommand Command, TransferResult Expected)[]
        {
            (Pay("b1", unknown, Merchant2("USDT"), 5), TransferResult.DebitAccountNotFound),
            (Pay("b2", InFlight("USDT"), unknown, 5), TransferResult.CreditAccountNotFound),
            (Pay("b3", InFlight("USDT"), Merchant2("USDT"), 0), TransferResult.AmountMustNotBeZero),
            (Pay("b4", InFlight("USDT"), Merchant2("USDT"), -5), TransferResult.AmountMustNotBeNegative),
            (Pay("b5", InFlight("USDT"), Merchant2("ETH"), 5), TransferResult.AccountsMustHaveTheSameAsset),
            (new CreateTransfer(Id("b6"), InFlight("USDT"), Merchant2("USDT"), 5, "ETH", 1), TransferResult.TransferMustHaveTheSameAssetAsAccounts),
            (new CreateTransfer(Id("b7"), InFlight("USDT"), Merchant2("USDT"), 5, "USDT", 0), TransferResult.CodeMustNotBeZero),
            (Pay("b8", Merchant2("USDT"), Merchant2("USDT"), 5), TransferResult.AccountsMustBeDifferent),
            (Pay("b9", Merchant2("USDT"), Suspense("USDT"), 101), TransferResult.ExceedsCredits),
            (Pay("b10", Suspense("USDT"), Hot("USDT"), 1), TransferResult.ExceedsDebits),
            (Pay("b11", InFlight("USDT"), Merchant2("USDT"), 5, timeout: TimeSpan.FromSeconds(1)), TransferResult.TimeoutReservedForPendingTransfer),
            (new PostPending(Id("b12"), Id("no-such-pending")), TransferResult.PendingTransferNotFound),
            (new PostPending(Id("b13"), Id("fund")), TransferResult.PendingTransferNotPending),
            (new VoidPending(Id("b14"), Id("fund")), TransferResult.PendingTransferNotPending),
        };
        foreach (var (command, expected) in cases)
        {
            Assert.Equal(expected, await ledger.SubmitAsync(command));
            Assert.Null(await ledger.GetTransferAsync(command.Id));
        }
        var after = await AssertInvariantsAsync(ledger);
        Assert.Equal(before, after);
    }

    [Fact]
    public async Task Retry_with_same_fields_is_Exists_and_with_different_fields_names_the_field()
    {
        var (ledger, _) = await NewLedgerAsync();
        var t = Pay("r1", InFlight("USDT"), Merchant2("USDT"), 50);
        Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(t));
        Assert.Equal(TransferResult.Exists, await ledger.SubmitAsync(t));
        Assert.Equal(TransferResult.ExistsWithDifferentAmount, await ledger.SubmitAsync(t with { Amount = 51 }));
        Assert.Equal(TransferResult.ExistsWithDifferentCreditAccount, await ledger.SubmitAsync(t with { Credit = Merchant("USDT") }));
        Assert.Equal(TransferResult.ExistsWithDifferentDebitAccount, await ledger.SubmitAsync(t with { Debit = Suspense("USDT") }));
        Assert.Equal(TransferResult.ExistsWithDifferentCode, await ledger.SubmitAsync(t with { Code = 9 }));
        Assert.Equal(TransferResult.ExistsWithDifferentUserData, await ledger.SubmitAsync(t with { UserData = "x" }));
        Assert.Equal(TransferResult.ExistsWithDifferentKind, await ledger.SubmitAsync(t with { Pending = true }));
        Assert.Equal(new BigInteger(50), (await ledger.GetBalanceAsync(Merchant2("USDT")))!.CreditsPosted);
    }

    // ------------------------------------------------------------ two-phase

    [Fact]
    public async Task Pending_reserves_then_partial_post_releases_the_rest()
    {
        var (ledger, _) = await NewLedgerAsync();
        await ledger.SubmitAsync(Pay("f", InFlight("USDT"), Merchant2("USDT"), 100));
        Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(Pay("p1", Merchant2("USDT"), Suspense("USDT"), 80, pending: true)));
        var m = (await ledger.GetBalanceAsync(Merchant2("USDT")))!;
        Assert.Equal(new BigInteger(80), m.DebitsPending);
        Assert.Equal(TransferResult.ExceedsCredits, await ledger.SubmitAsync(Pay("p2", Merchant2("USDT"), Suspense("USDT"), 21, pending: true)));
        Assert.Equal(TransferResult.ExceedsPendingTransferAmount, await ledger.SubmitAsync(new PostPending(Id("post1"), Id("p1"), 81)));
        Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(new PostPending(Id("post1"), Id("p1"), 60)));
        Assert.Equal(TransferResult.Exists, await ledger.SubmitAsync(new PostPending(Id("post1"), Id("p1"), 60)));
        Assert.Equal(TransferResult.ExistsWithDifferentAmount, await ledger.SubmitAsync(new PostPending(Id("post1"), Id("p1"), 61)));
        Assert.Equal(TransferResult.PendingTransferAlreadyPosted, await ledger.SubmitAsync(new PostPending(Id("post2"), Id("p1"))));
        Assert.Equal(TransferResult.PendingTransferAlreadyPosted, await ledger.SubmitAsync(new VoidPending(Id("void1"), Id("p1"))));
        m = (await ledger.GetBalanceAsync(Merchant2("USDT")))!;
        Assert.Equal(BigInteger.Zero, m.DebitsPending);
        Assert.Equal(new BigInteger(60), m.DebitsPosted);
        Assert.Equal(PendingState.Posted, (await ledger.GetTransferAsync(Id("p1")))!.State);
        await AssertInvariantsAsync(ledger);
    }

    [Fact]
    public async Task Void_releases_and_a_voided_pending_cannot_be_posted()
    {
        var (ledger, _) = await NewLedgerAsync();
        await ledger.SubmitAsync(Pay("f", InFlight("USDT"), Merchant2("USDT"), 100));
        await ledger.SubmitAsync(Pay("p1", Merchant2("USDT"), Suspense("USDT"), 100, pending: true));
        Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(new VoidPending(Id("v1"), Id("p1"))));
        var before = await AssertInvariantsAsync(ledger);
        Assert.Equal(BigInteger.Zero, before[Merchant2("USDT")].DebitsPending);
        Assert.Equal(TransferResult.PendingTransferAlreadyVoided, await ledger.SubmitAsync(new PostPending(Id("x1"), Id("p1"))));
        Assert.Equal(before, await AssertInvariantsAsync(ledger));
    }

    [Fact]
    public async Task Expired_pending_is_released_lazily_on_post_and_cannot_be_posted()
    {
        var time = new ManualTimeProvider(Start);
        var (ledger, _) = await NewLedgerAsync(time);
        await ledger.SubmitAsync(Pay("f", InFlight("USDT"), Merchant2("USDT"), 100));
        await ledger.SubmitAsync(Pay("p1", Merchant2("USDT"), Suspense("USDT"), 70, pending: true, timeout: TimeSpan.FromMinutes(5)));
        time.Advance(TimeSpan.FromMinutes(4));
        Assert.Equal(PendingState.Pending, (await ledger.GetTransferAsync(Id("p1")))!.State);
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(TransferResult.PendingTransferExpired, await ledger.SubmitAsync(new PostPending(Id("x1"), Id("p1"))));
        Assert.Null(await ledger.GetTransferAsync(Id("x1")));
        var b = (await ledger.GetBalanceAsync(Merchant2("USDT")))!;
        Assert.Equal(BigInteger.Zero, b.DebitsPending);
        Assert.Equal(PendingState.Expired, (await ledger.GetTransferAsync(Id("p1")))!.State);
        Assert.Equal(TransferResult.PendingTransferExpired, await ledger.SubmitAsync(new VoidPending(Id("x2"), Id("p1"))));
        await AssertInvariantsAsync(ledger);
    }

    [Fact]
    public async Task Sweep_expires_through_the_index_only_what_is_due()
    {
        var time = new ManualTimeProvider(Start);
        var (ledger, _) = await NewLedgerAsync(time);
        await ledger.SubmitAsync(Pay("f", InFlight("USDT"), Merchant2("USDT"), 1000));
        for (var i = 0; i < 6; i++)
            Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(Pay($"p{i}", Merchant2("USDT"), Suspense("USDT"), 10, pending: true, timeout: TimeSpan.FromMinutes(i < 4 ? 1 : 60))));
        await ledger.SubmitAsync(Pay("forever", Merchant2("USDT"), Suspense("USDT"), 10, pending: true));
        Assert.Equal(0, await ledger.ExpirePendingAsync());
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(new VoidPending(Id("v0"), Id("p5"))));
        Assert.Equal(4, await ledger.ExpirePendingAsync());
        Assert.Equal(0, await ledger.ExpirePendingAsync());
        var b = (await ledger.GetBalanceAsync(Merchant2("USDT")))!;
        Assert.Equal(new BigInteger(20), b.DebitsPending); // p4 (not due) and "forever"
        time.Advance(TimeSpan.FromDays(365));
        Assert.Equal(1, await ledger.ExpirePendingAsync());
        await AssertInvariantsAsync(ledger);
    }

    // ------------------------------------------------------------ linked batches, sharding, history, fees

    [Fact]
    public async Task Linked_batch_fails_as_a_whole_naming_the_failing_transfer()
    {
        var (ledger, _) = await NewLedgerAsync();
        await ledger.SubmitAsync(Pay("f", InFlight("USDT"), Merchant2("USDT"), 100));
        var before = await AssertInvariantsAsync(ledger);
        var results = await ledger.SubmitAsync([
            Pay("l1", Merchant2("USDT"), Suspense("USDT"), 60),
            Pay("l2", InFlight("USDT"), Merchant2("USDT"), 10),
            Pay("l3", Merchant2("USDT"), Suspense("USDT"), 51),
        ]);
        Assert.Equal([TransferResult.LinkedEventFailed, TransferResult.LinkedEventFailed, TransferResult.ExceedsCredits], results);
        Assert.Equal(before, await AssertInvariantsAsync(ledger));
        // In order: the credit of l2 makes room for l3.
        results = await ledger.SubmitAsync([
            Pay("k1", Merchant2("USDT"), Suspense("USDT"), 60),
            Pay("k2", InFlight("USDT"), Merchant2("USDT"), 10),
            Pay("k3", Merchant2("USDT"), Suspense("USDT"), 50),
        ]);
        Assert.All(results, r => Assert.Equal(TransferResult.Ok, r));
        Assert.All(await ledger.SubmitAsync([Pay("k1", Merchant2("USDT"), Suspense("USDT"), 60), Pay("k2", InFlight("USDT"), Merchant2("USDT"), 10)]),
            r => Assert.Equal(TransferResult.Exists, r));
        // 99 transfers + 2 balance shards = 101 items: more than one store transaction holds.
        var many = Enumerable.Range(0, 99).Select(i => (TransferCommand)Pay($"big{i}", InFlight("USDT"), Merchant2("USDT"), 1)).ToList();
        Assert.All(await ledger.SubmitAsync(many), r => Assert.Equal(TransferResult.LinkedBatchTooLarge, r));
        await AssertInvariantsAsync(ledger);
    }

    [Fact]
    public async Task Sharded_account_spreads_credits_and_a_debit_larger_than_any_shard_consolidates()
    {
        var (ledger, store) = await NewLedgerAsync();
        for (var i = 0; i < 16; i++)
            Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(Pay($"c{i}", InFlight("USDT"), Merchant("USDT"), 10)));
        var used = 0;
        for (var s = 0; s < 4; s++)
            if ((await store.GetAsync(new ItemKey("ledger#acct#" + Merchant("USDT") + (s == 0 ? "" : "#" + s), $"bal#{s:D3}")))!.RequireNumber("cpo") > 0) used++;
        Assert.True(used >= 2, "credits should spread over shards");
        Assert.Equal(TransferResult.ExceedsCredits, await ledger.SubmitAsync(Pay("d0", Merchant("USDT"), Suspense("USDT"), 161)));
        Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(Pay("d1", Merchant("USDT"), Suspense("USDT"), 155)));
        Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(Pay("d2", Merchant("USDT"), Suspense("USDT"), 5)));
        Assert.Equal(TransferResult.ExceedsCredits, await ledger.SubmitAsync(Pay("d3", Merchant("USDT"), Suspense("USDT"), 1)));
        var b = (await ledger.GetBalanceAsync(Merchant("USDT")))!;
        Assert.Equal(b.CreditsPosted, b.DebitsPosted);
        await AssertInvariantsAsync(ledger);
    }

    [Fact]
    public async Task History_pages_through_every_transfer_of_a_sharded_account_once_in_order()
    {
        var time = new ManualTimeProvider(Start);
        var (ledger, _) = await NewLedgerAsync(time);
        var expected = new List<string>();
        for (var i = 0; i < 23; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            var id = $"h{i:D2}";
            await ledger.SubmitAsync(i % 5 == 4 ? Pay(id, Merchant("USDT"), Suspense("USDT"), 1) : Pay(id, InFlight("USDT"), Merchant("USDT"), 3));
            expected.Add(id);
        }
        await ledger.SubmitAsync(Pay("other", InFlight("USDT"), Merchant2("USDT"), 3));
        var seen = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await ledger.GetHistoryAsync(Merchant("USDT"), 5, cursor);
            Assert.True(page.Items.Count <= 5);
            seen.AddRange(page.Items.Select(t => t.Id.Value));
            cursor = page.Cursor;
            pages++;
        } while (cursor is not null && pages < 20);
        Assert.Equal(expected, seen);
        Assert.Throws<ArgumentException>(() => ledger.GetHistoryAsync(Merchant("USDT"), 5, "not-a-cursor").GetAwaiter().GetResult());
    }

    [Fact]
    public async Task Payment_credit_takes_the_merchant_fee_as_a_linked_transfer()
    {
        var (ledger, _) = await NewLedgerAsync();
        var fee = new MerchantFee(150, 100); // 1.5% + 100 units
        var credit = await ledger.CreditPaymentAsync("pay_1", "m2", "USDT", 1_000_033, fee);
        Assert.True(credit.Succeeded);
        // 1_000_033 * 150 / 10_000 = 15_000.495 -> 15_000 (half up), + 100.
        Assert.Equal(new BigInteger(15_100), credit.Fee);
        Assert.Equal(new BigInteger(984_933), credit.Net);
        Assert.Equal(new BigInteger(984_933), (await ledger.GetBalanceAsync(Merchant2("USDT")))!.CreditsPosted);
        Assert.Equal(new BigInteger(15_100), (await ledger.GetBalanceAsync(Fees("USDT")))!.CreditsPosted);
        var again = await ledger.CreditPaymentAsync("pay_1", "m2", "USDT", 1_000_033, fee);
        Assert.All(again.Results, r => Assert.Equal(TransferResult.Exists, r));
        // A retry after a fee change is refused, never a second credit.
        var changed = await ledger.CreditPaymentAsync("pay_1", "m2", "USDT", 1_000_033, new MerchantFee(200, 0));
        Assert.False(changed.Succeeded);
        Assert.Contains(TransferResult.ExistsWithDifferentAmount, changed.Results);
        Assert.Equal(new BigInteger(984_933), (await ledger.GetBalanceAsync(Merchant2("USDT")))!.CreditsPosted);
        Assert.Equal(new BigInteger(15_100), (await ledger.GetBalanceAsync(Fees("USDT")))!.CreditsPosted);
        Assert.Equal(new BigInteger(15_001), new MerchantFee(150, 0).FeeFor(1_000_034)); // .51 rounds up
        Assert.Equal(new BigInteger(5), new MerchantFee(0, 10).FeeFor(5)); // never above gross
        await AssertInvariantsAsync(ledger);
    }

    [Fact]
    public async Task Writes_alongside_a_batch_commit_with_it_or_not_at_all()
    {
        var (ledger, store) = await NewLedgerAsync();
        var guard = new ItemKey("pay#p1", "payment");
        await store.PutAsync(new Item(guard) { ["statusVersion"] = 1 });
        var settled = new ItemKey("outbox#p1-paid", "event");
        TransactOp[] Alongside(long version) =>
        [
            TransactOp.Update(guard, new Update().Set("statusVersion", version + 1), Condition.VersionEquals(version, "statusVersion")),
            TransactOp.Put(new Item(settled) { ["type"] = "PaymentPaidV1" }, Condition.ItemAbsent),
        ];

        // A stale guard: the caller's condition fails, named by its own index; the credit is not written either.
        var e = await Assert.ThrowsAsync<ConditionFailedException>(() =>
            ledger.CreditPaymentAsync("dep:1", "m2", "USDT", 1_000, MerchantFee.None, Alongside(7)));
        Assert.Equal(0, e.OperationIndex);
        Assert.Equal(BigInteger.Zero, (await ledger.GetBalanceAsync(Merchant2("USDT")))!.CreditsPosted);
        Assert.Null(await store.GetAsync(settled));

        var ok = await ledger.CreditPaymentAsync("dep:1", "m2", "USDT", 1_000, MerchantFee.None, Alongside(1));
        Assert.All(ok.Results, r => Assert.Equal(TransferResult.Ok, r));
        Assert.Equal(new BigInteger(1_000), (await ledger.GetBalanceAsync(Merchant2("USDT")))!.CreditsPosted);
        Assert.Equal(2, (await store.GetAsync(guard))!.GetInt64("statusVersion"));
        Assert.NotNull(await store.GetAsync(settled));

        // A retry of the committed batch answers Exists and writes nothing alongside (the guard would have failed).
        var again = await ledger.CreditPaymentAsync("dep:1", "m2", "USDT", 1_000, MerchantFee.None, Alongside(2));
        Assert.All(again.Results, r => Assert.Equal(TransferResult.Exists, r));
        Assert.Equal(2, (await store.GetAsync(guard))!.GetInt64("statusVersion"));
        await AssertInvariantsAsync(ledger);
    }

    // ------------------------------------------------------------ reading balances

    [Fact]
    public async Task An_owners_accounts_are_listed_from_the_owner_index_across_pages()
    {
        var (ledger, store) = await NewLedgerAsync();
        var fresh = new Ledger(store, Time); // nothing cached: the listing comes from the store
        Assert.Equal(["m1/ETH/merchant_available", "m1/USDT/merchant_available"], (await fresh.ListAccountsAsync("m1")).Select(a => a.Id.ToString()));
        var m1Usdt = (await fresh.ListAccountsAsync("m1")).Single(a => a.Id.Asset == "USDT");
        Assert.Equal(4, m1Usdt.Shards);
        Assert.Equal(AccountFlags.DebitsMustNotExceedCredits, m1Usdt.Flags);
        Assert.Equal(8, (await fresh.ListAccountsAsync(AccountId.PlatformOwner)).Count);
        Assert.Empty(await fresh.ListAccountsAsync("nobody"));
        await Assert.ThrowsAsync<ArgumentException>(() => fresh.ListAccountsAsync("a/b"));

        // More than one page of the index (100 a query).
        var expected = new List<string>();
        for (var a = 0; a < 12; a++)
            foreach (var kind in Enum.GetValues<AccountKind>())
            {
                var id = AccountId.Create("big", $"A{a:D3}", kind);
                Assert.Equal(AccountResult.Ok, await ledger.CreateAccountAsync(id));
                expected.Add(id.ToString());
            }
        var listed = (await fresh.ListAccountsAsync("big")).Select(a => a.Id.ToString()).ToList();
        Assert.Equal(108, listed.Count);
        Assert.Equal(expected.Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Balances_read_together_are_one_state_while_transfers_and_consolidations_run()
    {
        // m1 (4 shards) and m2 hold 1,000,000 between them; transfers move it back and forth, some larger than any shard of
        // m1 (a consolidation first). Every consistent read must see the whole amount: a transfer on both sides or neither.
        var (ledger, _) = await NewLedgerAsync();
        const long total = 1_000_000;
        for (var i = 0; i < 8; i++) await ledger.SubmitAsync(Pay($"fund-{i}", InFlight("USDT"), Merchant("USDT"), total / 8));
        var accounts = new[] { (await ledger.GetAccountAsync(Merchant("USDT")))!, (await ledger.GetAccountAsync(Merchant2("USDT")))! };

        using var done = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            try
            {
                for (var i = 0; i < 40; i++)
                {
                    await ledger.SubmitAsync(Pay($"out-{i}", Merchant("USDT"), Merchant2("USDT"), 300_000 + i));
                    await ledger.SubmitAsync(Pay($"back-{i}", Merchant2("USDT"), Merchant("USDT"), 300_000 + i));
                }
            }
            finally
            {
                done.Cancel();
            }
        });
        var consistent = 0;
        while (!done.IsCancellationRequested)
        {
            var snapshot = await ledger.GetBalancesAsync(accounts);
            if (!snapshot.Consistent) continue;
            consistent++;
            Assert.Equal(new BigInteger(total), snapshot.Balances.Aggregate(BigInteger.Zero, (sum, b) => sum + b.CreditBalance));
            Assert.Equal([Merchant("USDT"), Merchant2("USDT")], snapshot.Balances.Select(b => b.Account));
        }
        await writer;
        Assert.True(consistent > 0, "No consistent read while the transfers ran.");
        var after = await ledger.GetBalancesAsync(accounts);
        Assert.True(after.Consistent);
        Assert.Equal(new BigInteger(total), after.Balances[0].CreditBalance);
        Assert.Equal(BigInteger.Zero, after.Balances[1].CreditBalance);
        Assert.Empty((await ledger.GetBalancesAsync([])).Balances);
        await AssertInvariantsAsync(ledger);
    }

    // ------------------------------------------------------------ concurrency

    [Fact]
    public async Task Concurrent_calls_are_coalesced_yet_each_gets_its_own_answer()
    {
        // One group at a time: calls made while it is written queue up and form the next group.
        var (ledger, store) = await NewLedgerAsync(options: _factory.Options with { CoalesceMaxInFlight = 1 });
        Assert.Equal(TransferResult.Ok, await ledger.SubmitAsync(Pay("fund", InFlight("USDT"), Merchant2("USDT"), 100)));
        var requestsBefore = (store as Molly.Storage.Sqlite.SqliteItemStore)?.WriteRequests;

        var credits = Enumerable.Range(0, 20).Select(i => Pay($"c{i}", InFlight("USDT"), Merchant("USDT"), 1)).ToList();
        var calls = new List<(CreateTransfer Transfer, Task<TransferResult> Result)>();
        void Call(CreateTransfer t) => calls.Add((t, ledger.SubmitAsync(t)));
        Call(Pay("d1", Merchant2("USDT"), Suspense("USDT"), 60));
        credits.Take(10).ToList().ForEach(Call);
        Call(Pay("d2", Merchant2("USDT"), Suspense("USDT"), 60)); // together with d1 it would overdraw
        Call(Pay("dup", InFlight("USDT"), Merchant2("USDT"), 5));
        Call(Pay("dup", InFlight("USDT"), Merchant2("USDT"), 5)); // the same id twice: one is the other's retry
        credits.Skip(10).ToList().ForEach(Call);
        await Task.WhenAll(calls.Select(c => c.Result));
        var results = calls.Select(c => (c.Transfer, Result: c.Result.Result)).ToList();

        Assert.All(results.Where(r => r.Transfer.Id.Value!.StartsWith('c')), r => Assert.Equal(TransferResult.Ok, r.Result));
        Assert.Equal([TransferResult.Ok, TransferResult.ExceedsCredits],
            results.Where(r => r.Transfer.Id.Value is "d1" or "d2").Select(r => r.Result).Order());
        Assert.Equal([TransferResult.Ok, TransferResult.Exists],
            results.Where(r => r.Transfer.Id.Value == "dup").Select(r => r.Result).Order());
        var balances = await AssertInvariantsAsync(ledger);
        Assert.Equal(new BigInteger(20), balances[Merchant("USDT")].CreditsPosted);
        Assert.Equal(new BigInteger(105), balances[Merchant2("USDT")].CreditsPosted);
        Assert.Equal(new BigInteger(60), balances[Merchant2("USDT")].DebitsPosted);
        if (requestsBefore is { } before)
            Assert.True(((Molly.Storage.Sqlite.SqliteItemStore)store).WriteRequests - before < calls.Count, "no two calls shared a store transaction");
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Concurrent_writers_lose_nothing_double_nothing_and_never_overdraw()
    {
        var (ledger, _) = await NewLedgerAsync();
        var asset = "USDT";
        var acked = new System.Collections.Concurrent.ConcurrentBag<CreateTransfer>();
        var writers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            var rng = new Random(w);
            for (var i = 0; i < 25; i++)
            {
                // Credits into the merchants and fee account; debits out of them compete for the same balance.
                var t = rng.Next(4) switch
                {
                    0 => Pay($"w{w}-{i}", InFlight(asset), Merchant(asset), rng.Next(1, 20)),
                    1 => Pay($"w{w}-{i}", Merchant(asset), Suspense(asset), rng.Next(1, 30)),
                    2 => Pay($"w{w}-{i}", InFlight(asset), Merchant2(asset), rng.Next(1, 20)),
                    _ => Pay($"w{w}-{i}", Merchant2(asset), Fees(asset), rng.Next(1, 30)),
                };
                var r = await ledger.SubmitAsync(t);
                Assert.True(r is TransferResult.Ok or TransferResult.ExceedsCredits, $"{t.Id}: {r}");
                if (r == TransferResult.Ok) acked.Add(t);
                if (rng.Next(5) == 0)
                {
                    var again = await ledger.SubmitAsync(t);
                    if (r == TransferResult.Ok) Assert.Equal(TransferResult.Exists, again);
                    else if (again == TransferResult.Ok) acked.Add(t); // a credit arrived meanwhile
                }
            }
        })).ToArray();
        await Task.WhenAll(writers);
        var balances = await AssertInvariantsAsync(ledger);
        foreach (var id in All(asset))
        {
            var debits = acked.Where(t => t.Debit == id).Aggregate(BigInteger.Zero, (a, t) => a + t.Amount);
            var credits = acked.Where(t => t.Credit == id).Aggregate(BigInteger.Zero, (a, t) => a + t.Amount);
            Assert.Equal(debits, balances[id].DebitsPosted);
            Assert.Equal(credits, balances[id].CreditsPosted);
        }
        Assert.Contains(acked, t => t.Debit == Merchant(asset));
    }

    // ------------------------------------------------------------ properties

    private abstract record Op;
    private sealed record TransferOp(int Asset, int From, int To, int Amount, bool Pending, int TimeoutMinutes) : Op;
    private sealed record PostOp(int Which, int Percent) : Op;
    private sealed record VoidOp(int Which) : Op;
    private sealed record AdvanceOp(int Minutes) : Op;
    private sealed record RetryOp(int Which) : Op;
    private sealed record SweepOp : Op;

    private static Gen<Op> OpGen() => Gen.Frequency(
        (6, from a in Gen.Choose(0, 1) from f in Gen.Choose(0, 5) from t in Gen.Choose(0, 5) from amt in Gen.Choose(-2, 60)
            from p in Gen.Elements(false, false, true) from to in Gen.Elements(0, 0, 3, 10)
            select (Op)new TransferOp(a, f, t, amt, p, p ? to : 0)),
        (2, from w in Gen.Choose(0, 100) from pc in Gen.Choose(1, 120) select (Op)new PostOp(w, pc)),
        (1, Gen.Choose(0, 100).Select(w => (Op)new VoidOp(w))),
        (1, Gen.Choose(1, 8).Select(m => (Op)new AdvanceOp(m))),
        (2, Gen.Choose(0, 100).Select(w => (Op)new RetryOp(w))),
        (1, Gen.Constant((Op)new SweepOp())));

    [Fact]
    [Trait("Category", "Slow")]
    public void Random_sequences_keep_double_entry_limits_and_replays_harmless()
    {
        var gen = Gen.ListOf(OpGen()).Select(l => l.Take(30).ToList());
        Prop.ForAll(gen.ToArbitrary(), ops => RunSequenceAsync(ops).GetAwaiter().GetResult())
            .Check(Config.QuickThrowOnFailure.WithMaxTest(PropertyCases));
    }

    private async Task RunSequenceAsync(List<Op> ops)
    {
        var time = new ManualTimeProvider(Start);
        var (ledger, _) = await NewLedgerAsync(time);
        var submitted = new List<(TransferCommand Command, TransferResult Result)>();
        var pendings = new List<TransferId>();
        var n = 0;
        foreach (var op in ops)
        {
            TransferCommand? cmd = null;
            switch (op)
            {
                case TransferOp t:
                    var asset = Assets[t.Asset];
                    var accounts = All(asset).ToArray();
                    var id = Id($"t{n++}");
                    cmd = new CreateTransfer(id, accounts[t.From], accounts[t.To], t.Amount, asset, 1, null, t.Pending,
                        t.TimeoutMinutes > 0 ? TimeSpan.FromMinutes(t.TimeoutMinutes) : null);
                    break;
                case PostOp p when pendings.Count > 0:
                    var pid = pendings[p.Which % pendings.Count];
                    var pend = await ledger.GetTransferAsync(pid);
                    cmd = new PostPending(Id($"t{n++}"), pid, p.Percent > 100 ? null : BigInteger.Max(1, pend!.Amount * p.Percent / 100));
                    break;
                case VoidOp v when pendings.Count > 0:
                    cmd = new VoidPending(Id($"t{n++}"), pendings[v.Which % pendings.Count]);
                    break;
                case AdvanceOp a:
                    time.Advance(TimeSpan.FromMinutes(a.Minutes));
                    break;
                case SweepOp:
                    await ledger.ExpirePendingAsync();
                    break;
                case RetryOp r when submitted.Count > 0:
                    var (prev, prevResult) = submitted[r.Which % submitted.Count];
                    var before = await AssertInvariantsAsync(ledger);
                    var again = await ledger.SubmitAsync(prev);
                    if (prevResult == TransferResult.Ok) Assert.Equal(TransferResult.Exists, again);
                    if (again is TransferResult.Ok)
                        submitted.Add((prev, again)); // a rejected command may succeed later (e.g. a credit arrived)
                    else
                        Assert.Equal(before, await AssertInvariantsAsync(ledger));
                    break;
            }
            if (cmd is null) continue;
            var snapshot = await AssertInvariantsAsync(ledger);
            var result = await ledger.SubmitAsync(cmd);
            submitted.Add((cmd, result));
            var stored = await ledger.GetTransferAsync(cmd.Id);
            Assert.Equal(result == TransferResult.Ok, stored is not null);
            if (result != TransferResult.Ok)
            {
                // Nothing written, except that a post/void may have lazily expired its pending transfer.
                if (result != TransferResult.PendingTransferExpired) Assert.Equal(snapshot, await AssertInvariantsAsync(ledger));
            }
            else if (cmd is CreateTransfer { Pending: true }) pendings.Add(cmd.Id);
            if (cmd is CreateTransfer c && c.Amount <= 0) Assert.NotEqual(TransferResult.Ok, result);
        }
        await AssertInvariantsAsync(ledger);
    }
}

public sealed class LedgerContractTests_Sqlite() : LedgerContractTests(new SqliteStoreFactory())
{
    protected override int PropertyCases => 40;
}

[Trait("Category", "Slow")]
public sealed class LedgerContractTests_DynamoDbLocal() : LedgerContractTests(new DynamoDbLocalStoreFactory())
{
    protected override int PropertyCases => 8;
}
