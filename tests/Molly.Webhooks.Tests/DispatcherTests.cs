using System.Net;
using System.Text.Json;
using Molly.Storage;
using Molly.Testing;
using Xunit;

namespace Molly.Webhooks.Tests;

/// <summary>The fan-out and the dispatcher against a real receiver on 127.0.0.1, on both stores. Retries are driven by
/// the manual clock: nothing sleeps for the schedule.</summary>
public abstract class DispatcherTests(string storeKind) : IAsyncLifetime
{
    private static readonly TimeSpan Tolerance = TimeSpan.FromMinutes(5);
    protected Testbed Bed { get; private set; } = null!;

    public async Task InitializeAsync() => Bed = await Testbed.CreateAsync(storeKind);

    public async Task DisposeAsync() => await Bed.DisposeAsync();

    private async Task<string> OnlyDeliveryIdAsync(string eventId)
    {
        var page = await Bed.Deliveries.ListAsync(Testbed.Merchant, null, null, null, 100, null, default);
        return Assert.Single(page.Items, d => d.EventId == eventId && !d.IsRedelivery).Id;
    }

    [Fact]
    public async Task An_event_is_delivered_once_signed_with_ids_and_status_version_and_the_fan_out_is_idempotent()
    {
        var (endpoint, secret) = await Bed.AddEndpointAsync();
        var eventId = await Bed.EmitAsync("PaymentCreatedV1", statusVersion: 4);
        var results = await Bed.Dispatcher.RunDueAsync(default);

        var result = Assert.Single(results);
        Assert.Equal("succeeded", result.Outcome);
        var got = Assert.Single(Bed.Receiver.Received);
        Assert.True(MollyWebhook.Verify(got.Signature, got.Body, secret, Bed.Clock.GetUtcNow(), Tolerance));
        Assert.False(MollyWebhook.Verify(got.Signature, got.Body, "whsec_wrong", Bed.Clock.GetUtcNow(), Tolerance));
        Assert.Equal(eventId, got.EventId);
        Assert.Equal(WebhookIds.DeliveryFor(endpoint.Id, eventId), got.DeliveryId);
        Assert.Equal("false", got.IsRedelivery);
        Assert.StartsWith("application/json", got.ContentType);
        using var body = JsonDocument.Parse(got.Body);
        Assert.Equal(eventId, body.RootElement.GetProperty("id").GetString());
        Assert.Equal("payment.created", body.RootElement.GetProperty("type").GetString());
        Assert.Equal(4, body.RootElement.GetProperty("statusVersion").GetInt64());
        Assert.Equal(got.DeliveryId, body.RootElement.GetProperty("deliveryId").GetString());
        Assert.Equal("12.50", body.RootElement.GetProperty("data").GetProperty("amount").GetString());

        var delivery = await Bed.DeliveryAsync(got.DeliveryId!);
        Assert.Equal(DeliveryStatus.Succeeded, delivery.Status);
        Assert.Equal(1, delivery.Attempts);
        Assert.Equal(200, Assert.Single(delivery.History).StatusCode);

        // The feed delivers at least once: replaying it from the start creates no second delivery, sends nothing more.
        var replay = new ChangeFeedConsumer(Bed.Store, "replay", async (changes, ct) =>
        {
            foreach (var c in changes.Where(WebhookDeliveries.IsOutboxInsert)) await Bed.Deliveries.FanOutAsync(c.NewImage!, ct);
        });
        await replay.RunOnceAsync();
        Assert.Empty(await Bed.Dispatcher.RunDueAsync(default));
        Assert.Single((await Bed.Deliveries.ListAsync(Testbed.Merchant, null, null, null, 100, null, default)).Items);
    }

    [Fact]
    public async Task Endpoints_get_only_the_events_they_subscribe_to_and_internal_events_go_nowhere()
    {
        await Bed.AddEndpointAsync(Bed.Receiver.Url("/paid"), ["payment.paid"]);
        await Bed.AddEndpointAsync(Bed.Receiver.Url("/all-payments"), ["payment.*"]);
        await Bed.AddEndpointAsync(Bed.Receiver.Url("/other"), ["*"], merchant: "mch_11111111111111111111");
        await Bed.EmitAsync("PaymentCreatedV1");
        await Bed.EmitAsync("PaymentPaidV1");
        await Bed.EmitAsync("MerchantCreatedV1");
        await Bed.Dispatcher.RunDueAsync(default);
        var paths = Bed.Receiver.Received.Select(r => r.Path).Order().ToList();
        Assert.Equal(["/all-payments", "/all-payments", "/paid"], paths);
    }

