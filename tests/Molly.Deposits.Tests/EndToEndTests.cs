using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Molly.Api.Security;
using Molly.Chains.Evm;
using Molly.Chains.Rpc.Evm;
using Molly.Storage;
using Molly.Storage.Sqlite;
using Molly.Testing;
using Xunit;

namespace Molly.Deposits.Tests;

/// <summary>
/// The whole gateway in-process (the API host with its chain watcher as a local worker, SQLite) against a real Hardhat node,
/// configured as run.sh does: <c>Molly:Payments:Networks = local</c> and one <c>Molly:Evm:Chains</c> entry.
/// A factory given a <paramref name="dataDir"/> runs on that directory's SQLite file and leaves it behind (a restart is a
/// new factory on the same directory); <paramref name="settings"/> are added to the host's configuration.
/// </summary>
public sealed class GatewayFactory(string rpcUrl, string? dataDir = null, IReadOnlyDictionary<string, string>? settings = null,
    bool settle = true)
    : WebApplicationFactory<Program>
{
    private readonly bool _ownsDataDir = dataDir is null;

    public string DataDir { get; } = dataDir ?? Directory.CreateTempSubdirectory("molly-e2e-").FullName;

    public IItemStore Store => Services.GetRequiredService<IItemStore>();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Molly:DataDir", DataDir);
        builder.UseSetting("Molly:Store:Kind", "Sqlite");
        builder.UseSetting("Molly:Payments:PublicBaseUrl", "https://pay.example");
        builder.UseSetting("Molly:Payments:Networks:0", "local");
        builder.UseSetting("Molly:Evm:Chains:0:Chain", "ethereum");
        builder.UseSetting("Molly:Evm:Chains:0:Network", "local");
        builder.UseSetting("Molly:Evm:Chains:0:Endpoints:0", rpcUrl);
        builder.UseSetting("Molly:Evm:Chains:0:PollIntervalMs", "100");
        foreach (var (key, value) in settings ?? new Dictionary<string, string>()) builder.UseSetting(key, value);
        // Binding appends "local" to the default ["mainnet"]; the gateway under test accepts the local network only.
        builder.ConfigureServices(s => s.PostConfigure<Molly.Api.Payments.PaymentsOptions>(o => o.Networks = ["local"]));
        // Tests of the watcher alone keep what it wrote: without the starter no deposit-confirm moves the deposit on.
        if (!settle)
            builder.ConfigureServices(s => s.Remove(s.Single(d => d.ImplementationType == typeof(Molly.Settlement.DepositConfirmStarterService))));
    }

    /// <summary>A merchant with an API key, made through the admin API with the bootstrapped admin credential.</summary>
    public async Task<Merchant> MerchantAsync()
    {
        var http = CreateClient();
        using var cred = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(DataDir, AdminBootstrap.FileName)));
        var admin = new Merchant(http, cred.RootElement.GetProperty("keyId").GetString()!, cred.RootElement.GetProperty("secret").GetString()!);
        var merchant = await admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants", $$"""{"name":"Shop {{Guid.NewGuid():N}}"}""", HttpStatusCode.Created);
        var key = await admin.SendAsync(HttpMethod.Post, $"/v1/admin/merchants/{merchant.GetProperty("id").GetString()}/api-keys", null, HttpStatusCode.Created);
        return new Merchant(http, key.GetProperty("keyId").GetString()!, key.GetProperty("secret").GetString()!);
    }

    /// <summary>Waits until the watcher has written its cursor: blocks mined after this are the watcher's to scan.</summary>
    public async Task WatcherStartedAsync()
    {
        _ = Server;
        await Eventually(async () => await Store.GetAsync(DepositKeys.Cursor("ethereum", "local")) is not null, "the watcher's cursor");
    }

    public static async Task Eventually(Func<Task<bool>> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Waited {seconds} s for {what}.");
            await Task.Delay(100);
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && _ownsDataDir) try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Signed requests as a merchant (or the admin) sends them (README: signed requests).</summary>
public sealed class Merchant(HttpClient http, string keyId, string secret)
{
    /// <summary>The same credential through another client (a restarted host).</summary>
    public Merchant With(HttpClient other) => new(other, keyId, secret);

    public async Task<JsonElement> SendAsync(HttpMethod method, string path, string? json, HttpStatusCode expected, string? idempotencyKey = null)
    {
        var body = json is null ? [] : Encoding.UTF8.GetBytes(json);
        var ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        request.Headers.Add(RequestSigning.KeyIdHeader, keyId);
        request.Headers.Add(RequestSigning.TimestampHeader, ts.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(RequestSigning.SignatureHeader, RequestSigning.SignHex(secret, ts, method.Method, path, body));
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{method} {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public Task<JsonElement> CreatePaymentAsync(string asset, string amount) =>
        SendAsync(HttpMethod.Post, "/v1/payments",
            $$"""{"merchantOrderId":"o-{{Guid.NewGuid():N}}","amount":"{{amount}}","asset":"{{asset}}","chain":"ethereum"}""",
            HttpStatusCode.Created, idempotencyKey: Guid.NewGuid().ToString("N"));
}

/// <summary>A Hardhat node for one test class, stopped by process id when the class is done (HardhatNode.Shared is stopped
/// only at process exit, which the test host does not always run).</summary>
public sealed class HardhatFixture : IAsyncLifetime
{
    public HardhatNode Node { get; private set; } = null!;

    public async Task InitializeAsync() => Node = await HardhatNode.StartAsync();

    public async Task DisposeAsync() => await Node.DisposeAsync();
}

[Trait("Category", "EndToEnd")]
public sealed class EndToEndTests(HardhatFixture hardhat) : IClassFixture<HardhatFixture>
{
    [Fact]
    public async Task Payments_created_through_the_api_and_paid_in_eth_and_usdt_by_our_signed_transactions_are_detected_with_the_right_amount()
    {
        var node = hardhat.Node;
        using var gateway = new GatewayFactory(node.RpcUrl, settle: false);
        var shop = await gateway.MerchantAsync();
        await gateway.WatcherStartedAsync();

        var ethPayment = await shop.CreatePaymentAsync("ETH", "0.25");
        var usdtPayment = await shop.CreatePaymentAsync("USDT", "12.5");
        var ethAddress = EvmAddress.Parse(ethPayment.GetProperty("address").GetString()!);
        var usdtAddress = EvmAddress.Parse(usdtPayment.GetProperty("address").GetString()!);
        Assert.StartsWith("ethereum:", ethPayment.GetProperty("paymentUri").GetString());

        // Built and signed by our EIP-1559 signer; the node accepting and mining them is part of the proof.
        var ethTx = await node.SendEthAsync(node.DevAccount(1), ethAddress, BigInteger.Parse("250000000000000000", CultureInfo.InvariantCulture));
        var usdtTx = await node.SendTokenAsync(node.DevAccount(2), usdtAddress, 12_500_000);
        var ethReceipt = await node.WaitForReceiptAsync(ethTx, TimeSpan.FromSeconds(30));
        var usdtReceipt = await node.WaitForReceiptAsync(usdtTx, TimeSpan.FromSeconds(30));
        Assert.True(ethReceipt.Succeeded && usdtReceipt.Succeeded);

        foreach (var (payment, receipt, index, amount, asset) in new[]
        {
            (ethPayment, ethReceipt, $"n{(await node.Rpc.GetBlockByHashAsync(ethReceipt.BlockHash))!.Transactions.Single(t => t.Hash == ethTx).TransactionIndex}",
                BigInteger.Parse("250000000000000000", CultureInfo.InvariantCulture), "ETH@ethereum"),
            (usdtPayment, usdtReceipt, usdtReceipt.Logs.Single().LogIndex.ToString(CultureInfo.InvariantCulture), new BigInteger(12_500_000), "USDT@ethereum"),
        })
        {
            var id = payment.GetProperty("id").GetString()!;
            var depositId = DepositKeys.DepositId("ethereum", receipt.TransactionHash.ToLowerInvariant(), index);
            await GatewayFactory.Eventually(async () => await gateway.Store.GetAsync(DepositKeys.Deposit(depositId)) is not null, $"deposit {depositId}");
            var deposit = (await gateway.Store.GetAsync(DepositKeys.Deposit(depositId)))!;
            Assert.Equal(amount, deposit.RequireNumber("amount"));
            Assert.Equal(asset, deposit.GetString("asset"));
            Assert.Equal(id, deposit.GetString("paymentId"));
            Assert.Equal(receipt.BlockHash, deposit.GetString("blockHash"));
            Assert.Equal((long)receipt.BlockNumber, deposit.GetInt64("blockNumber"));
            Assert.Equal(DepositStatus.Detected, deposit.GetString("status"));

            var read = await shop.SendAsync(HttpMethod.Get, $"/v1/payments/{id}", null, HttpStatusCode.OK);
            Assert.Equal("confirming", read.GetProperty("status").GetString());
            Assert.Equal(payment.GetProperty("amount").GetString(), read.GetProperty("amountReceived").GetString());
        }
    }

    [Fact]
    public async Task A_deposit_in_blocks_replaced_by_evm_revert_is_orphaned_and_the_replacement_chains_deposit_is_found()
    {
        await using var node = await HardhatNode.StartAsync(); // a chain nobody else touches
        using var gateway = new GatewayFactory(node.RpcUrl, settle: false);
        var shop = await gateway.MerchantAsync();
        await gateway.WatcherStartedAsync();
        var first = await shop.CreatePaymentAsync("ETH", "1");
        var second = await shop.CreatePaymentAsync("USDT", "3");
        var firstId = first.GetProperty("id").GetString()!;
        var secondId = second.GetProperty("id").GetString()!;

        var snapshot = await node.SnapshotAsync();
        var orphanTx = await node.SendEthAsync(node.DevAccount(1), EvmAddress.Parse(first.GetProperty("address").GetString()!), BigInteger.Pow(10, 18));
        var orphanReceipt = await node.WaitForReceiptAsync(orphanTx, TimeSpan.FromSeconds(30));
        await node.MineAsync(1);
        var orphanId = DepositKeys.DepositId("ethereum", orphanTx.ToLowerInvariant(), "n0");
        await GatewayFactory.Eventually(async () => (await gateway.Store.GetAsync(PaymentKey(firstId)))?.GetString("status") == "confirming",
            "the first payment to be detected");

        // The two blocks disappear; a longer chain without them, holding a payment of the second payment, replaces them.
        Assert.True(await node.RevertAsync(snapshot));
        var replacementTx = await node.SendTokenAsync(node.DevAccount(2), EvmAddress.Parse(second.GetProperty("address").GetString()!), 3_000_000);
        var replacementReceipt = await node.WaitForReceiptAsync(replacementTx, TimeSpan.FromSeconds(30));
        await node.MineAsync(3);

        var replacementId = DepositKeys.DepositId("ethereum", replacementTx.ToLowerInvariant(), replacementReceipt.Logs.Single().LogIndex.ToString(CultureInfo.InvariantCulture));
        await GatewayFactory.Eventually(async () =>
            (await gateway.Store.GetAsync(DepositKeys.Deposit(orphanId)))?.GetString("status") == DepositStatus.Orphaned
            && await gateway.Store.GetAsync(DepositKeys.Deposit(replacementId)) is not null, "the orphaned and the replacement deposits");

        var orphan = (await gateway.Store.GetAsync(DepositKeys.Deposit(orphanId)))!;
        Assert.Equal(orphanReceipt.BlockHash, orphan.GetString("blockHash"));
        Assert.NotEqual(orphanReceipt.BlockHash, (await node.Rpc.GetBlockByNumberAsync(orphanReceipt.BlockNumber))!.Hash);
        var firstPayment = await shop.SendAsync(HttpMethod.Get, $"/v1/payments/{firstId}", null, HttpStatusCode.OK);
        Assert.Equal("created", firstPayment.GetProperty("status").GetString());
        Assert.Equal("0", firstPayment.GetProperty("amountReceived").GetString());

        var replacement = (await gateway.Store.GetAsync(DepositKeys.Deposit(replacementId)))!;
        Assert.Equal(replacementReceipt.BlockHash, replacement.GetString("blockHash"));
        Assert.Equal(3_000_000, replacement.RequireNumber("amount"));
        Assert.Equal("confirming", (await gateway.Store.GetAsync(PaymentKey(secondId)))!.GetString("status"));
    }

    private static ItemKey PaymentKey(string id) => Payments.PaymentRecords.Key(id);

    /// <summary>Passes a real client through, cancelling the watcher when a given eth_getLogs call starts (mid-range: the
    /// range's blocks are read, its deposits not yet written).</summary>
    private sealed class CancelOnLogs(IEvmRpc inner, int atCall, CancellationTokenSource stop) : IEvmRpc
    {
        private int _calls;
        public Task<IReadOnlyList<EvmLog>> GetLogsAsync(EvmLogFilter filter, CancellationToken ct = default)
        {
            if (Interlocked.Increment(ref _calls) == atCall) stop.Cancel();
            return inner.GetLogsAsync(filter, ct);
        }
        public Task<long> GetChainIdAsync(CancellationToken ct = default) => inner.GetChainIdAsync(ct);
        public Task<ulong> GetBlockNumberAsync(CancellationToken ct = default) => inner.GetBlockNumberAsync(ct);
        public Task<EvmBlock?> GetBlockByNumberAsync(ulong number, CancellationToken ct = default) => inner.GetBlockByNumberAsync(number, ct);
        public Task<EvmBlock?> GetBlockByHashAsync(string blockHash, CancellationToken ct = default) => inner.GetBlockByHashAsync(blockHash, ct);
        public Task<BigInteger> GetBalanceAsync(EvmAddress address, string blockTag = "latest", CancellationToken ct = default) => inner.GetBalanceAsync(address, blockTag, ct);
        public Task<ulong> GetTransactionCountAsync(EvmAddress address, string blockTag = "pending", CancellationToken ct = default) => inner.GetTransactionCountAsync(address, blockTag, ct);
        public Task<EvmFeeHistory> GetFeeHistoryAsync(int blockCount, string newestBlock, IReadOnlyList<double> rewardPercentiles, CancellationToken ct = default) =>
            inner.GetFeeHistoryAsync(blockCount, newestBlock, rewardPercentiles, ct);
        public Task<BigInteger> EstimateGasAsync(EvmCall call, CancellationToken ct = default) => inner.EstimateGasAsync(call, ct);
        public Task<string> SendRawTransactionAsync(ReadOnlyMemory<byte> signedTransaction, CancellationToken ct = default) => inner.SendRawTransactionAsync(signedTransaction, ct);
        public Task<EvmReceipt?> GetTransactionReceiptAsync(string transactionHash, CancellationToken ct = default) => inner.GetTransactionReceiptAsync(transactionHash, ct);
    }

    [Fact]
    public async Task Stopped_mid_range_and_crashed_mid_write_then_restarted_the_watcher_misses_nothing_and_repeats_nothing()
    {
        var node = hardhat.Node;
        var path = Path.Combine(Path.GetTempPath(), $"molly-e2e-restart-{Guid.NewGuid():N}.db");
        await using var store = SqliteItemStore.Open(new SqliteItemStoreOptions { Path = path });
        try
        {
            var world = new DepositWorld(store);
            var payments = new List<Payments.PaymentView>();
            for (var i = 0; i < 8; i++) payments.Add(await world.PayableAsync(i % 2 == 0 ? "ETH" : "USDT", "2"));
            var options = DepositWorld.Options(maxBlocks: 2);
            options.StartBlock = (long)await node.Rpc.GetBlockNumberAsync() + 1;
            var hashes = new List<string>();
            foreach (var p in payments)
            {
                var to = EvmAddress.Parse(p.Address);
                var hash = p.Asset == "ETH"
                    ? await node.SendEthAsync(node.DevAccount(3), to, BigInteger.Parse("2000000000000000000", CultureInfo.InvariantCulture))
                    : await node.SendTokenAsync(node.DevAccount(4), to, 2_000_000);
                Assert.True((await node.WaitForReceiptAsync(hash, TimeSpan.FromSeconds(30))).Succeeded);
                hashes.Add(hash.ToLowerInvariant());
            }

            // 1. Stopped in the middle of its second range (blocks read, deposits not written).
            using (var stop = new CancellationTokenSource())
                await world.Watcher(new CancelOnLogs(node.CreateClient(), 2, stop), options).RunAsync(stop.Token);
            var afterStop = (await world.DepositsAsync()).Count;
            Assert.InRange(afterStop, 1, 7);

            // 2. Killed right after a deposit write committed (the watcher never heard it succeeded).
            var crashing = new CrashingStore(store, crashAtWrite: 3, afterCommit: true);
            await Assert.ThrowsAsync<SimulatedCrash>(() => world.Watcher(node.CreateClient(), options, crashing)
                .CatchUpAsync(100, TimeSpan.FromMinutes(1), default));

            // 3. Started again: it catches up.
            var passes = await world.Watcher(node.CreateClient(), options).CatchUpAsync(100, TimeSpan.FromMinutes(1), default);
            Assert.True(passes[^1].CaughtUp);

            var deposits = await world.DepositsAsync();
            Assert.Equal(8, deposits.Count);
            Assert.Equal(hashes.Order(), deposits.Select(d => d.GetString("txHash")!).Order());
            Assert.All(deposits, d => Assert.Equal(DepositStatus.Detected, d.GetString("status")));
            Assert.Equal(8, (await world.OutboxAsync(nameof(PaymentDetectedV1))).Count);
            foreach (var p in payments)
            {
                var item = (await world.PaymentAsync(p.Id))!;
                Assert.Equal("confirming", item.GetString("status"));
                Assert.Equal(2, item.GetInt64("statusVersion"));
                Assert.Equal(p.Asset == "ETH" ? "2000000000000000000" : "2000000", item.GetString("received"));
            }
        }
        finally
        {
            File.Delete(path);
        }
    }
}
