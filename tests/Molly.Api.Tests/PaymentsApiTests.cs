using System.Net;
using System.Net.Http.Json;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Molly.Api.Endpoints;
using Molly.Api.Security;
using Molly.Chains.Solana;
using Molly.Cli;
using Molly.Storage;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Molly.Api.Tests;

/// <summary>Payments through the HTTP API, with generous throttles so the volume tests are not limited.</summary>
public abstract class PaymentsFactory(string storeKind) : ApiFactory(storeKind, new Dictionary<string, string>
{
    ["Molly:Payments:PublicBaseUrl"] = "https://pay.example",
    ["Molly:Payments:StandardPermitsPerSecond"] = "100000",
    ["Molly:Payments:StandardBurst"] = "100000",
})
{
    public string DevMnemonic() => File.ReadAllText(Path.Combine(DataDir, "dev-wallet-mnemonic")).Trim();
}

public sealed class SqlitePaymentsFactory() : PaymentsFactory("Sqlite");

public sealed class DynamoDbLocalPaymentsFactory() : PaymentsFactory("DynamoDb");

/// <summary>Tight throttles: standard 1/s with a burst of 2, VIP 1,000/s.</summary>
public sealed class ThrottledPaymentsFactory() : ApiFactory("Sqlite", new Dictionary<string, string>
{
    ["Molly:Payments:StandardPermitsPerSecond"] = "1",
    ["Molly:Payments:StandardBurst"] = "2",
});

public abstract class PaymentsApiTests<TFactory> : IClassFixture<TFactory> where TFactory : PaymentsFactory
{
    private readonly TFactory _factory;
    private readonly HttpClient _http;
    private readonly SignedClient _admin;

    protected PaymentsApiTests(TFactory factory)
    {
        _factory = factory;
        _http = factory.CreateClient();
        var cred = factory.AdminCredential();
        _admin = new SignedClient(_http, cred.KeyId, cred.Secret, factory.Clock.GetUtcNow);
    }