    [Fact]
    public async Task Retries_after_500s_and_a_timeout_follow_the_backoff_schedule_on_the_clock()
    {
        var (_, secret) = await Bed.AddEndpointAsync();
        var replies = new Queue<Reply>([new Reply(500), new Reply(503), new Reply(200, Delay: TimeSpan.FromSeconds(6)), Reply.Ok]);
        Bed.Receiver.Behaviour = _ => replies.Dequeue();
        var eventId = await Bed.EmitAsync();
        var id = await OnlyDeliveryIdAsync(eventId);
        var created = Bed.Clock.GetUtcNow();

        for (var failure = 1; failure <= 3; failure++)
        {
            var sentAt = Bed.Clock.GetUtcNow();
            var result = Assert.Single(await Bed.Dispatcher.RunDueAsync(default));
            Assert.Equal("retry", result.Outcome);
            var next = result.NextAttemptAt!.Value;
            Assert.InRange(next, sentAt + TimeSpan.FromSeconds(1), sentAt + Bed.Dispatcher.Schedule.Ceiling(failure));
            var d = await Bed.DeliveryAsync(id);
            Assert.Equal(DeliveryStatus.Pending, d.Status);
            Assert.Equal(next, d.NextAttemptAt);

            // Not due yet: a pass a moment before sends nothing.
            Bed.Clock.Set(next - TimeSpan.FromMilliseconds(1));
            Assert.Empty(await Bed.Dispatcher.RunDueAsync(default));
            Bed.Clock.Set(next);
        }
        Assert.Equal("succeeded", Assert.Single(await Bed.Dispatcher.RunDueAsync(default)).Outcome);
        var done = await Bed.DeliveryAsync(id);
        Assert.Equal(4, done.Attempts);
        Assert.Equal(["retry", "retry", "retry", "succeeded"], done.History.Select(h => h.Outcome));
        Assert.Equal([500, 503, null, 200], done.History.Select(h => h.StatusCode));
        Assert.StartsWith("timeout", done.History[2].Error);
        Assert.Equal(4, Bed.Receiver.Count);
        Assert.All(Bed.Receiver.Received, r => Assert.Equal(Bed.Receiver.Received[0].Body, r.Body)); // same bytes each try
        Assert.True(MollyWebhook.Verify(Bed.Receiver.Received[3].Signature, Bed.Receiver.Received[3].Body, secret, Bed.Clock.GetUtcNow(), Tolerance));
        Assert.True(Bed.Clock.GetUtcNow() - created < TimeSpan.FromSeconds(10 + 20 + 40));
    }

    [Fact]
    public async Task A_429_is_retried_exactly_after_its_Retry_After()
    {
        await Bed.AddEndpointAsync();
        var replies = new Queue<Reply>([new Reply(429, RetryAfter: "120"), Reply.Ok]);
        Bed.Receiver.Behaviour = _ => replies.Dequeue();
        await Bed.EmitAsync();
        var start = Bed.Clock.GetUtcNow();
        var first = Assert.Single(await Bed.Dispatcher.RunDueAsync(default));
        Assert.Equal(429, first.StatusCode);
        Assert.Equal(start + TimeSpan.FromSeconds(120), first.NextAttemptAt);
        Bed.Clock.Advance(TimeSpan.FromSeconds(119));
        Assert.Empty(await Bed.Dispatcher.RunDueAsync(default));
        Bed.Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("succeeded", Assert.Single(await Bed.Dispatcher.RunDueAsync(default)).Outcome);
    }

