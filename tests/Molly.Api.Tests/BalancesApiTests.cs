using System.Net;
using System.Net.Http.Json;
using System.Numerics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Molly.Api.Endpoints;
using Molly.Chains.Evm;
using Molly.Deposits;
using Molly.Domain;
using Molly.Ledger;
using Molly.Payments;
using Molly.Settlement;
using Molly.Storage;
using Xunit;

namespace Molly.Api.Tests;

/// <summary>The API with the local workers but without the deposit-confirm starter: the tests call settlement's CreditPayment
/// themselves (no node is configured, so a started workflow would only mark the deposit for review).</summary>
public abstract class BalancesFactory(string storeKind) : ApiFactory(storeKind, new Dictionary<string, string>
{
    ["Molly:Payments:StandardPermitsPerSecond"] = "100000",
    ["Molly:Payments:StandardBurst"] = "100000",
})
{
    protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureServices(s => s.Remove(s.Single(d => d.ImplementationType == typeof(DepositConfirmStarterService))));
    }
}

public sealed class SqliteBalancesFactory() : BalancesFactory("Sqlite");

public sealed class DynamoDbLocalBalancesFactory() : BalancesFactory("DynamoDb");

/// <summary>GET /v1/balances and the merchant fee settings, through the HTTP API on each store.</summary>
public abstract class BalancesApiTests<TFactory> : IClassFixture<TFactory> where TFactory : BalancesFactory
{
    private readonly TFactory _factory;
    private readonly HttpClient _http;
    private readonly SignedClient _admin;

    protected BalancesApiTests(TFactory factory)
    {
        _factory = factory;
        _http = factory.CreateClient();
        var cred = factory.AdminCredential();
        _admin = new SignedClient(_http, cred.KeyId, cred.Secret, factory.Clock.GetUtcNow);
    }

    private Ledger.Ledger Ledger => _factory.Services.GetRequiredService<Ledger.Ledger>();

    private IItemStore Store => _factory.Services.GetRequiredService<IItemStore>();