    private async Task<(string MerchantId, SignedClient Client)> MerchantAsync()
    {
        var created = await _admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants", $$"""{"name":"Shop {{Guid.NewGuid():N}}"}""");
        var merchant = (await created.Content.ReadFromJsonAsync(ApiJsonContext.Default.MerchantResponse))!;
        var issued = await _admin.SendAsync(HttpMethod.Post, $"/v1/admin/merchants/{merchant.Id}/api-keys");
        var key = (await issued.Content.ReadFromJsonAsync(ApiJsonContext.Default.IssuedApiKeyResponse))!;
        return (merchant.Id, new SignedClient(_http, key.KeyId, key.Secret, _factory.Clock.GetUtcNow));
    }

    private static string Body(string orderId, string amount = "25.50", string asset = "USDT", string chain = "tron") =>
        $$"""{"merchantOrderId":"{{orderId}}","amount":"{{amount}}","asset":"{{asset}}","chain":"{{chain}}"}""";

    private static async Task<HttpResponseMessage> Create(SignedClient client, string idempotencyKey, string body)
    {
        var request = client.Build(HttpMethod.Post, "/v1/payments", body);
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return await client.Http.SendAsync(request);
    }

    private static async Task<JsonElement> Json(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    [Fact]
    public async Task Create_then_read_and_replay()
    {
        var (_, shop) = await MerchantAsync();
        var created = await Json(await Create(shop, "k-1", Body("o-1")), HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString()!;
        Assert.Equal("created", created.GetProperty("status").GetString());
        Assert.Equal("25.5", created.GetProperty("amount").GetString());
        Assert.StartsWith("T", created.GetProperty("address").GetString());
        Assert.StartsWith("tron:T", created.GetProperty("paymentUri").GetString());
        Assert.Equal($"https://pay.example/checkout/{id}", created.GetProperty("checkoutUrl").GetString());

        var read = await Json(await shop.SendAsync(HttpMethod.Get, $"/v1/payments/{id}"), HttpStatusCode.OK);
        Assert.Equal(created.GetProperty("address").GetString(), read.GetProperty("address").GetString());

        _factory.Clock.Advance(TimeSpan.FromSeconds(1)); // a retry is signed anew: the same signature twice is a replay
        var replay = await Create(shop, "k-1", Body("o-1"));
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(created.GetRawText(), (await Json(replay, HttpStatusCode.Created)).GetRawText());

        _factory.Clock.Advance(TimeSpan.FromSeconds(1));
        var conflict = await Json(await Create(shop, "k-1", Body("o-1", amount: "30")), HttpStatusCode.Conflict);
        Assert.Contains("different request", conflict.GetProperty("detail").GetString());
    }

    /// <summary>The exact bytes of a signed create (same headers, same body): what an eavesdropper would resend.</summary>
    internal static (HttpRequestMessage First, Func<HttpRequestMessage> Copy) SignedCreateAndCopies(SignedClient client, string idempotencyKey, string body)
    {
        var first = client.Build(HttpMethod.Post, "/v1/payments", body);
        first.Headers.Add("Idempotency-Key", idempotencyKey);
        return (first, () =>
        {
            var copy = new HttpRequestMessage(HttpMethod.Post, "/v1/payments") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            foreach (var h in first.Headers) copy.Headers.TryAddWithoutValidation(h.Key, h.Value);
            return copy;
        });
    }

    private static async Task AssertReplayRefused(HttpResponseMessage response)
    {
        var problem = await Json(response, HttpStatusCode.Unauthorized);
        Assert.Equal(AuthFailureReasons.Replayed, problem.GetProperty("reason").GetString());
        Assert.Equal(SignatureAuthenticationHandler.SchemeName, response.Headers.WwwAuthenticate.Single().Scheme);
    }

    private async Task<int> CountPayments(SignedClient shop) =>
        (await Json(await shop.SendAsync(HttpMethod.Get, "/v1/payments?limit=100"), HttpStatusCode.OK)).GetProperty("items").GetArrayLength();

    [Fact]
    public async Task A_replayed_create_is_refused_whether_it_succeeded_or_was_invalid()
    {
        var (_, shop) = await MerchantAsync();
        var (first, copy) = SignedCreateAndCopies(shop, "k-rp", Body("o-rp"));
        await Json(await _http.SendAsync(first), HttpStatusCode.Created);
        await AssertReplayRefused(await _http.SendAsync(copy()));

        // Refused before any write (a validation problem): the signature is spent all the same.
        var (bad, badCopy) = SignedCreateAndCopies(shop, "k-rp-bad", Body("o-rp-bad", amount: "1.0000001"));
        await Json(await _http.SendAsync(bad), HttpStatusCode.BadRequest);
        await AssertReplayRefused(await _http.SendAsync(badCopy()));
        Assert.Equal(1, await CountPayments(shop));
    }

    [Fact]
    public async Task The_same_signed_create_sent_twice_at_once_runs_once()
    {
        var (_, shop) = await MerchantAsync();
        for (var round = 0; round < 5; round++)
        {
            var (first, copy) = SignedCreateAndCopies(shop, $"k-twin-{round}", Body($"o-twin-{round}"));
            var responses = await Task.WhenAll(_http.SendAsync(first), _http.SendAsync(copy()));
            Assert.Equal([HttpStatusCode.Created, HttpStatusCode.Unauthorized], responses.Select(r => r.StatusCode).Order());
            await AssertReplayRefused(responses.Single(r => r.StatusCode == HttpStatusCode.Unauthorized));
        }
        Assert.Equal(5, await CountPayments(shop));
    }

    [Fact]
    public async Task A_signed_idempotency_key_cannot_be_changed_in_transit()
    {
        var (_, shop) = await MerchantAsync();
        var signed = shop.Build(HttpMethod.Post, "/v1/payments", Body("o-sk"), signedIdempotencyKey: "k-signed");
        await Json(await _http.SendAsync(signed), HttpStatusCode.Created);

        _factory.Clock.Advance(TimeSpan.FromSeconds(1));
        var tampered = shop.Build(HttpMethod.Post, "/v1/payments", Body("o-sk-2"), signedIdempotencyKey: "k-signed-2");
        tampered.Headers.Remove(RequestSigning.IdempotencyKeyHeader);
        tampered.Headers.Add(RequestSigning.IdempotencyKeyHeader, "k-other");
        var refused = await Json(await _http.SendAsync(tampered), HttpStatusCode.Unauthorized);
        Assert.Equal(AuthFailureReasons.BadSignature, refused.GetProperty("reason").GetString());
        Assert.Equal(1, await CountPayments(shop));

        // Only idempotency-key can be named, and it must then be present.
        var other = shop.Build(HttpMethod.Post, "/v1/payments", Body("o-sk-3"), signedIdempotencyKey: "k-3");
        other.Headers.Remove(RequestSigning.SignedHeadersHeader);
        other.Headers.Add(RequestSigning.SignedHeadersHeader, "content-type");
        Assert.Equal(AuthFailureReasons.MalformedHeader, (await Json(await _http.SendAsync(other), HttpStatusCode.Unauthorized)).GetProperty("reason").GetString());
        var missing = shop.Build(HttpMethod.Post, "/v1/payments", Body("o-sk-4"), signedIdempotencyKey: "k-4");
        missing.Headers.Remove(RequestSigning.IdempotencyKeyHeader);
        Assert.Equal(AuthFailureReasons.MalformedHeader, (await Json(await _http.SendAsync(missing), HttpStatusCode.Unauthorized)).GetProperty("reason").GetString());
        _factory.Clock.Advance(TimeSpan.FromSeconds(1)); // the listing below would otherwise repeat the signature of the one above
        Assert.Equal(1, await CountPayments(shop));
    }

    [Theory]
    [InlineData("1.0000001", "USDT", "tron", "amount")]
    [InlineData("1", "DOGE", "tron", "asset")]
    [InlineData("1", "USDT", "bitcoin", "asset")]
    [InlineData("0.0000000001", "SOL", "solana", "amount")] // SOL has 9 decimals
    [InlineData("1.0000001", "USDC", "solana", "amount")] // USDC on Solana has 6
    [InlineData("1", "SOL", "ethereum", "asset")]
    public async Task Bad_payments_are_validation_problems(string amount, string asset, string chain, string field)
    {
        var (_, shop) = await MerchantAsync();
        var problem = await Json(await Create(shop, "k-bad", Body("o-bad", amount, asset, chain)), HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.GetRawText());
        var list = await Json(await shop.SendAsync(HttpMethod.Get, "/v1/payments"), HttpStatusCode.OK);
        Assert.Equal(0, list.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task An_amount_as_a_json_number_is_refused()
    {
        var (_, shop) = await MerchantAsync();
        var response = await Create(shop, "k-num", """{"merchantOrderId":"o-n","amount":12.5,"asset":"USDT","chain":"tron"}""");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Another_merchants_payment_is_404()
    {
        var (_, shop) = await MerchantAsync();
        var (_, other) = await MerchantAsync();
        var id = (await Json(await Create(shop, "k-1", Body("o-1")), HttpStatusCode.Created)).GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.NotFound, (await other.SendAsync(HttpMethod.Get, $"/v1/payments/{id}")).StatusCode);
    }

    [Fact]
    public async Task Two_concurrent_creates_with_one_order_id_give_one_payment()
    {
        var (_, shop) = await MerchantAsync();
        var responses = await Task.WhenAll(Create(shop, "race-a", Body("o-race", "1")), Create(shop, "race-b", Body("o-race", "2")));
        Assert.Equal([HttpStatusCode.Created, HttpStatusCode.Conflict], responses.Select(r => r.StatusCode).Order());
    }

    [Fact]
    public async Task Deposit_addresses_are_the_ones_molly_keys_derive_gives()
    {
        var (_, shop) = await MerchantAsync();
        const int count = 300;
        var addresses = new List<string>();
        for (var i = 0; i < count; i++)
            addresses.Add((await Json(await Create(shop, $"k-{i}", Body($"o-{i}", chain: "tron")), HttpStatusCode.Created)).GetProperty("address").GetString()!);

        // Other tests of this class may have allocated tron indexes first: derive a generous range and find ours as one run.
        var output = new StringWriter();
        var exit = MollyCli.Run(["keys", "derive", "--chain", "tron", "--network", "mainnet", "--mnemonic", _factory.DevMnemonic(),
            "--from", "0", "--count", (count + 100).ToString(System.Globalization.CultureInfo.InvariantCulture), "--json"], output, TextWriter.Null, showProgress: false);
        Assert.Equal(0, exit);
        var derived = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("address").GetString()!).ToList();
        var first = derived.IndexOf(addresses[0]);
        Assert.True(first >= 0, "The first deposit address is not among the derived ones.");
        Assert.Equal(derived.Skip(first).Take(count), addresses);
    }

    /// <summary>The shard-0 Solana wallet of the development account, as `molly keys derive --chain sol` gives it (m/44'/501'/0'/0').</summary>
    private string SolanaShard0Wallet()
    {
        var output = new StringWriter();
        var exit = MollyCli.Run(["keys", "derive", "--chain", "sol", "--mnemonic", _factory.DevMnemonic(), "--from", "0", "--count", "1", "--json"],
            output, TextWriter.Null, showProgress: false);
        Assert.Equal(0, exit);
        var row = JsonDocument.Parse(output.ToString()).RootElement;
        Assert.Equal("m/44'/501'/0'/0'", row.GetProperty("path").GetString());
        return row.GetProperty("address").GetString()!;
    }

    [Theory]
    [InlineData("SOL", "1.123456789", 9, "1123456789", null)]
    [InlineData("USDC", "25.50", 6, "25500000", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")]
    public async Task A_solana_payment_is_a_solana_pay_request_to_its_shard_wallet_with_a_fresh_reference(
        string asset, string amount, int decimals, string baseUnits, string? mint)
    {
        var (_, shop) = await MerchantAsync();
        var body = Body($"o-{asset}", amount, asset, "solana");
        var created = await Json(await Create(shop, $"k-{asset}", body), HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString()!;
        var address = created.GetProperty("address").GetString()!;
        var reference = created.GetProperty("reference").GetString()!;
        var uriText = created.GetProperty("paymentUri").GetString()!;
        Assert.Equal(SolanaShard0Wallet(), address);
        Assert.Equal(amount.TrimEnd('0'), created.GetProperty("amount").GetString());

        // Field by field, as the spec's transfer request: solana:<recipient>?amount=<decimal>&spl-token=<mint>&reference=<key>&message=..
        Assert.StartsWith($"solana:{address}?amount={amount.TrimEnd('0')}&", uriText);
        Assert.True(SolanaPayUri.TryParse(uriText, decimals, out var uri, out var error), error);
        Assert.Equal(address, uri.Recipient.ToString());
        Assert.Equal(BigInteger.Parse(baseUnits, System.Globalization.CultureInfo.InvariantCulture), uri.AmountBaseUnits);
        Assert.Equal(mint, uri.SplToken?.ToString());
        Assert.Equal(reference, Assert.Single(uri.References).ToString());
        Assert.Equal($"Order o-{asset}", uri.Message);
        Assert.Null(uri.Memo); // the order id stays off chain

        // The stored payment and its watched item: keyed by the reference, in the shard's GSI1 partition, with what a Solana
        // watcher checks the transfer against (recipient wallet, its token account for SPL, the mint).
        var store = _factory.Services.GetRequiredService<IItemStore>();
        var payment = (await store.GetAsync(Molly.Payments.Keys.Payment(id)))!;
        var watched = await store.GetAsync(Molly.Payments.Keys.WatchedAddress("solana", reference));
        Assert.NotNull(watched);
        Assert.Equal(id, watched.GetString("paymentId"));
        Assert.Equal(address, watched.GetString("recipient"));
        Assert.Equal("watch#solana#00000000", watched.GetString(KeyNames.IndexPK("GSI1")));
        Assert.Equal(mint, watched.GetString("mint"));
        var tokenAccount = mint is null ? null : SolanaAddress.AssociatedTokenAddress(SolanaAddress.Parse(address), SolanaAddress.Parse(mint)).ToString();
        Assert.Equal(tokenAccount, watched.GetString("tokenAccount"));
        Assert.Equal(tokenAccount, payment.GetString("tokenAccount"));
        Assert.Equal("m/44'/501'/0'/0'", payment.GetString("path"));

        _factory.Clock.Advance(TimeSpan.FromSeconds(1));
        var replay = await Create(shop, $"k-{asset}", body);
        Assert.Equal(created.GetRawText(), (await Json(replay, HttpStatusCode.Created)).GetRawText());
        var read = await Json(await shop.SendAsync(HttpMethod.Get, $"/v1/payments/{id}"), HttpStatusCode.OK);
        Assert.Equal(reference, read.GetProperty("reference").GetString());
        Assert.Equal(uriText, read.GetProperty("paymentUri").GetString());
    }

    [Fact]
    public async Task Solana_references_are_unique_and_every_payment_pays_the_shard_wallet()
    {
        var (_, shop) = await MerchantAsync();
        var wallet = SolanaShard0Wallet();
        var references = new List<string>();
        for (var i = 0; i < 300; i++)
        {
            var asset = i % 2 == 0 ? "SOL" : "USDC";
            var p = await Json(await Create(shop, $"k-sol-{i}", Body($"o-sol-{i}", "0.5", asset, "solana")), HttpStatusCode.Created);
            Assert.Equal(wallet, p.GetProperty("address").GetString());
            references.Add(p.GetProperty("reference").GetString()!);
        }
        Assert.Equal(references.Count, references.Distinct().Count());
        Assert.All(references, r => Assert.Equal(32, SolanaAddress.Parse(r).Bytes.Length));
    }

    [Fact]
    public async Task Pages_walk_every_payment_once_under_concurrent_inserts()
    {
        var (_, shop) = await MerchantAsync();
        var before = new List<string>();
        for (var i = 0; i < 12; i++)
            before.Add((await Json(await Create(shop, $"p-{i}", Body($"p-{i}")), HttpStatusCode.Created)).GetProperty("id").GetString()!);

        var inserts = Task.Run(async () =>
        {
            for (var i = 0; i < 8; i++) await Create(shop, $"late-{i}", Body($"late-{i}"));
        });
        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var path = "/v1/payments?limit=5" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor));
            var page = await Json(await shop.SendAsync(HttpMethod.Get, path), HttpStatusCode.OK);
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("id").GetString()!));
            cursor = page.TryGetProperty("nextCursor", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
        } while (cursor is not null);
        await inserts;
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Empty(before.Except(seen));

        var bad = await Json(await shop.SendAsync(HttpMethod.Get, "/v1/payments?status=nope&limit=500"), HttpStatusCode.BadRequest);
        Assert.True(bad.GetProperty("errors").TryGetProperty("status", out _));
        Assert.True(bad.GetProperty("errors").TryGetProperty("limit", out _));
    }

    [Fact]
    public async Task Accepted_assets_are_per_merchant()
    {
        var (merchantId, shop) = await MerchantAsync();
        var put = await _admin.SendAsync(HttpMethod.Put, $"/v1/admin/merchants/{merchantId}/settings",
            """{"acceptedAssets":["BTC@bitcoin"],"underpaymentToleranceBps":50,"plan":"standard"}""");
        Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        var refused = await Json(await Create(shop, "k-usdt", Body("o-usdt")), HttpStatusCode.BadRequest);
        Assert.Contains("does not accept USDT@tron", refused.GetProperty("errors").GetProperty("asset")[0].GetString());
        var btc = await Json(await Create(shop, "k-btc", Body("o-btc", "0.001", "BTC", "bitcoin")), HttpStatusCode.Created);
        Assert.StartsWith("bitcoin:", btc.GetProperty("paymentUri").GetString());

        var unknown = await _admin.SendAsync(HttpMethod.Put, $"/v1/admin/merchants/{merchantId}/settings", """{"acceptedAssets":["XRP@ripple"]}""");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
    }

    [Fact]
    public async Task The_openapi_document_lists_every_payment_endpoint_and_its_errors()
    {
        var doc = await Json(await _http.GetAsync("/openapi/v1.json"), HttpStatusCode.OK);
        var paths = doc.GetProperty("paths");
        Assert.True(paths.GetProperty("/v1/payments").TryGetProperty("post", out var post));
        Assert.True(post.GetProperty("responses").TryGetProperty("409", out _));
        Assert.True(post.GetProperty("responses").TryGetProperty("429", out _));
        Assert.True(paths.GetProperty("/v1/payments").TryGetProperty("get", out _));
        Assert.True(paths.GetProperty("/v1/payments/{id}").TryGetProperty("get", out _));
        Assert.True(paths.TryGetProperty("/v1/admin/merchants", out _));
        Assert.True(doc.GetProperty("components").GetProperty("schemas").TryGetProperty("PaymentView", out _));
    }

    [Theory]
    [InlineData("health.json", HttpStatusCode.OK)]
    [InlineData("payments-create.json", HttpStatusCode.Created)]
    [InlineData("payments-create-bad-decimals.json", HttpStatusCode.BadRequest)]
    [InlineData("payments-create-solana.json", HttpStatusCode.Created)]
    [InlineData("payments-get.json", HttpStatusCode.NotFound)]
    [InlineData("payments-list.json", HttpStatusCode.OK)]
    [InlineData("balances-get.json", HttpStatusCode.OK)]
    [InlineData("rest-health.json", HttpStatusCode.OK)]
    [InlineData("rest-payments-list.json", HttpStatusCode.OK)]
    [InlineData("checkout-page.json", HttpStatusCode.NotFound)] // a payment of another deployment: the 404 page
    [InlineData("checkout-status.json", HttpStatusCode.NotFound)]
    public async Task Each_api_gateway_sample_event_is_answered(string sample, HttpStatusCode expected)
    {
        // What the Lambda Web Adapter does with an API Gateway event: method, path and query, headers, body. The deployed
        // stack's REST API sends the v1 proxy shape (httpMethod, path, queryStringParameters); HTTP APIs send v2 (rawPath).
        var e = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "events-samples", "api", sample))).RootElement;
        var rest = e.TryGetProperty("httpMethod", out var restMethod);
        var method = new HttpMethod(rest ? restMethod.GetString()! : e.GetProperty("requestContext").GetProperty("http").GetProperty("method").GetString()!);
        var query = rest
            ? e.GetProperty("queryStringParameters") is { ValueKind: JsonValueKind.Object } q
                ? string.Join("&", q.EnumerateObject().Select(p => $"{Uri.EscapeDataString(p.Name)}={Uri.EscapeDataString(p.Value.GetString()!)}")) : ""
            : e.GetProperty("rawQueryString").GetString();
        var path = e.GetProperty(rest ? "path" : "rawPath").GetString() + (string.IsNullOrEmpty(query) ? "" : "?" + query);
        var body = e.TryGetProperty("body", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString() : null;
        var (_, shop) = await MerchantAsync();
        var request = e.GetProperty("headers").TryGetProperty("molly-key-id", out _) ? shop.Build(method, path, body) : new HttpRequestMessage(method, path);
        foreach (var h in e.GetProperty("headers").EnumerateObject())
            if (!h.Name.StartsWith("molly-", StringComparison.Ordinal) && h.Name.ToLowerInvariant() is not ("content-type" or "host"))
                request.Headers.TryAddWithoutValidation(h.Name, h.Value.GetString());
        var response = await _http.SendAsync(request);
        Assert.True(expected == response.StatusCode, $"{sample}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}

public sealed class PaymentsApiTests_SqliteStore(SqlitePaymentsFactory f) : PaymentsApiTests<SqlitePaymentsFactory>(f);

public sealed class PaymentsApiTests_DynamoDbLocalStore(DynamoDbLocalPaymentsFactory f) : PaymentsApiTests<DynamoDbLocalPaymentsFactory>(f);

public sealed class RateLimitTests(ThrottledPaymentsFactory factory) : IClassFixture<ThrottledPaymentsFactory>
{
    [Fact]
    public async Task Beyond_its_plan_a_merchant_gets_429_with_retry_after_and_vip_gets_its_own_plan()
    {
        var http = factory.CreateClient();
        var cred = factory.AdminCredential();
        var admin = new SignedClient(http, cred.KeyId, cred.Secret, factory.Clock.GetUtcNow);
        var merchant = (await (await admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants", """{"name":"Busy shop"}"""))
            .Content.ReadFromJsonAsync(ApiJsonContext.Default.MerchantResponse))!;
        var key = (await (await admin.SendAsync(HttpMethod.Post, $"/v1/admin/merchants/{merchant.Id}/api-keys"))
            .Content.ReadFromJsonAsync(ApiJsonContext.Default.IssuedApiKeyResponse))!;
        var shop = new SignedClient(http, key.KeyId, key.Secret, factory.Clock.GetUtcNow);

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 4; i++)
        {
            var r = await shop.SendAsync(HttpMethod.Get, $"/v1/payments?limit={i + 1}"); // distinct requests: the same signature twice is a replay
            statuses.Add(r.StatusCode);
            if (r.StatusCode == HttpStatusCode.TooManyRequests) limited = r;
        }
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        Assert.True(int.Parse(limited!.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);

        // A create refused by the limiter never ran, but its signature is spent: resent once the bucket refills, it is a replay.
        var (_, resend) = PaymentsApiTests<SqlitePaymentsFactory>.SignedCreateAndCopies(shop, "k-limited",
            """{"merchantOrderId":"o-limited","amount":"1","asset":"USDT","chain":"tron"}""");
        Assert.Equal(HttpStatusCode.TooManyRequests, (await http.SendAsync(resend())).StatusCode);
        factory.Clock.Advance(TimeSpan.FromSeconds(1.2)); // the bucket refills from the host's TimeProvider
        var replayed = await http.SendAsync(resend());
        Assert.Equal(HttpStatusCode.Unauthorized, replayed.StatusCode);
        Assert.Contains(AuthFailureReasons.Replayed, await replayed.Content.ReadAsStringAsync());

        var vip = await admin.SendAsync(HttpMethod.Put, $"/v1/admin/merchants/{merchant.Id}/settings",
            """{"acceptedAssets":["USDT@tron"],"plan":"vip"}""");
        Assert.Equal(HttpStatusCode.NoContent, vip.StatusCode);
        for (var i = 0; i < 10; i++)
            Assert.Equal(HttpStatusCode.OK, (await shop.SendAsync(HttpMethod.Get, $"/v1/payments?limit={i + 10}")).StatusCode);
    }
}

/// <summary>A deployment whose clients all sign their Idempotency-Key (Molly:Auth:RequireSignedIdempotencyKey).</summary>
public sealed class SignedIdempotencyKeyFactory() : ApiFactory("Sqlite", new Dictionary<string, string>
{
    ["Molly:Auth:RequireSignedIdempotencyKey"] = "true",
});

public sealed class SignedIdempotencyKeyTests(SignedIdempotencyKeyFactory factory) : IClassFixture<SignedIdempotencyKeyFactory>
{
    [Fact]
    public void The_signed_string_gains_one_line_only_when_the_key_is_signed()
    {
        Assert.Equal("1700000000\nPOST\n/v1/payments\nabc", RequestSigning.StringToSign(1700000000, "post", "/v1/payments", "abc"));
        Assert.Equal("1700000000\nPOST\n/v1/payments\nabc\nidempotency-key:k-1",
            RequestSigning.StringToSign(1700000000, "post", "/v1/payments", "abc", "k-1"));
    }

    [Fact]
    public async Task When_required_an_unsigned_idempotency_key_is_refused_and_a_signed_one_accepted()
    {
        var http = factory.CreateClient();
        var cred = factory.AdminCredential();
        var admin = new SignedClient(http, cred.KeyId, cred.Secret, factory.Clock.GetUtcNow);
        var merchant = (await (await admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants", """{"name":"Strict shop"}"""))
            .Content.ReadFromJsonAsync(ApiJsonContext.Default.MerchantResponse))!;
        var key = (await (await admin.SendAsync(HttpMethod.Post, $"/v1/admin/merchants/{merchant.Id}/api-keys"))
            .Content.ReadFromJsonAsync(ApiJsonContext.Default.IssuedApiKeyResponse))!;
        var shop = new SignedClient(http, key.KeyId, key.Secret, factory.Clock.GetUtcNow);
        const string body = """{"merchantOrderId":"o-1","amount":"1","asset":"USDT","chain":"tron"}""";

        var legacy = shop.Build(HttpMethod.Post, "/v1/payments", body);
        legacy.Headers.Add(RequestSigning.IdempotencyKeyHeader, "k-1");
        var refused = await http.SendAsync(legacy);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains(AuthFailureReasons.UnsignedIdempotencyKey, await refused.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.Created, (await http.SendAsync(shop.Build(HttpMethod.Post, "/v1/payments", body, signedIdempotencyKey: "k-1"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await shop.SendAsync(HttpMethod.Get, "/v1/me")).StatusCode); // no Idempotency-Key: nothing to sign
    }
}

/// <summary>Solana receiving wallets as configuration (public keys only), as on AWS: shard 0 is the Trezor vector's
/// m/44'/501'/0'/0' wallet of "all all ... all" (solana.json).</summary>
public sealed class ConfiguredSolanaRecipientsFactory() : ApiFactory("Sqlite", new Dictionary<string, string>
{
    ["Molly:Payments:SolanaRecipients:mainnet:0"] = ConfiguredSolanaRecipientsTests.TrezorWallet,
});

public sealed class ConfiguredSolanaRecipientsTests(ConfiguredSolanaRecipientsFactory factory) : IClassFixture<ConfiguredSolanaRecipientsFactory>
{
    public const string TrezorWallet = "14CCvQzQzHCVgZM3j9soPnXuJXh1RmCfwLVUcdfbZVBS";

    [Fact]
    public async Task A_solana_payment_pays_the_configured_wallet_of_its_shard()
    {
        var http = factory.CreateClient();
        var cred = factory.AdminCredential();
        var admin = new SignedClient(http, cred.KeyId, cred.Secret, factory.Clock.GetUtcNow);
        var merchant = (await (await admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants", """{"name":"Sol shop"}"""))
            .Content.ReadFromJsonAsync(ApiJsonContext.Default.MerchantResponse))!;
        var key = (await (await admin.SendAsync(HttpMethod.Post, $"/v1/admin/merchants/{merchant.Id}/api-keys"))
            .Content.ReadFromJsonAsync(ApiJsonContext.Default.IssuedApiKeyResponse))!;
        var shop = new SignedClient(http, key.KeyId, key.Secret, factory.Clock.GetUtcNow);
        var request = shop.Build(HttpMethod.Post, "/v1/payments", """{"merchantOrderId":"o-1","amount":"0.02","asset":"SOL","chain":"solana"}""");
        request.Headers.Add("Idempotency-Key", "k-1");
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        var payment = JsonDocument.Parse(text).RootElement;
        Assert.Equal(TrezorWallet, payment.GetProperty("address").GetString());
        Assert.StartsWith($"solana:{TrezorWallet}?amount=0.02&reference=", payment.GetProperty("paymentUri").GetString());
    }

    [Theory]
    [InlineData("DShWnroshVbeUp28oopA3Pu7oFPDBtC1DBmPECXXAQ9n")] // the ATA vector's off-curve owner: a program address
    [InlineData("not-base58-0OIl")]
    public void A_recipient_that_is_not_a_wallet_stops_the_host_at_start(string recipient)
    {
        using var bad = new BadSolanaRecipientFactory(recipient);
        var e = Assert.ThrowsAny<Exception>(() => bad.CreateClient());
        Assert.Contains("SolanaRecipients", e.ToString());
    }

    private sealed class BadSolanaRecipientFactory(string recipient) : ApiFactory("Sqlite", new Dictionary<string, string>
    {
        ["Molly:Payments:SolanaRecipients:mainnet:0"] = recipient,
    });
}