    [Fact]
    public async Task A_400_fails_fast_and_leaves_the_due_index()
    {
        await Bed.AddEndpointAsync();
        Bed.Receiver.Behaviour = _ => new Reply(400);
        var eventId = await Bed.EmitAsync();
        Assert.Equal("failed", Assert.Single(await Bed.Dispatcher.RunDueAsync(default)).Outcome);
        Bed.Clock.Advance(TimeSpan.FromDays(4));
        Assert.Empty(await Bed.Dispatcher.RunDueAsync(default));
        var d = await Bed.DeliveryAsync(await OnlyDeliveryIdAsync(eventId));
        Assert.Equal(DeliveryStatus.Failed, d.Status);
        Assert.Equal(1, d.Attempts);
        Assert.Null((await Bed.DeliveryItemAsync(d.Id))!.GetString("GSI1PK"));
        Assert.Equal(1, Bed.Receiver.Count);
    }

    [Fact]
    public async Task A_delivery_that_always_fails_is_dead_lettered_after_three_days_and_listed_as_dead()
    {
        await Bed.AddEndpointAsync();
        Bed.Receiver.Behaviour = _ => new Reply(503);
        var eventId = await Bed.EmitAsync();
        var id = await OnlyDeliveryIdAsync(eventId);
        var created = Bed.Clock.GetUtcNow();
        var sends = new List<DateTimeOffset>();
        while (true)
        {
            sends.Add(Bed.Clock.GetUtcNow());
            var result = Assert.Single(await Bed.Dispatcher.RunDueAsync(default));
            if (result.Outcome == DeliveryStatus.Dead) break;
            Assert.Equal("retry", result.Outcome);
            Bed.Clock.Set(result.NextAttemptAt!.Value);
            Assert.True(sends.Count < 100, "the schedule must end");
        }
        Assert.Equal(created + TimeSpan.FromDays(3), sends[^1]); // the last try is at exactly 72 h
        var gaps = sends.Zip(sends.Skip(1), (a, b) => b - a).ToList();
        Assert.All(gaps, g => Assert.InRange(g, TimeSpan.FromSeconds(1), TimeSpan.FromHours(6)));
        Assert.InRange(sends.Count, 15, 80);
        Assert.True(sends.Count(s => s - created <= TimeSpan.FromHours(1)) >= 6, "dense early retries (BTCPay: 3 in the first 20 min)");
        Assert.Equal(sends.Count, Bed.Receiver.Count);

        Bed.Clock.Advance(TimeSpan.FromDays(10));
        Assert.Empty(await Bed.Dispatcher.RunDueAsync(default));
        var dead = await Bed.Deliveries.ListAsync(Testbed.Merchant, null, DeliveryStatus.Dead, null, 10, null, default);
        var d = Assert.Single(dead.Items);
        Assert.Equal(id, d.Id);
        Assert.Equal(sends.Count, d.Attempts);
        Assert.Equal("dead", d.History[^1].Outcome);
        Assert.Empty((await Bed.Deliveries.ListAsync(Testbed.Merchant, null, DeliveryStatus.Pending, null, 10, null, default)).Items);
    }

    [Fact]
    public async Task Redelivery_is_a_new_delivery_of_the_same_event_marked_as_such()
    {
        var (_, secret) = await Bed.AddEndpointAsync();
        var eventId = await Bed.EmitAsync();
        await Bed.Dispatcher.RunDueAsync(default);
        var original = await OnlyDeliveryIdAsync(eventId);

        var again = await Bed.Deliveries.RedeliverAsync(Testbed.Merchant, original, "key-1", default);
        Assert.NotNull(again);
        Assert.NotEqual(original, again.Id);
        Assert.True(again.IsRedelivery);
        Assert.Equal(original, again.RedeliveryOf);
        Assert.Equal(again.Id, (await Bed.Deliveries.RedeliverAsync(Testbed.Merchant, original, "key-1", default))!.Id); // idempotent
        Assert.Null(await Bed.Deliveries.RedeliverAsync("mch_11111111111111111111", original, null, default)); // not theirs

        Assert.Equal("succeeded", Assert.Single(await Bed.Dispatcher.RunDueAsync(default)).Outcome);
        var got = Bed.Receiver.Received[1];
        Assert.Equal("true", got.IsRedelivery);
        Assert.Equal(eventId, got.EventId);
        Assert.Equal(again.Id, got.DeliveryId);
        Assert.True(JsonDocument.Parse(got.Body).RootElement.GetProperty("isRedelivery").GetBoolean());
        Assert.True(MollyWebhook.Verify(got.Signature, got.Body, secret, Bed.Clock.GetUtcNow(), Tolerance));
    }