    private async Task<(string MerchantId, SignedClient Client)> MerchantAsync()
    {
        var created = await _admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants", $$"""{"name":"Shop {{Guid.NewGuid():N}}"}""");
        var merchant = (await created.Content.ReadFromJsonAsync(ApiJsonContext.Default.MerchantResponse))!;
        var issued = await _admin.SendAsync(HttpMethod.Post, $"/v1/admin/merchants/{merchant.Id}/api-keys");
        var key = (await issued.Content.ReadFromJsonAsync(ApiJsonContext.Default.IssuedApiKeyResponse))!;
        return (merchant.Id, new SignedClient(_http, key.KeyId, key.Secret, _factory.Clock.GetUtcNow));
    }

    /// <summary>Signed anew each time (the clock moves): the same signature twice would be a replay.</summary>
    private async Task<JsonElement> Send(SignedClient client, HttpMethod method, string path, HttpStatusCode expected, string? json = null)
    {
        _factory.Clock.Advance(TimeSpan.FromSeconds(1));
        var response = await client.SendAsync(method, path, json);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"{method} {path}: {(int)response.StatusCode} {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement;
    }

    private async Task OpenAsync(params AccountId[] ids)
    {
        foreach (var id in ids)
            Assert.True(await Ledger.CreateAccountAsync(id) is AccountResult.Ok or AccountResult.Exists);
    }

    private async Task PayAsync(string id, AccountId from, AccountId to, BigInteger amount, bool pending = false) =>
        Assert.Equal(TransferResult.Ok, await Ledger.SubmitAsync(new CreateTransfer(TransferId.Parse(id), from, to, amount, from.Asset, 1, null, pending)));

    private static JsonElement Asset(JsonElement balances, string symbol, string chain) =>
        balances.GetProperty("balances").EnumerateArray().Single(b => b.GetProperty("asset").GetString() == symbol && b.GetProperty("chain").GetString() == chain);

    private static void AssertMoney(JsonElement money, string amount, string baseUnits)
    {
        Assert.Equal(amount, money.GetProperty("amount").GetString());
        Assert.Equal(baseUnits, money.GetProperty("baseUnits").GetString());
    }

    [Fact]
    public async Task Balances_show_posted_and_pending_amounts_of_the_merchant_only()
    {
        var (a, shopA) = await MerchantAsync();
        var (b, shopB) = await MerchantAsync();
        const string usdt = "USDT-tron", eth = "ETH-ethereum";
        AccountId Of(string owner, string asset, AccountKind kind) => AccountId.Create(owner, asset, kind);
        var inUsdt = AccountId.Platform(usdt, AccountKind.DepositsInFlight);
        var inEth = AccountId.Platform(eth, AccountKind.DepositsInFlight);
        await OpenAsync(inUsdt, inEth, Of(a, usdt, AccountKind.MerchantAvailable), Of(a, usdt, AccountKind.MerchantReserved),
            Of(a, usdt, AccountKind.MerchantPending), Of(a, eth, AccountKind.MerchantAvailable));

        await PayAsync($"{a}:u1", inUsdt, Of(a, usdt, AccountKind.MerchantAvailable), 12_500_000);
        await PayAsync($"{a}:r1", Of(a, usdt, AccountKind.MerchantAvailable), Of(a, usdt, AccountKind.MerchantReserved), 2_000_000, pending: true);
        await PayAsync($"{a}:p1", inUsdt, Of(a, usdt, AccountKind.MerchantPending), 3_000_000, pending: true);
        await PayAsync($"{a}:e1", inEth, Of(a, eth, AccountKind.MerchantAvailable), BigInteger.Parse("250000000000000000", System.Globalization.CultureInfo.InvariantCulture));

        var all = await Send(shopA, HttpMethod.Get, "/v1/balances", HttpStatusCode.OK);
        Assert.True(all.GetProperty("consistent").GetBoolean());
        Assert.Equal(2, all.GetProperty("balances").GetArrayLength());
        var u = Asset(all, "USDT", "tron");
        Assert.Equal("mainnet", u.GetProperty("network").GetString());
        Assert.Equal(6, u.GetProperty("decimals").GetInt32());
        AssertMoney(u.GetProperty("available").GetProperty("creditsPosted"), "12.5", "12500000");
        AssertMoney(u.GetProperty("available").GetProperty("debitsPending"), "2", "2000000");
        AssertMoney(u.GetProperty("available").GetProperty("debitsPosted"), "0", "0");
        AssertMoney(u.GetProperty("available").GetProperty("available"), "10.5", "10500000");
        AssertMoney(u.GetProperty("reserved").GetProperty("creditsPending"), "2", "2000000");
        AssertMoney(u.GetProperty("reserved").GetProperty("creditsPosted"), "0", "0");
        AssertMoney(u.GetProperty("pending").GetProperty("creditsPending"), "3", "3000000");
        var e = Asset(all, "ETH", "ethereum");
        Assert.Equal(18, e.GetProperty("decimals").GetInt32());
        AssertMoney(e.GetProperty("available").GetProperty("creditsPosted"), "0.25", "250000000000000000");
        AssertMoney(e.GetProperty("reserved").GetProperty("creditsPosted"), "0", "0"); // no such account: zeros

        // Another merchant sees nothing of them; with an account of its own, only that.
        Assert.Equal(0, (await Send(shopB, HttpMethod.Get, "/v1/balances", HttpStatusCode.OK)).GetProperty("balances").GetArrayLength());
        await OpenAsync(Of(b, usdt, AccountKind.MerchantAvailable));
        await PayAsync($"{b}:u1", inUsdt, Of(b, usdt, AccountKind.MerchantAvailable), 1_000_000);
        var other = await Send(shopB, HttpMethod.Get, "/v1/balances", HttpStatusCode.OK);
        AssertMoney(Assert.Single(other.GetProperty("balances").EnumerateArray()).GetProperty("available").GetProperty("creditsPosted"), "1", "1000000");
        AssertMoney(Asset(await Send(shopA, HttpMethod.Get, "/v1/balances", HttpStatusCode.OK), "USDT", "tron")
            .GetProperty("available").GetProperty("creditsPosted"), "12.5", "12500000");

        // The asset filter takes an asset id as in the merchant settings; an unknown one is a 400 problem.
        var filtered = await Send(shopA, HttpMethod.Get, "/v1/balances?asset=USDT@tron", HttpStatusCode.OK);
        Assert.Equal("USDT", Assert.Single(filtered.GetProperty("balances").EnumerateArray()).GetProperty("asset").GetString());
        Assert.Equal(0, (await Send(shopA, HttpMethod.Get, "/v1/balances?asset=BTC@bitcoin", HttpStatusCode.OK)).GetProperty("balances").GetArrayLength());
        foreach (var bad in (string[])["DOGE@tron", "USDT-tron", "USDT@bitcoin", ""])
        {
            var problem = await Send(shopA, HttpMethod.Get, "/v1/balances?asset=" + Uri.EscapeDataString(bad), HttpStatusCode.BadRequest);
            Assert.True(problem.GetProperty("errors").TryGetProperty("asset", out _), problem.GetRawText());
        }

        // Admins are not merchants: the endpoint is the merchant's own view.
        await Send(_admin, HttpMethod.Get, "/v1/balances", HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task Settlement_takes_the_fee_from_the_merchant_settings_and_credits_once()
    {
        var (m, shop) = await MerchantAsync();
        await Send(_admin, HttpMethod.Put, $"/v1/admin/merchants/{m}/settings", HttpStatusCode.NoContent,
            """{"acceptedAssets":["USDT@ethereum"],"fees":[{"asset":"USDT@ethereum","basisPoints":250,"fixedBaseUnits":"1000"}]}""");
        var feeAccount = AccountId.Platform("USDT-ethereum", AccountKind.FeeRevenue);
        async Task<BigInteger> FeesEarned() => (await Ledger.GetBalanceAsync(feeAccount))?.CreditBalance ?? BigInteger.Zero;
        var feesBefore = await FeesEarned();

        // 12.5 USDT: 2.5% = 312,500 base units, + 1,000 fixed = 313,500.
        var first = await PaidDepositAsync(shop, "12.5", 12_500_000);
        var tasks = _factory.Services.GetRequiredService<DepositConfirmTasks>();
        Assert.Equal("paid", (await tasks.CreditPaymentAsync(first)).PaymentStatus);
        Assert.Equal(new BigInteger(313_500), await FeesEarned() - feesBefore);
        var afterFirst = Asset(await Send(shop, HttpMethod.Get, "/v1/balances?asset=USDT@ethereum", HttpStatusCode.OK), "USDT", "ethereum");
        AssertMoney(afterFirst.GetProperty("available").GetProperty("creditsPosted"), "12.1865", "12186500");

        // The fee changes; the next payment credited takes the new one (1%, no fixed part).
        await Send(_admin, HttpMethod.Put, $"/v1/admin/merchants/{m}/settings", HttpStatusCode.NoContent,
            """{"acceptedAssets":["USDT@ethereum"],"fees":[{"asset":"USDT@ethereum","basisPoints":100}]}""");
        var second = await PaidDepositAsync(shop, "10", 10_000_000);
        Assert.Equal("paid", (await tasks.CreditPaymentAsync(second)).PaymentStatus);
        Assert.Equal(new BigInteger(313_500 + 100_000), await FeesEarned() - feesBefore);

        // Replays of both credits (after the fee change) answer from what was stored and credit nothing again.
        Assert.Equal("paid", (await tasks.CreditPaymentAsync(first)).PaymentStatus);
        Assert.Equal("paid", (await tasks.CreditPaymentAsync(second)).PaymentStatus);
        Assert.Equal(new BigInteger(313_500 + 100_000), await FeesEarned() - feesBefore);
        var total = Asset(await Send(shop, HttpMethod.Get, "/v1/balances", HttpStatusCode.OK), "USDT", "ethereum");
        AssertMoney(total.GetProperty("available").GetProperty("creditsPosted"), "22.0865", "22086500");
        AssertMoney(total.GetProperty("available").GetProperty("available"), "22.0865", "22086500");
    }

    /// <summary>A USDT@ethereum payment created through the API and a deposit of <paramref name="paid"/> recorded to its address as
    /// the chain watcher records one; returns the deposit id.</summary>
    private async Task<string> PaidDepositAsync(SignedClient shop, string amount, BigInteger paid)
    {
        var request = shop.Build(HttpMethod.Post, "/v1/payments",
            $$"""{"merchantOrderId":"o-{{Guid.NewGuid():N}}","amount":"{{amount}}","asset":"USDT","chain":"ethereum"}""");
        request.Headers.Add("Idempotency-Key", Guid.NewGuid().ToString("N"));
        _factory.Clock.Advance(TimeSpan.FromSeconds(1));
        var created = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var payment = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        var assets = _factory.Services.GetRequiredService<AssetRegistry>();
        Assert.True(assets.TryFind("ethereum", "USDT", out var usdt, out _));
        var tx = "0x" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var recorder = new DepositRecorder(Store, "ethereum", "mainnet", _factory.Clock, NullLogger.Instance);
        var outcome = await recorder.RecordAsync(new DepositCandidate(usdt!, EvmAddress.Parse(payment.GetProperty("address").GetString()!),
            EvmAddress.Parse("0x00000000000000000000000000000000000000aa"), paid, tx, "0", 100, "0x" + new string('b', 64), _factory.Clock.GetUtcNow()), default);
        Assert.Equal(RecordOutcome.Recorded, outcome);
        return $"ethereum#{tx}#0";
    }

    [Theory]
    [InlineData("""[{"asset":"USDT@tron","basisPoints":10001}]""", "fees[0].basisPoints")]
    [InlineData("""[{"asset":"USDT@tron","basisPoints":-1}]""", "fees[0].basisPoints")]
    [InlineData("""[{"asset":"USDT@tron","basisPoints":10,"fixedBaseUnits":"-5"}]""", "fees[0].fixedBaseUnits")]
    [InlineData("""[{"asset":"USDT@tron","basisPoints":10,"fixedBaseUnits":"1.5"}]""", "fees[0].fixedBaseUnits")]
    [InlineData("""[{"asset":"USDT@tron","basisPoints":10,"fixedBaseUnits":"007"}]""", "fees[0].fixedBaseUnits")]
    [InlineData("""[{"asset":"DOGE@tron","basisPoints":10}]""", "fees[0].asset")]
    [InlineData("""[{"asset":"USDT@tron","basisPoints":10},{"asset":"USDT@tron","basisPoints":20}]""", "fees[1].asset")]
    public async Task Bad_fee_settings_are_400_and_write_nothing(string fees, string field)
    {
        var (m, _) = await MerchantAsync();
        await Send(_admin, HttpMethod.Put, $"/v1/admin/merchants/{m}/settings", HttpStatusCode.NoContent,
            """{"acceptedAssets":["USDT@tron"],"plan":"standard","fees":[{"asset":"USDT@tron","basisPoints":50,"fixedBaseUnits":"7"}]}""");
        var before = (await Store.GetAsync(MerchantSettings.Key(m)))!;

        var problem = await Send(_admin, HttpMethod.Put, $"/v1/admin/merchants/{m}/settings", HttpStatusCode.BadRequest,
            $$"""{"acceptedAssets":["USDT@tron","BTC@bitcoin"],"plan":"vip","fees":{{fees}}}""");
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.GetRawText());

        var after = MerchantSettings.Read((await Store.GetAsync(MerchantSettings.Key(m)))!);
        Assert.Equal(MerchantSettings.Read(before).AcceptedAssets, after.AcceptedAssets);
        Assert.Equal(MerchantPlan.Standard, after.Plan);
        Assert.Equal(new MerchantFee(50, 7), after.FeeFor("USDT@tron"));
    }

    [Fact]
    public async Task A_fee_as_a_json_number_or_an_unknown_field_is_refused()
    {
        var (m, _) = await MerchantAsync();
        await Send(_admin, HttpMethod.Put, $"/v1/admin/merchants/{m}/settings", HttpStatusCode.BadRequest,
            """{"acceptedAssets":["USDT@tron"],"fees":[{"asset":"USDT@tron","basisPoints":10,"fixedBaseUnits":5}]}""");
        await Send(_admin, HttpMethod.Put, $"/v1/admin/merchants/{m}/settings", HttpStatusCode.BadRequest,
            """{"acceptedAssets":["USDT@tron"],"fees":[{"asset":"USDT@tron","bps":10}]}""");
        Assert.Null(await Store.GetAsync(MerchantSettings.Key(m)));
    }

    [Fact]
    public async Task The_openapi_document_has_the_balances_endpoint_and_the_fee_settings()
    {
        var response = await _http.GetAsync("/openapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var get = doc.GetProperty("paths").GetProperty("/v1/balances").GetProperty("get");
        Assert.Contains(get.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "asset");
        foreach (var code in (string[])["200", "400", "401", "403", "429"])
            Assert.True(get.GetProperty("responses").TryGetProperty(code, out _), code);
        var schemas = doc.GetProperty("components").GetProperty("schemas");
        foreach (var schema in (string[])["BalancesResponse", "AssetBalances", "AccountBalance", "Money", "MerchantFeeRequest"])
            Assert.True(schemas.TryGetProperty(schema, out _), schema);
        Assert.True(schemas.GetProperty("MerchantSettingsRequest").GetProperty("properties").TryGetProperty("fees", out _));
        Assert.Equal("string", schemas.GetProperty("Money").GetProperty("properties").GetProperty("baseUnits").GetProperty("type").GetString());
        var put = doc.GetProperty("paths").GetProperty("/v1/admin/merchants/{id}/settings").GetProperty("put");
        Assert.True(put.GetProperty("responses").TryGetProperty("400", out _));
    }
}

public sealed class BalancesApiTests_SqliteStore(SqliteBalancesFactory f) : BalancesApiTests<SqliteBalancesFactory>(f);

public sealed class BalancesApiTests_DynamoDbLocalStore(DynamoDbLocalBalancesFactory f) : BalancesApiTests<DynamoDbLocalBalancesFactory>(f);
