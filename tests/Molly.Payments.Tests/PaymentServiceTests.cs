using System.Collections.Concurrent;
using System.Numerics;
using Molly.Domain;
using Molly.Domain.Payments;
using Molly.Storage;
using Molly.Storage.Sqlite;
using Molly.Testing;

namespace Molly.Payments.Tests;

/// <summary>The payments service against a real store; subclassed once per store so each runs the same cases.</summary>
public abstract class PaymentServiceTests : IAsyncLifetime
{
    private static readonly AssetRegistry Assets = AssetRegistry.ForNetworks(["mainnet"]);
    private static readonly MerchantPaymentSettings Shop = new("m_shop", new HashSet<string> { "USDT@tron", "ETH@ethereum", "BTC@bitcoin" });
    private static readonly MerchantPaymentSettings Other = new("m_other", new HashSet<string> { "USDT@tron" });

    protected IItemStore Store { get; private set; } = null!;
    private PaymentService _service = null!;

    protected abstract Task<IItemStore> CreateStoreAsync();

    public async Task InitializeAsync()
    {
        Store = await CreateStoreAsync();
        _service = new PaymentService(Store, Assets, new IndexedTargets(), new PaymentOptions { PublicBaseUrl = "https://pay.example/" },
            TimeProvider.System);
    }

    public async Task DisposeAsync()
    {
        if (Store is IAsyncDisposable d) await d.DisposeAsync();
    }

    private static CreatePaymentCommand Order(string orderId, string amount = "25.50", string asset = "USDT", string chain = "tron") =>
        new(orderId, amount, asset, chain, Metadata: new Dictionary<string, string> { ["customer"] = "c-77" });

    [Fact]
    public async Task Creates_a_payment_with_its_address_outbox_event_and_watched_address_in_one_go()
    {
        var outcome = await _service.CreateAsync(Shop, "k1", Order("o-1"));
        var view = Assert.IsType<CreatePaymentOutcome.Created>(outcome).Payment;
        Assert.Equal("created", view.Status);
        Assert.Equal("25.5", view.Amount);
        Assert.Equal("tron", view.Chain);
        Assert.Equal("addr-tron-0", view.Address);
        Assert.Equal($"https://pay.example/checkout/{view.Id}", view.CheckoutUrl);
        Assert.Equal(view.ExpiresAt - view.CreatedAt, TimeSpan.FromMinutes(15));

        var watched = await Store.GetAsync(new ItemKey("addr#tron#addr-tron-0", "addr"));
        Assert.Equal(view.Id, watched?.GetString("paymentId"));
        var item = await Store.GetAsync(new ItemKey($"pay#{view.Id}", "payment"));
        Assert.Equal("25500000", item?.GetString("amount"));

        var batch = await Store.ChangeFeed.ReadAsync(null);
        var outbox = Assert.Single(batch.Changes, c => c.Key.PK.StartsWith("outbox#", StringComparison.Ordinal));
        Assert.Equal(nameof(PaymentCreatedV1), outbox.NewImage!.GetString("type"));
        Assert.Contains(view.Id, outbox.NewImage.GetString("payload"));
    }

    [Fact]
    public async Task A_companion_write_commits_with_the_payment_or_its_refusal_writes_nothing()
    {
        var companion = new Item(new ItemKey("SIG#k#0001", "SIG")) { ["type"] = "SeenSignature" };
        var created = await _service.CreateAsync(Shop, "k1", Order("o-1"), TransactOp.Put(companion, Condition.ItemAbsent));
        var view = Assert.IsType<CreatePaymentOutcome.Created>(created).Payment;
        Assert.NotNull(await Store.GetAsync(companion.Key));
        Assert.NotNull(await Store.GetAsync(new ItemKey($"pay#{view.Id}", "payment")));

        // The same companion again (a replayed signature): refused, and nothing of the second payment exists.
        var refused = await _service.CreateAsync(Shop, "k2", Order("o-2"), TransactOp.Put(companion, Condition.ItemAbsent));
        Assert.IsType<CreatePaymentOutcome.CompanionRejected>(refused);
        Assert.Null(await Store.GetAsync(new ItemKey("m#m_shop#order#o-2", "order")));
        Assert.Null(await Store.GetAsync(new ItemKey("m#m_shop#idem#k2", "idem")));
        var page = await Store.QueryAsync(new Query("m#m_shop#pay") { Index = "GSI1" });
        Assert.Equal([view.Id], page.Items.Select(i => i.PK["pay#".Length..]));
        var outbox = (await Store.ChangeFeed.ReadAsync(null)).Changes.Where(c => c.Key.PK.StartsWith("outbox#", StringComparison.Ordinal));
        Assert.Single(outbox);
    }