    [Fact]
    public async Task During_a_rotation_overlap_both_secrets_sign_and_afterwards_only_the_new_one()
    {
        var (endpoint, oldSecret) = await Bed.AddEndpointAsync();
        var rotated = await Bed.Endpoints.RotateSecretAsync(Testbed.Merchant, endpoint.Id, TimeSpan.FromHours(1), default);
        var newSecret = rotated!.Value.Secret;
        Assert.NotEqual(oldSecret, newSecret);
        Assert.Equal(Bed.Clock.GetUtcNow().AddHours(1).ToUnixTimeSeconds(), rotated.Value.Endpoint.PreviousSecretExpiresAt!.Value.ToUnixTimeSeconds());

        await Bed.EmitAsync();
        await Bed.Dispatcher.RunDueAsync(default);
        var during = Bed.Receiver.Received[0];
        Assert.Equal(2, during.Signature!.Split(',').Count(p => p.StartsWith("v1=", StringComparison.Ordinal)));
        Assert.True(MollyWebhook.Verify(during.Signature, during.Body, oldSecret, Bed.Clock.GetUtcNow(), Tolerance));
        Assert.True(MollyWebhook.Verify(during.Signature, during.Body, newSecret, Bed.Clock.GetUtcNow(), Tolerance));

        Bed.Clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        await Bed.EmitAsync();
        await Bed.Dispatcher.RunDueAsync(default);
        var after = Bed.Receiver.Received[1];
        Assert.Single(after.Signature!.Split(','), p => p.StartsWith("v1=", StringComparison.Ordinal));
        Assert.False(MollyWebhook.Verify(after.Signature, after.Body, oldSecret, Bed.Clock.GetUtcNow(), Tolerance));
        Assert.True(MollyWebhook.Verify(after.Signature, after.Body, newSecret, Bed.Clock.GetUtcNow(), Tolerance));
    }

    [Fact]
    public async Task Two_dispatchers_never_send_the_same_delivery_at_the_same_time()
    {
        await Bed.AddEndpointAsync();
        Bed.Receiver.Behaviour = _ => new Reply(200, Delay: TimeSpan.FromMilliseconds(100));
        for (var i = 0; i < 20; i++) await Bed.EmitAsync();
        var other = Bed.NewDispatcher();
        var both = await Task.WhenAll(Bed.Dispatcher.RunDueAsync(default), other.RunDueAsync(default));
        Assert.Equal(20, both.Sum(r => r.Count));
        Assert.Equal(20, Bed.Receiver.Count);
        Assert.Equal(20, Bed.Receiver.Received.Select(r => r.DeliveryId).Distinct().Count());
    }

