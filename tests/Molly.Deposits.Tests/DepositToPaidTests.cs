using System.Globalization;
using System.Net;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Molly.Chains.Evm;
using Molly.Ledger;
using Molly.Settlement;
using Molly.Storage;
using Molly.Testing;
using Molly.Workflows;
using Xunit;

namespace Molly.Deposits.Tests;

/// <summary>
/// The whole slice on one machine: the API host with its real local workers (chain watcher, deposit-confirm starter, workflow
/// engine, settlement handlers) on SQLite, against a real Hardhat node, paid by transactions our EIP-1559 signer built.
/// Nothing is stubbed; waits are shortened by configuration only (watcher poll 100 ms, 1 s block time so the workflow's
/// Wait between confirmation checks is 1 s), never by sleeping in the test.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class DepositToPaidTests(HardhatFixture hardhat) : IClassFixture<HardhatFixture>
{
    /// <summary>Settings beside GatewayFactory's run.sh-like ones: CheckConfirmations' waitSeconds = missing blocks x 1 s.</summary>
    public static readonly IReadOnlyDictionary<string, string> FastConfirm = new Dictionary<string, string>
    {
        ["Molly:Settlement:BlockTimeSeconds:ethereum"] = "1",
    };

    private static readonly MerchantFee Fee = new(250, 1000); // 2.5 % + 1,000 base units

    private static readonly string[] Settled = ["PaymentPaidV1", "PaymentUnderpaidV1", "PaymentOverpaidV1", "PaymentPaidLateV1"];

    private static BigInteger Net(BigInteger gross) => gross - (gross * Fee.BasisPoints + 5_000) / 10_000 - Fee.Fixed;

    [Fact]
    public async Task Paid_underpaid_and_overpaid_in_eth_and_usdt_each_end_in_their_status_credited_net_of_the_fee_once()
    {
        var node = hardhat.Node;
        using var gateway = new GatewayFactory(node.RpcUrl, settings: FastConfirm);
        var shop = await gateway.MerchantAsync();
        await gateway.WatcherStartedAsync();

        var cases = new (string Asset, string Amount, BigInteger Paid, string Received, string Status)[]
        {
            ("ETH", "0.25", BigInteger.Parse("250000000000000000", CultureInfo.InvariantCulture), "0.25", "paid"),
            ("USDT", "12.5", 12_500_000, "12.5", "paid"),
            ("USDT", "10", 5_000_000, "5", "underpaid"),
            ("ETH", "0.1", BigInteger.Parse("150000000000000000", CultureInfo.InvariantCulture), "0.15", "overpaid"),
        };
        var payments = new List<(string Id, string Merchant, string LedgerAsset)>();
        foreach (var c in cases)
        {
            var created = await shop.CreatePaymentAsync(c.Asset, c.Amount);
            var id = created.GetProperty("id").GetString()!;
            var merchant = await MerchantIdAsync(gateway, id);
            var ledgerAsset = $"{c.Asset}-ethereum";
            payments.Add((id, merchant, ledgerAsset));
        }
        // The fee is the merchant's setting (what PUT /v1/admin/merchants/{id}/settings writes), read when each payment is credited.
        foreach (var merchant in payments.Select(p => p.Merchant).Distinct())
            await gateway.Services.GetRequiredService<IItemStore>().PutAsync(new Molly.Payments.MerchantSettings(["ETH@ethereum", "USDT@ethereum"], 0,
                Molly.Payments.MerchantPlan.Standard, new Dictionary<string, MerchantFee> { ["ETH@ethereum"] = Fee, ["USDT@ethereum"] = Fee }).ToItem(merchant));
        // All four in ONE block: with automine each would sit in its own block and the next one would confirm it.
        var addresses = new List<EvmAddress>();
        foreach (var p in payments) addresses.Add(await AddressAsync(shop, p.Id));
        var txs = new List<string>();
        await node.SetAutomineAsync(false);
        try
        {
            for (var i = 0; i < cases.Length; i++)
                txs.Add(cases[i].Asset == "ETH"
                    ? await node.SendEthAsync(node.DevAccount(1 + i), addresses[i], cases[i].Paid)
                    : await node.SendTokenAsync(node.DevAccount(1 + i), addresses[i], cases[i].Paid));
            await node.MineAsync(1);
        }
        finally
        {
            await node.SetAutomineAsync(true);
        }
        var blocks = new HashSet<ulong>();
        foreach (var tx in txs)
        {
            var receipt = await node.WaitForReceiptAsync(tx, TimeSpan.FromSeconds(30));
            Assert.True(receipt.Succeeded);
            blocks.Add(receipt.BlockNumber);
        }
        Assert.Single(blocks);

        // The pay block is mined (1 confirmation): detected, not yet paid. One more block = the 2 of assets.json.
        foreach (var p in payments) await StatusAsync(shop, p.Id, "confirming");
        foreach (var p in payments) Assert.Equal("confirming", await ReadStatusAsync(shop, p.Id));
        await node.MineAsync(1);

        // Per asset the merchant account holds the sum of its payments' nets, each posted exactly once.
        var expected = new Dictionary<string, (BigInteger Net, int Transfers)>();
        for (var i = 0; i < cases.Length; i++)
        {
            await StatusAsync(shop, payments[i].Id, cases[i].Status);
            var read = await shop.SendAsync(HttpMethod.Get, Get(payments[i].Id), null, HttpStatusCode.OK);
            Assert.Equal(cases[i].Received, read.GetProperty("amountReceived").GetString());
            var e = expected.GetValueOrDefault(payments[i].LedgerAsset);
            expected[payments[i].LedgerAsset] = (e.Net + Net(cases[i].Paid), e.Transfers + 1);
        }
        await WorkflowsDoneAsync(gateway, payments.Count);
        var merchantId = payments[0].Merchant;
        foreach (var (asset, (net, transfers)) in expected)
        {
            var account = AccountId.Create(merchantId, asset, AccountKind.MerchantAvailable);
            var balance = (await Ledger(gateway).GetBalanceAsync(account))!;
            Assert.Equal(net, balance.CreditsPosted - balance.DebitsPosted);
            Assert.Equal(transfers, (await Ledger(gateway).GetHistoryAsync(account, 100)).Items.Count);
        }
        var outbox = await OutboxAsync(gateway);
        foreach (var (p, c) in payments.Zip(cases))
        {
            var type = c.Status switch { "paid" => "PaymentPaidV1", "underpaid" => "PaymentUnderpaidV1", _ => "PaymentOverpaidV1" };
            Assert.Single(outbox, o => o.Type == type && o.PaymentId == p.Id);
            Assert.Single(outbox, o => Settled.Contains(o.Type) && o.PaymentId == p.Id); // one settlement event, no other
        }
    }

    [Fact]
    public async Task An_expired_payment_paid_later_ends_paid_late_and_is_credited_once()
    {
        var node = hardhat.Node;
        using var gateway = new GatewayFactory(node.RpcUrl, settings: FastConfirm);
        var shop = await gateway.MerchantAsync();
        await gateway.WatcherStartedAsync();
        var created = await shop.SendAsync(HttpMethod.Post, "/v1/payments",
            $$"""{"merchantOrderId":"late-{{Guid.NewGuid():N}}","amount":"7","asset":"USDT","chain":"ethereum","expiresInSeconds":60}""",
            HttpStatusCode.Created, idempotencyKey: Guid.NewGuid().ToString("N"));
        var id = created.GetProperty("id").GetString()!;

        // The chain's clock moves past the expiry (lateness is judged by the block's time, as on a real chain).
        await node.Rpc.CallAsync("evm_increaseTime", [120]);
        await PayAsync(node, await AddressAsync(shop, id), "USDT", 7_000_000, account: 6);
        await StatusAsync(shop, id, "confirming");
        await node.MineAsync(1);
        await StatusAsync(shop, id, "paid_late");

        await WorkflowsDoneAsync(gateway, 1);
        var merchant = await MerchantIdAsync(gateway, id);
        var account = AccountId.Create(merchant, "USDT-ethereum", AccountKind.MerchantAvailable);
        Assert.Equal(new BigInteger(7_000_000), (await Ledger(gateway).GetBalanceAsync(account))!.CreditsPosted);
        Assert.Single((await Ledger(gateway).GetHistoryAsync(account, 100)).Items);
        Assert.Single(await OutboxAsync(gateway), o => o.Type == "PaymentPaidLateV1" && o.PaymentId == id);
    }

    [Fact]
    public async Task A_deposit_removed_by_a_reorg_is_undone_the_payment_goes_back_to_created_and_nothing_is_credited()
    {
        await using var node = await HardhatNode.StartAsync(); // evm_revert rewrites the chain: a node of its own
        using var gateway = new GatewayFactory(node.RpcUrl, settings: FastConfirm);
        var shop = await gateway.MerchantAsync();
        await gateway.WatcherStartedAsync();
        var created = await shop.CreatePaymentAsync("ETH", "1");
        var id = created.GetProperty("id").GetString()!;

        var snapshot = await node.SnapshotAsync();
        var tx = await PayAsync(node, await AddressAsync(shop, id), "ETH", BigInteger.Pow(10, 18), account: 1);
        await StatusAsync(shop, id, "confirming"); // detected at 1 confirmation; the workflow waits for the 2nd
        var depositId = DepositKeys.DepositId("ethereum", tx.ToLowerInvariant(), "n0");

        Assert.True(await node.RevertAsync(snapshot));
        await node.MineAsync(3); // a longer chain without the transaction

        await StatusAsync(shop, id, "created");
        var execution = await WorkflowsDoneAsync(gateway, 1);
        Assert.Equal(ExecutionStatus.Succeeded, execution.Single().Status);
        Assert.Equal(DepositStatus.Orphaned, (await gateway.Store.GetAsync(DepositKeys.Deposit(depositId)))!.GetString("status"));
        var read = await shop.SendAsync(HttpMethod.Get, Get(id), null, HttpStatusCode.OK);
        Assert.Equal("0", read.GetProperty("amountReceived").GetString());

        var merchant = await MerchantIdAsync(gateway, id);
        var account = AccountId.Create(merchant, "ETH-ethereum", AccountKind.MerchantAvailable);
        Assert.True(await Ledger(gateway).GetBalanceAsync(account) is null or { CreditsPosted.IsZero: true });
        var outbox = await OutboxAsync(gateway);
        Assert.DoesNotContain(outbox, o => Settled.Contains(o.Type));
        Assert.Contains(outbox, o => o.Type == "DepositOrphanedV1" && o.PaymentId == id);
        // Never paid: no image of the payment item ever had a final status.
        var images = (await ChangesAsync(gateway.Store)).Where(c => c.Key == Payments.PaymentRecords.Key(id)).Select(c => c.NewImage?.GetString("status"));
        Assert.DoesNotContain(images, s => s is "paid" or "overpaid" or "underpaid" or "paid_late");
    }

    [Fact]
    public async Task A_host_restarted_after_detection_and_before_the_confirmations_still_ends_paid_with_one_credit()
    {
        var node = hardhat.Node;
        var dataDir = Directory.CreateTempSubdirectory("molly-restart-").FullName;
        try
        {
            string id, merchant;
            Merchant shop;
            using (var first = new GatewayFactory(node.RpcUrl, dataDir, FastConfirm))
            {
                shop = await first.MerchantAsync();
                await first.WatcherStartedAsync();
                id = (await shop.CreatePaymentAsync("USDT", "4")).GetProperty("id").GetString()!;
                merchant = await MerchantIdAsync(first, id);
                await PayAsync(node, await AddressAsync(shop, id), "USDT", 4_000_000, account: 7);
                await StatusAsync(shop, id, "confirming");
            } // the host stops here: the execution (started or not yet) is only in the SQLite file

            using var second = new GatewayFactory(node.RpcUrl, dataDir, FastConfirm);
            shop = shop.With(second.CreateClient());
            await node.MineAsync(1);
            await StatusAsync(shop, id, "paid");
            await WorkflowsDoneAsync(second, 1);

            var account = AccountId.Create(merchant, "USDT-ethereum", AccountKind.MerchantAvailable);
            Assert.Equal(new BigInteger(4_000_000), (await Ledger(second).GetBalanceAsync(account))!.CreditsPosted);
            Assert.Single((await Ledger(second).GetHistoryAsync(account, 100)).Items);
            Assert.Single(await OutboxAsync(second), o => o.Type == "PaymentPaidV1" && o.PaymentId == id);
        }
        finally
        {
            try { Directory.Delete(dataDir, recursive: true); } catch (IOException) { }
        }
    }

    // ---------------------------------------------------------------- helpers

    private static int _reads;

    /// <summary>GET /v1/payments/{id} with a distinct query: the API refuses a signature seen before (same second, same
    /// request), and these polls repeat the same request many times a second.</summary>
    private static string Get(string id) => $"/v1/payments/{id}?read={Interlocked.Increment(ref _reads)}";

    private static Ledger.Ledger Ledger(GatewayFactory gateway) => gateway.Services.GetRequiredService<Ledger.Ledger>();

    private static async Task<string> MerchantIdAsync(GatewayFactory gateway, string paymentId) =>
        (await gateway.Store.GetAsync(Payments.PaymentRecords.Key(paymentId)))!.GetString("merchantId")!;

    private static async Task<EvmAddress> AddressAsync(Merchant shop, string id) =>
        EvmAddress.Parse((await shop.SendAsync(HttpMethod.Get, Get(id), null, HttpStatusCode.OK)).GetProperty("address").GetString()!);

    /// <summary>Sends the payment with our signer and waits for its receipt (automine: one block = one confirmation).</summary>
    private static async Task<string> PayAsync(HardhatNode node, EvmAddress to, string asset, BigInteger amount, int account)
    {
        var tx = asset == "ETH" ? await node.SendEthAsync(node.DevAccount(account), to, amount) : await node.SendTokenAsync(node.DevAccount(account), to, amount);
        Assert.True((await node.WaitForReceiptAsync(tx, TimeSpan.FromSeconds(30))).Succeeded);
        return tx;
    }

    private static async Task<string> ReadStatusAsync(Merchant shop, string id) =>
        (await shop.SendAsync(HttpMethod.Get, Get(id), null, HttpStatusCode.OK)).GetProperty("status").GetString()!;

    private static Task StatusAsync(Merchant shop, string id, string status) =>
        GatewayFactory.Eventually(async () => await ReadStatusAsync(shop, id) == status, $"payment {id} to be {status}");

    /// <summary>Waits until <paramref name="count"/> deposit-confirm executions exist and none is running.</summary>
    private static async Task<List<ExecutionDescription>> WorkflowsDoneAsync(GatewayFactory gateway, int count)
    {
        var engine = gateway.Services.GetRequiredService<WorkflowEngine>();
        var done = new List<ExecutionDescription>();
        await GatewayFactory.Eventually(async () =>
        {
            done.Clear();
            foreach (var c in await ChangesAsync(gateway.Store))
                if (c.Key.SK == DepositKeys.Item && c.NewImage is { } d && d.GetString("status") is not DepositStatus.NeedsReview
                    && await engine.DescribeAsync($"{DepositConfirmStarter.Workflow}:{DepositConfirmStarter.ExecutionName(d.GetString("depositId")!)}") is { } e
                    && done.All(x => x.ExecutionId != e.ExecutionId))
                    done.Add(e);
            return done.Count == count && done.All(e => e.Status != ExecutionStatus.Running);
        }, $"{count} finished deposit-confirm executions");
        return done;
    }

    private sealed record OutboxEvent(string Type, string? PaymentId);

    /// <summary>Every outbox item ever written (from the change feed: the outbox has no listing index).</summary>
    private static async Task<List<OutboxEvent>> OutboxAsync(GatewayFactory gateway)
    {
        var events = new Dictionary<ItemKey, OutboxEvent>();
        foreach (var c in await ChangesAsync(gateway.Store))
            if (c.Key.PK.StartsWith("outbox#", StringComparison.Ordinal) && c.NewImage is { } item)
                events[c.Key] = new OutboxEvent(item.GetString("type")!,
                    JsonNode.Parse(item.GetString("payload")!)?["paymentId"]?.GetValue<string>());
        return events.Values.ToList();
    }

    private static async Task<List<Change>> ChangesAsync(IItemStore store)
    {
        var all = new List<Change>();
        string? checkpoint = null;
        while (true)
        {
            var batch = await store.ChangeFeed.ReadAsync(checkpoint, 1000);
            all.AddRange(batch.Changes);
            if (batch.Changes.Count == 0 || batch.Checkpoint == checkpoint) return all;
            checkpoint = batch.Checkpoint;
        }
    }
}