    [Fact]
    public async Task Same_key_and_request_replays_the_original_response_and_writes_nothing()
    {
        var first = Assert.IsType<CreatePaymentOutcome.Created>(await _service.CreateAsync(Shop, "k1", Order("o-1"))).Payment;
        var before = (await Store.ChangeFeed.ReadAsync(null)).Changes.Count;
        // The same request with metadata in another order is the same request.
        var again = await _service.CreateAsync(Shop, "k1", Order("o-1") with { Metadata = new Dictionary<string, string> { ["customer"] = "c-77" } });
        var replayed = Assert.IsType<CreatePaymentOutcome.Replayed>(again).Payment;
        Assert.Equal(Json(first), Json(replayed));
        Assert.Equal(before, (await Store.ChangeFeed.ReadAsync(null)).Changes.Count);
    }

    [Fact]
    public async Task A_replay_answers_the_payment_as_created_after_it_moved_on_and_reads_older_records()
    {
        var first = Assert.IsType<CreatePaymentOutcome.Created>(await _service.CreateAsync(Shop, "k1", Order("o-1"))).Payment;
        await Store.UpdateAsync(new ItemKey($"pay#{first.Id}", "payment"),
            new Update().Set("status", "paid").Set("statusVersion", 3).Set("received", "25500000"));
        var replayed = Assert.IsType<CreatePaymentOutcome.Replayed>(await _service.CreateAsync(Shop, "k1", Order("o-1"))).Payment;
        Assert.Equal(Json(first), Json(replayed));
        Assert.Equal("paid", (await _service.GetAsync(Shop.MerchantId, first.Id))!.Status);

        // A record of the earlier shape (the response itself, no payment id) still replays.
        var idem = new ItemKey("m#m_shop#idem#k1", "idem");
        var record = (await Store.GetAsync(idem))!;
        var legacy = new Item(idem) { ["fingerprint"] = record.RequireString("fingerprint"), ["response"] = Json(first with { Address = "legacy" }) };
        await Store.PutAsync(legacy);
        var old = Assert.IsType<CreatePaymentOutcome.Replayed>(await _service.CreateAsync(Shop, "k1", Order("o-1"))).Payment;
        Assert.Equal("legacy", old.Address);
    }

    [Fact]
    public async Task Same_key_with_another_request_is_a_conflict()
    {
        await _service.CreateAsync(Shop, "k1", Order("o-1"));
        var conflict = Assert.IsType<CreatePaymentOutcome.Conflict>(await _service.CreateAsync(Shop, "k1", Order("o-1", amount: "26")));
        Assert.Contains("different request", conflict.Reason);
    }