    [Fact]
    public async Task A_send_whose_outcome_was_never_recorded_is_sent_again_when_its_lease_ends()
    {
        await Bed.AddEndpointAsync();
        var eventId = await Bed.EmitAsync();
        var id = await OnlyDeliveryIdAsync(eventId);
        // A dispatcher claims and sends, then dies before recording (its pass is cancelled while the receiver holds the request).
        Bed.Receiver.Behaviour = _ => new Reply(200, Delay: TimeSpan.FromSeconds(5));
        using (var dying = new CancellationTokenSource())
        {
            var pass = Bed.NewDispatcher().RunDueAsync(dying.Token);
            Assert.True(await Bed.Receiver.WaitForAsync(1, TimeSpan.FromSeconds(10)));
            await dying.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pass);
        }
        Bed.Receiver.Behaviour = _ => Reply.Ok;
        Assert.Equal(DeliveryStatus.Pending, (await Bed.DeliveryAsync(id)).Status);
        Assert.Empty(await Bed.Dispatcher.RunDueAsync(default)); // leased: nobody else sends it meanwhile
        Bed.Clock.Advance(Bed.Options.LeaseDuration);
        Assert.Equal("succeeded", Assert.Single(await Bed.Dispatcher.RunDueAsync(default)).Outcome);
        Assert.Equal(2, Bed.Receiver.Received.Count(r => r.DeliveryId == id)); // at least once: twice here, never zero
    }

    [Fact]
    public async Task A_redirect_is_a_failure_and_its_target_is_never_contacted()
    {
        await using var target = await WebhookReceiver.StartAsync();
        await Bed.AddEndpointAsync();
        Bed.Receiver.Behaviour = _ => new Reply(302, Location: target.Url("/metadata"));
        await Bed.EmitAsync();
        var result = Assert.Single(await Bed.Dispatcher.RunDueAsync(default));
        Assert.Equal("failed", result.Outcome);
        Assert.Equal(302, result.StatusCode);
        Assert.StartsWith("redirect_not_followed", result.Error);
        Assert.Equal(0, target.Count);
    }

    [Fact]
    public async Task A_deleted_endpoint_ends_its_pending_deliveries_as_failed()
    {
        var (endpoint, _) = await Bed.AddEndpointAsync();
        var eventId = await Bed.EmitAsync();
        Assert.True(await Bed.Endpoints.DeleteAsync(Testbed.Merchant, endpoint.Id, default));
        Assert.False(await Bed.Endpoints.DeleteAsync(Testbed.Merchant, endpoint.Id, default));
        var result = Assert.Single(await Bed.Dispatcher.RunDueAsync(default));
        Assert.Equal("failed", result.Outcome);
        Assert.StartsWith("endpoint_deleted", result.Error);
        Assert.Equal(0, Bed.Receiver.Count);
        Assert.Equal(DeliveryStatus.Failed, (await Bed.DeliveryAsync(await OnlyDeliveryIdAsync(eventId))).Status);
    }

    [Fact]
    public async Task Deliveries_list_newest_first_with_filters_and_a_cursor()
    {
        var (a, _) = await Bed.AddEndpointAsync(Bed.Receiver.Url("/a"), ["payment.created"]);
        var (b, _) = await Bed.AddEndpointAsync(Bed.Receiver.Url("/b"), ["*"]);
        for (var i = 0; i < 5; i++)
        {
            await Bed.EmitAsync("PaymentCreatedV1");
            Bed.Clock.Advance(TimeSpan.FromSeconds(1));
            await Bed.EmitAsync("PaymentPaidV1");
            Bed.Clock.Advance(TimeSpan.FromSeconds(1));
        }
        var all = new List<WebhookDelivery>();
        string? cursor = null;
        do
        {
            var page = await Bed.Deliveries.ListAsync(Testbed.Merchant, null, null, null, 4, cursor, default);
            Assert.InRange(page.Items.Count, 0, 4);
            all.AddRange(page.Items);
            cursor = page.NextCursor;
        } while (cursor is not null);
        Assert.Equal(15, all.Count);
        Assert.Equal(all.Select(d => d.CreatedAt).OrderDescending(), all.Select(d => d.CreatedAt));
        Assert.Equal(15, all.Select(d => d.Id).Distinct().Count());

        var onlyB = await Bed.Deliveries.ListAsync(Testbed.Merchant, b.Id, null, null, 100, null, default);
        Assert.Equal(10, onlyB.Items.Count);
        Assert.All(onlyB.Items, d => Assert.Equal(b.Id, d.EndpointId));
        var paid = await Bed.Deliveries.ListAsync(Testbed.Merchant, null, null, "payment.paid", 100, null, default);
        Assert.Equal(5, paid.Items.Count);
        Assert.All(paid.Items, d => Assert.Equal(b.Id, d.EndpointId));

        Bed.Receiver.Behaviour = r => r.Path == "/a" ? new Reply(410) : Reply.Ok;
        await Bed.Dispatcher.RunDueAsync(default);
        var failed = await Bed.Deliveries.ListAsync(Testbed.Merchant, null, DeliveryStatus.Failed, null, 100, null, default);
        Assert.Equal(5, failed.Items.Count);
        Assert.All(failed.Items, d => Assert.Equal(a.Id, d.EndpointId));
        Assert.Equal(10, (await Bed.Deliveries.ListAsync(Testbed.Merchant, null, DeliveryStatus.Succeeded, null, 100, null, default)).Items.Count);
    }
}

public sealed class SqliteDispatcherTests() : DispatcherTests("Sqlite");

public sealed class DynamoDbDispatcherTests() : DispatcherTests("DynamoDb");
