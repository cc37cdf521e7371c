using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Molly.Api.Endpoints;
using Molly.Testing;
using Molly.Webhooks;
using Xunit;

namespace Molly.Api.Tests;

/// <summary>Local development settings: http to 127.0.0.1 allowed (the receiver), short timeouts.</summary>
public abstract class WebhooksFactory(string storeKind) : ApiFactory(storeKind, new Dictionary<string, string>
{
    ["Molly:Webhooks:AllowHttpLoopback"] = "true",
    ["Molly:Webhooks:Timeout"] = "00:00:02",
    ["Molly:Webhooks:LeaseDuration"] = "00:00:10",
    ["Molly:Webhooks:PollInterval"] = "00:00:00.200",
    ["Molly:Payments:StandardPermitsPerSecond"] = "100000",
    ["Molly:Payments:StandardBurst"] = "100000",
});

public sealed class SqliteWebhooksFactory() : WebhooksFactory("Sqlite");

public sealed class DynamoDbLocalWebhooksFactory() : WebhooksFactory("DynamoDb");

/// <summary>Webhook endpoints and deliveries through the HTTP API, with the local host's in-process worker delivering to a
/// real receiver on 127.0.0.1.</summary>
public abstract class WebhooksApiTests<TFactory> : IClassFixture<TFactory>, IAsyncLifetime where TFactory : WebhooksFactory
{
    private readonly TFactory _factory;
    private readonly HttpClient _http;
    private readonly SignedClient _admin;
    private WebhookReceiver _receiver = null!;

    protected WebhooksApiTests(TFactory factory)
    {
        _factory = factory;
        _http = factory.CreateClient();
        var cred = factory.AdminCredential();
        _admin = new SignedClient(_http, cred.KeyId, cred.Secret, factory.Clock.GetUtcNow);
    }

    public async Task InitializeAsync() => _receiver = await WebhookReceiver.StartAsync();

    public async Task DisposeAsync() => await _receiver.DisposeAsync();