    [Fact]
    public async Task An_order_id_takes_one_payment_even_under_concurrent_creates()
    {
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => _service.CreateAsync(Shop, $"key-{i}", Order("o-race"))));
        Assert.Single(outcomes, o => o is CreatePaymentOutcome.Created);
        Assert.All(outcomes.Where(o => o is not CreatePaymentOutcome.Created), o => Assert.IsType<CreatePaymentOutcome.Conflict>(o));
        var orderClaim = await Store.GetAsync(new ItemKey("m#m_shop#order#o-race", "order"));
        var created = outcomes.OfType<CreatePaymentOutcome.Created>().Single().Payment;
        Assert.Equal(created.Id, orderClaim?.GetString("paymentId"));
    }

    [Theory]
    [InlineData("1.0000001", "USDT", "tron", "amount", "6 decimal places")]
    [InlineData("0", "USDT", "tron", "amount", "more than zero")]
    [InlineData("1", "DOGE", "tron", "asset", "Unknown asset 'DOGE'")]
    [InlineData("1", "USDT", "bitcoin", "asset", "not available on chain 'bitcoin'")]
    [InlineData("1", "USDT", "fantom", "chain", "Unknown chain 'fantom'")]
    [InlineData("1", "USDC", "ethereum", "asset", "does not accept USDC@ethereum")]
    [InlineData("1e3", "USDT", "tron", "amount", "not a decimal amount")]
    public async Task Bad_requests_are_refused_with_the_field_and_reason_and_write_nothing(
        string amount, string asset, string chain, string field, string reason)
    {
        var outcome = await _service.CreateAsync(Shop, "k1", Order("o-1", amount, asset, chain));
        var invalid = Assert.IsType<CreatePaymentOutcome.Invalid>(outcome);
        Assert.Contains(reason, Assert.Single(invalid.Errors[field]));
        Assert.Empty((await Store.ChangeFeed.ReadAsync(null)).Changes);
    }

    [Fact]
    public async Task A_missing_idempotency_key_and_bad_fields_are_reported_together()
    {
        var invalid = Assert.IsType<CreatePaymentOutcome.Invalid>(await _service.CreateAsync(Shop, null,
            new CreatePaymentCommand("bad id with spaces", null, "USDT", "tron", ExpiresInSeconds: 5, RedirectUrl: "javascript:alert(1)")));
        Assert.Equal(["Idempotency-Key", "amount", "expiresInSeconds", "merchantOrderId", "redirectUrl"], invalid.Errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Another_merchants_payment_is_not_found()
    {
        var view = Assert.IsType<CreatePaymentOutcome.Created>(await _service.CreateAsync(Shop, "k1", Order("o-1"))).Payment;
        Assert.NotNull(await _service.GetAsync(Shop.MerchantId, view.Id));
        Assert.Null(await _service.GetAsync(Other.MerchantId, view.Id));
        Assert.Null(await _service.GetAsync(Shop.MerchantId, "pay_does_not_exist"));
        Assert.Null(await _service.GetAsync(Shop.MerchantId, "../../etc"));
    }

    [Fact]
    public async Task Pages_lose_and_repeat_nothing_while_payments_are_created()
    {
        var existing = new List<string>();
        for (var i = 0; i < 23; i++)
            existing.Add(Assert.IsType<CreatePaymentOutcome.Created>(await _service.CreateAsync(Shop, $"k{i}", Order($"o-{i}"))).Payment.Id);

        var seen = new List<string>();
        var times = new List<DateTimeOffset>();
        string? cursor = null;
        var inserting = Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++) await _service.CreateAsync(Shop, $"late{i}", Order($"late-{i}"));
        });
        do
        {
            var page = await _service.ListAsync(Shop.MerchantId, null, null, null, 5, cursor);
            seen.AddRange(page.Items.Select(p => p.Id));
            times.AddRange(page.Items.Select(p => p.CreatedAt));
            cursor = page.Cursor;
        } while (cursor is not null);
        await inserting;

        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Empty(existing.Except(seen));
        Assert.Equal(times, times.OrderByDescending(t => t)); // newest first
    }

    [Fact]
    public async Task Lists_by_status_and_time_window()
    {
        var a = Assert.IsType<CreatePaymentOutcome.Created>(await _service.CreateAsync(Shop, "k1", Order("o-1"))).Payment;
        var created = await _service.ListAsync(Shop.MerchantId, PaymentStatus.Created, null, null, 10, null);
        Assert.Equal([a.Id], created.Items.Select(p => p.Id));
        Assert.Empty((await _service.ListAsync(Shop.MerchantId, PaymentStatus.Paid, null, null, 10, null)).Items);
        Assert.Empty((await _service.ListAsync(Shop.MerchantId, null, a.CreatedAt.AddMinutes(1), null, 10, null)).Items);
        Assert.Single((await _service.ListAsync(Shop.MerchantId, null, a.CreatedAt.AddSeconds(-1), a.CreatedAt.AddSeconds(1), 10, null)).Items);
        Assert.Empty((await _service.ListAsync(Other.MerchantId, null, null, null, 10, null)).Items);
    }

    [Fact]
    public async Task Allocation_moves_to_the_next_shard_when_one_is_full_and_never_repeats_an_index()
    {
        await Store.PutAsync(new Item("alloc#bitcoin#mainnet", "shard#00000000") { ["next"] = AddressShards.Size - 2 });
        // Two processes (two allocators) reserving blocks of 3 from the same counters.
        var a = new DepositAddressAllocator(Store, blockSize: 3);
        var b = new DepositAddressAllocator(Store, blockSize: 3);
        var got = new ConcurrentBag<long>();
        await Task.WhenAll(Enumerable.Range(0, 12).Select(async i => got.Add(await (i % 2 == 0 ? a : b).AllocateAsync("bitcoin", "mainnet"))));
        Assert.Equal(12, got.Distinct().Count());
        Assert.Equal(2, got.Count(i => i < AddressShards.Size));       // 9,998 and 9,999: the rest of shard 0
        // Then shard 1, in blocks; each allocator may also hold one block reserved ahead.
        Assert.All(got.Where(i => i >= AddressShards.Size), i => Assert.InRange(i, 10_000, 10_009 + 2 * 3));
        var pointer = await Store.GetAsync(new ItemKey("alloc#bitcoin#mainnet", "open"));
        Assert.Equal(1, pointer?.GetInt64("shard"));
    }

    [Fact]
    public async Task The_next_block_is_reserved_while_half_of_the_current_one_is_left()
    {
        var allocator = new DepositAddressAllocator(Store, blockSize: 4);
        var counter = new ItemKey("alloc#ethereum#mainnet", "shard#00000000");
        Assert.Equal(0, await allocator.AllocateAsync("ethereum", "mainnet"));
        Assert.Equal(1, await allocator.AllocateAsync("ethereum", "mainnet"));
        // Two of four left: the next block is being reserved in the background.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await Store.GetAsync(counter))?.GetInt64("next") != 8 && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.Equal(8, (await Store.GetAsync(counter))?.GetInt64("next"));
        var rest = new List<long>();
        for (var i = 0; i < 6; i++) rest.Add(await allocator.AllocateAsync("ethereum", "mainnet"));
        Assert.Equal([2L, 3L, 4L, 5L, 6L, 7L], rest);
    }

    private static string Json(PaymentView v) => System.Text.Json.JsonSerializer.Serialize(v, PaymentsJsonContext.Default.PaymentView);

    /// <summary>Deterministic targets for service tests; the real factory (derived from xpubs) is tested against `molly keys derive`.</summary>
    private sealed class IndexedTargets : IDepositTargetFactory
    {
        public DepositTarget Create(Asset asset, long index, BigInteger amount, string label) =>
            new($"addr-{asset.Chain}-{index}", $"m/0/{index}", $"{asset.Chain}:addr-{asset.Chain}-{index}?amount={Amount.Format(amount, asset.Decimals)}", null);
    }
}

public sealed class SqlitePaymentServiceTests : PaymentServiceTests
{
    private string _path = "";

    protected override Task<IItemStore> CreateStoreAsync()
    {
        _path = Path.Combine(Path.GetTempPath(), $"molly-payments-{Guid.NewGuid():N}.db");
        return Task.FromResult<IItemStore>(SqliteItemStore.Open(new SqliteItemStoreOptions { Path = _path }));
    }
}

public sealed class DynamoDbPaymentServiceTests : PaymentServiceTests
{
    protected override async Task<IItemStore> CreateStoreAsync() => await DynamoDbLocal.Shared.CreateStoreAsync();
}
