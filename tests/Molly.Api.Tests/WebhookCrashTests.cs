using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Molly.Api.Endpoints;
using Molly.Api.Security;
using Molly.Testing;
using Molly.Webhooks;
using Xunit;

namespace Molly.Api.Tests;

/// <summary>
/// The built Api (with its in-process webhook worker) is SIGKILLed while the receiver on 127.0.0.1 holds webhook requests
/// open (none is answered before the kill); after a restart on the same data dir every acknowledged payment's event is
/// POSTed and answered, including the ones that were in flight (their outcome was never recorded, so their lease ran out).
/// </summary>
[Trait("Category", "Slow")]
public sealed class WebhookCrashTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("molly-webhook-crash-").FullName;
    private readonly ApiProcess _api;

    public WebhookCrashTests() => _api = new ApiProcess(_dataDir,
        "--Molly:Webhooks:AllowHttpLoopback", "true",
        "--Molly:Webhooks:Timeout", "00:00:02",
        "--Molly:Webhooks:LeaseDuration", "00:00:04",
        "--Molly:Webhooks:PollInterval", "00:00:00.200",
        "--Molly:Payments:StandardBurst", "10000",
        "--Molly:Payments:StandardPermitsPerSecond", "10000");

    [Fact]
    public async Task Deliveries_in_flight_at_a_sigkill_are_delivered_after_the_restart()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var held = new TaskCompletionSource();
        // Until the kill, hold every request open (in flight); afterwards answer at once.
        receiver.Behaviour = _ => held.Task.IsCompleted ? Reply.Ok : new Reply(200, Delay: TimeSpan.FromSeconds(30));

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var baseUri = await _api.StartAsync(http);
        var cred = JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(_dataDir, AdminBootstrap.FileName)), ApiJsonContext.Default.AdminCredentialFile)!;
        var admin = new SignedClient(http, cred.KeyId, cred.Secret, () => DateTimeOffset.UtcNow);
        async Task<HttpResponseMessage> Send(SignedClient client, HttpMethod method, string path, string? json = null, string? idempotencyKey = null)
        {
            var request = client.Build(method, path, json);
            request.RequestUri = new Uri(baseUri, path);
            if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
            return await http.SendAsync(request);
        }

        var merchant = (await (await Send(admin, HttpMethod.Post, "/v1/admin/merchants", """{"name":"Crash shop"}""")).Content
            .ReadFromJsonAsync(ApiJsonContext.Default.MerchantResponse))!;
        var key = (await (await Send(admin, HttpMethod.Post, $"/v1/admin/merchants/{merchant.Id}/api-keys")).Content
            .ReadFromJsonAsync(ApiJsonContext.Default.IssuedApiKeyResponse))!;
        var shop = new SignedClient(http, key.KeyId, key.Secret, () => DateTimeOffset.UtcNow);
        var endpoint = await Send(shop, HttpMethod.Post, "/v1/webhook-endpoints", $$"""{"url":"{{receiver.Url()}}","events":["payment.created"]}""");
        Assert.Equal(HttpStatusCode.Created, endpoint.StatusCode);
        var secret = JsonDocument.Parse(await endpoint.Content.ReadAsStringAsync()).RootElement.GetProperty("secret").GetString()!;

        var payments = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(Enumerable.Range(0, 40), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
        {
            var response = await Send(shop, HttpMethod.Post, "/v1/payments",
                $$"""{"merchantOrderId":"crash-{{i}}","amount":"1","asset":"USDT","chain":"tron"}""", $"crash-{i}");
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            payments.Add(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!);
        });

        Assert.True(await receiver.WaitForAsync(5, TimeSpan.FromSeconds(30)), "no webhook went out before the kill");
        await _api.KillAsync(); // SIGKILL with requests held open by the receiver
        // Every POST so far was held open, so none was answered: none may count as delivered.
        var beforeKill = receiver.Received;
        var inFlightAtKill = beforeKill.Select(r => r.DeliveryId!).ToHashSet();
        held.SetResult();

        baseUri = await _api.StartAsync(http);
        var deadline = DateTime.UtcNow.AddSeconds(90);
        HashSet<string> delivered;
        while (true)
        {
            delivered = receiver.Received.Skip(beforeKill.Count)
                .Where(r => WebhookSignature.Verify(r.Signature, r.Body, secret, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)))
                .Select(r => JsonDocument.Parse(r.Body).RootElement.GetProperty("data").GetProperty("paymentId").GetString()!)
                .ToHashSet();
            if (payments.All(delivered.Contains) || DateTime.UtcNow > deadline) break;
            await Task.Delay(200);
        }
        Assert.DoesNotContain(payments, p => !delivered.Contains(p));

        // Each delivery that was in flight at the kill was sent again after the restart.
        var after = receiver.Received.Skip(beforeKill.Count).Select(r => r.DeliveryId).ToHashSet();
        Assert.NotEmpty(inFlightAtKill);
        Assert.All(inFlightAtKill, id => Assert.Contains(id, after));

        // And the API records every one as succeeded, exactly one delivery per payment event.
        var succeeded = new List<JsonElement>();
        for (var tries = 0; tries < 100; tries++)
        {
            succeeded.Clear();
            string? cursor = null;
            do
            {
                var page = JsonDocument.Parse(await (await Send(shop, HttpMethod.Get,
                    "/v1/webhook-deliveries?status=succeeded&limit=100" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)))).Content.ReadAsStringAsync()).RootElement;
                succeeded.AddRange(page.GetProperty("items").EnumerateArray().Select(e => e.Clone()));
                cursor = page.TryGetProperty("nextCursor", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            } while (cursor is not null);
            if (succeeded.Count == payments.Count) break;
            await Task.Delay(200);
        }
        Assert.Equal(payments.Count, succeeded.Count);
        Assert.Equal(payments.Count, succeeded.Select(d => d.GetProperty("eventId").GetString()).Distinct().Count());
    }

    public void Dispose()
    {
        _api.Dispose();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }
}