    private async Task<SignedClient> MerchantAsync()
    {
        var created = await _admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants", $$"""{"name":"Shop {{Guid.NewGuid():N}}"}""");
        var merchant = (await created.Content.ReadFromJsonAsync(ApiJsonContext.Default.MerchantResponse))!;
        var issued = await _admin.SendAsync(HttpMethod.Post, $"/v1/admin/merchants/{merchant.Id}/api-keys");
        var key = (await issued.Content.ReadFromJsonAsync(ApiJsonContext.Default.IssuedApiKeyResponse))!;
        return new SignedClient(_http, key.KeyId, key.Secret, _factory.Clock.GetUtcNow);
    }

    private static async Task<JsonElement> Json(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{(int)response.StatusCode}: {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    private static string EndpointBody(string url, string events = """["*"]""") => $$"""{"url":"{{url}}","events":{{events}}}""";

    [Fact]
    public async Task Endpoint_lifecycle_shows_the_secret_only_on_create_and_rotate()
    {
        var shop = await MerchantAsync();
        var created = await Json(await shop.SendAsync(HttpMethod.Post, "/v1/webhook-endpoints", EndpointBody(_receiver.Url(), """["payment.paid","payment.*"]""")),
            HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString()!;
        var secret = created.GetProperty("secret").GetString()!;
        Assert.StartsWith("whsec_", secret);

        var list = await Json(await shop.SendAsync(HttpMethod.Get, "/v1/webhook-endpoints"), HttpStatusCode.OK);
        var listed = Assert.Single(list.GetProperty("items").EnumerateArray());
        Assert.Equal(id, listed.GetProperty("id").GetString());
        Assert.False(listed.TryGetProperty("secret", out _));
        Assert.DoesNotContain(secret, list.GetRawText());
        var one = await Json(await shop.SendAsync(HttpMethod.Get, $"/v1/webhook-endpoints/{id}"), HttpStatusCode.OK);
        Assert.Equal(["payment.paid", "payment.*"], one.GetProperty("events").EnumerateArray().Select(e => e.GetString()));

        var rotated = await Json(await shop.SendAsync(HttpMethod.Post, $"/v1/webhook-endpoints/{id}/rotate-secret", """{"overlapSeconds":600}"""), HttpStatusCode.OK);
        Assert.NotEqual(secret, rotated.GetProperty("secret").GetString());
        Assert.Equal(_factory.Clock.GetUtcNow().AddSeconds(600).ToUnixTimeSeconds(),
            rotated.GetProperty("previousSecretExpiresAt").GetDateTimeOffset().ToUnixTimeSeconds());
        var tooLong = await Json(await shop.SendAsync(HttpMethod.Post, $"/v1/webhook-endpoints/{id}/rotate-secret", """{"overlapSeconds":99999999}"""),
            HttpStatusCode.BadRequest);
        Assert.True(tooLong.GetProperty("errors").TryGetProperty("overlapSeconds", out _));

        var other = await MerchantAsync();
        await Json(await other.SendAsync(HttpMethod.Get, $"/v1/webhook-endpoints/{id}"), HttpStatusCode.NotFound);
        await Json(await other.SendAsync(HttpMethod.Delete, $"/v1/webhook-endpoints/{id}"), HttpStatusCode.NotFound);
        await Json(await shop.SendAsync(HttpMethod.Delete, $"/v1/webhook-endpoints/{id}"), HttpStatusCode.NoContent);
        _factory.Clock.Advance(TimeSpan.FromSeconds(1)); // repeated requests are signed anew
        await Json(await shop.SendAsync(HttpMethod.Get, $"/v1/webhook-endpoints/{id}"), HttpStatusCode.NotFound);
        await Json(await shop.SendAsync(HttpMethod.Delete, $"/v1/webhook-endpoints/{id}"), HttpStatusCode.NotFound);
        var bad = await Json(await shop.SendAsync(HttpMethod.Get, "/v1/webhook-endpoints/nope"), HttpStatusCode.BadRequest);
        Assert.Equal("invalid_id", bad.GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData("http://hooks.example.com/x", "url", "https")]
    [InlineData("https://user:pw@hooks.example.com/x", "url", "credentials")]
    [InlineData("https://10.0.0.1/x", "url", "10.0.0.1")]
    [InlineData("https://169.254.169.254/latest", "url", "169.254.169.254")]
    [InlineData("https://[::1]/x", "url", "::1")]
    [InlineData("https://localhost/x", "url", "localhost")]
    [InlineData("http://127.0.0.2/x", "url", "https")]
    public async Task Bad_urls_are_refused_with_a_clear_problem_and_nothing_is_written(string url, string field, string mentioned)
    {
        var shop = await MerchantAsync();
        var response = await shop.SendAsync(HttpMethod.Post, "/v1/webhook-endpoints", EndpointBody(url));
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await Json(response, HttpStatusCode.BadRequest);
        Assert.Contains(mentioned, problem.GetProperty("errors").GetProperty(field)[0].GetString());
        Assert.Equal("invalid_webhook_endpoint", problem.GetProperty("reason").GetString());
        var list = await Json(await shop.SendAsync(HttpMethod.Get, "/v1/webhook-endpoints"), HttpStatusCode.OK);
        Assert.Empty(list.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task Bad_event_lists_and_bodies_are_refused()
    {
        var shop = await MerchantAsync();
        var unknown = await Json(await shop.SendAsync(HttpMethod.Post, "/v1/webhook-endpoints", EndpointBody(_receiver.Url(), """["payment.payed"]""")),
            HttpStatusCode.BadRequest);
        Assert.Contains("payment.payed", unknown.GetProperty("errors").GetProperty("events")[0].GetString());
        await Json(await shop.SendAsync(HttpMethod.Post, "/v1/webhook-endpoints", EndpointBody(_receiver.Url(), "[]")), HttpStatusCode.BadRequest);
        await Json(await shop.SendAsync(HttpMethod.Post, "/v1/webhook-endpoints", """{"url":"https://a.example.com","events":["*"],"extra":1}"""),
            HttpStatusCode.BadRequest);
        await Json(await shop.SendAsync(HttpMethod.Post, "/v1/webhook-endpoints", """{"events":["*"]}"""), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Creating_with_an_idempotency_key_twice_gives_the_same_endpoint_and_another_body_conflicts()
    {
        var shop = await MerchantAsync();
        async Task<HttpResponseMessage> Create(string body)
        {
            _factory.Clock.Advance(TimeSpan.FromSeconds(1)); // a new timestamp: each request is signed anew
            var request = shop.Build(HttpMethod.Post, "/v1/webhook-endpoints", body);
            request.Headers.Add("Idempotency-Key", "ep-1");
            return await _http.SendAsync(request);
        }
        var first = await Json(await Create(EndpointBody(_receiver.Url())), HttpStatusCode.Created);
        var againResponse = await Create(EndpointBody(_receiver.Url()));
        var again = await Json(againResponse, HttpStatusCode.Created);
        Assert.Equal("true", againResponse.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(first.GetProperty("id").GetString(), again.GetProperty("id").GetString());
        Assert.Equal(first.GetProperty("secret").GetString(), again.GetProperty("secret").GetString());
        await Json(await Create(EndpointBody(_receiver.Url("/other"))), HttpStatusCode.Conflict);
        var list = await Json(await shop.SendAsync(HttpMethod.Get, "/v1/webhook-endpoints"), HttpStatusCode.OK);
        Assert.Single(list.GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task A_new_payment_reaches_the_receiver_signed_and_can_be_listed_and_redelivered()
    {
        var shop = await MerchantAsync();
        var endpoint = await Json(await shop.SendAsync(HttpMethod.Post, "/v1/webhook-endpoints", EndpointBody(_receiver.Url(), """["payment.created"]""")),
            HttpStatusCode.Created);
        var secret = endpoint.GetProperty("secret").GetString()!;
        var request = shop.Build(HttpMethod.Post, "/v1/payments", """{"merchantOrderId":"wh-1","amount":"10","asset":"USDT","chain":"tron"}""");
        request.Headers.Add("Idempotency-Key", "wh-1");
        var payment = await Json(await _http.SendAsync(request), HttpStatusCode.Created);

        Assert.True(await _receiver.WaitForAsync(1, TimeSpan.FromSeconds(30)), "the in-process worker did not deliver");
        var got = _receiver.Received[0];
        Assert.True(WebhookSignature.Verify(got.Signature, got.Body, secret, _factory.Clock.GetUtcNow(), TimeSpan.FromMinutes(5)));
        using var body = JsonDocument.Parse(got.Body);
        Assert.Equal("payment.created", body.RootElement.GetProperty("type").GetString());
        Assert.Equal(payment.GetProperty("id").GetString(), body.RootElement.GetProperty("data").GetProperty("paymentId").GetString());
        Assert.Equal(payment.GetProperty("statusVersion").GetInt64(), body.RootElement.GetProperty("statusVersion").GetInt64());

        JsonElement delivery = default;
        for (var i = 0; i < 100; i++) // the outcome is recorded just after the receiver answered
        {
            var page = await Json(await shop.SendAsync(HttpMethod.Get, "/v1/webhook-deliveries?status=succeeded"), HttpStatusCode.OK);
            if (page.GetProperty("items").GetArrayLength() == 1) { delivery = page.GetProperty("items")[0]; break; }
            await Task.Delay(50);
            _factory.Clock.Advance(TimeSpan.FromSeconds(1)); // the same request again needs a new signature
        }
        Assert.Equal(got.DeliveryId, delivery.GetProperty("id").GetString());
        Assert.Equal(1, delivery.GetProperty("attempts").GetInt32());
        var byEndpoint = await Json(await shop.SendAsync(HttpMethod.Get,
            $"/v1/webhook-deliveries?endpoint={endpoint.GetProperty("id").GetString()}&event=payment.created&limit=5"), HttpStatusCode.OK);
        Assert.Equal(1, byEndpoint.GetProperty("items").GetArrayLength());
        var none = await Json(await shop.SendAsync(HttpMethod.Get, "/v1/webhook-deliveries?event=payment.paid"), HttpStatusCode.OK);
        Assert.Equal(0, none.GetProperty("items").GetArrayLength());

        var redelivered = await Json(await shop.SendAsync(HttpMethod.Post, $"/v1/webhook-deliveries/{got.DeliveryId}/redeliver"), HttpStatusCode.Created);
        Assert.True(redelivered.GetProperty("isRedelivery").GetBoolean());
        Assert.True(await _receiver.WaitForAsync(2, TimeSpan.FromSeconds(30)));
        Assert.Equal("true", _receiver.Received[1].IsRedelivery);
        Assert.Equal(redelivered.GetProperty("id").GetString(), _receiver.Received[1].DeliveryId);
        Assert.Equal(got.EventId, _receiver.Received[1].EventId);

        var other = await MerchantAsync();
        await Json(await other.SendAsync(HttpMethod.Post, $"/v1/webhook-deliveries/{got.DeliveryId}/redeliver"), HttpStatusCode.NotFound);
        await Json(await other.SendAsync(HttpMethod.Get, $"/v1/webhook-deliveries/{got.DeliveryId}"), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("/v1/webhook-deliveries?status=lost", "status")]
    [InlineData("/v1/webhook-deliveries?endpoint=x", "endpoint")]
    [InlineData("/v1/webhook-deliveries?event=payment.payed", "event")]
    [InlineData("/v1/webhook-deliveries?limit=0", "limit")]
    [InlineData("/v1/webhook-deliveries?cursor=garbage", "cursor")]
    public async Task Bad_delivery_filters_are_400_problems(string path, string field)
    {
        var shop = await MerchantAsync();
        var problem = await Json(await shop.SendAsync(HttpMethod.Get, path), HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.GetRawText());
    }

    [Fact]
    public async Task Webhooks_need_a_merchant_and_are_in_the_openapi_document()
    {
        await Json(await _http.PostAsync("/v1/webhook-endpoints", JsonContent.Create(new { url = "https://a.example.com", events = new[] { "*" } })),
            HttpStatusCode.Unauthorized);
        await Json(await _admin.SendAsync(HttpMethod.Get, "/v1/webhook-endpoints"), HttpStatusCode.Forbidden);
        var doc = await Json(await _http.GetAsync("/openapi/v1.json"), HttpStatusCode.OK);
        var paths = doc.GetProperty("paths");
        Assert.True(paths.GetProperty("/v1/webhook-endpoints").TryGetProperty("post", out var post));
        Assert.True(post.GetProperty("responses").TryGetProperty("409", out _));
        Assert.True(paths.GetProperty("/v1/webhook-endpoints").TryGetProperty("get", out _));
        Assert.True(paths.GetProperty("/v1/webhook-endpoints/{id}").TryGetProperty("delete", out _));
        Assert.True(paths.GetProperty("/v1/webhook-endpoints/{id}/rotate-secret").TryGetProperty("post", out _));
        Assert.True(paths.GetProperty("/v1/webhook-deliveries").TryGetProperty("get", out _));
        Assert.True(paths.GetProperty("/v1/webhook-deliveries/{id}/redeliver").TryGetProperty("post", out _));
        Assert.True(doc.GetProperty("components").GetProperty("schemas").TryGetProperty("WebhookDelivery", out _));
    }
}

public sealed class SqliteWebhooksApiTests(SqliteWebhooksFactory factory) : WebhooksApiTests<SqliteWebhooksFactory>(factory);

public sealed class DynamoDbWebhooksApiTests(DynamoDbLocalWebhooksFactory factory) : WebhooksApiTests<DynamoDbLocalWebhooksFactory>(factory);

public sealed class WebhookOptionsStartupTests
{
    [Fact]
    public void Http_to_loopback_is_refused_at_start_outside_local_mode()
    {
        using var factory = new AwsLoopbackFactory();
        var e = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains("AllowHttpLoopback", e.ToString());
    }

    [Fact]
    public void A_lease_shorter_than_two_timeouts_is_refused_at_start()
    {
        using var factory = new ShortLeaseFactory();
        var e = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains("LeaseDuration", e.ToString());
    }

    private sealed class AwsLoopbackFactory() : ApiFactory("DynamoDb", new Dictionary<string, string>
    {
        ["Molly:Mode"] = "Aws",
        ["Molly:Secrets:KmsKeyId"] = "alias/test", // present, so the only start-up failure is the one under test
        ["Molly:Webhooks:AllowHttpLoopback"] = "true",
    });

    private sealed class ShortLeaseFactory() : ApiFactory("Sqlite", new Dictionary<string, string>
    {
        ["Molly:Webhooks:LeaseDuration"] = "00:00:05",
    });
}
