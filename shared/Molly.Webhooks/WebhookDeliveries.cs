using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Molly.Storage;

namespace Molly.Webhooks;

public static class DeliveryStatus
{
    public const string Pending = "pending";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Dead = "dead";

    public static readonly IReadOnlySet<string> All = new HashSet<string> { Pending, Succeeded, Failed, Dead };
}

/// <summary>One try of a delivery. <see cref="Outcome"/>: succeeded, retry, failed (not retried), dead (last retry failed).</summary>
public sealed record DeliveryAttempt(int Number, DateTimeOffset At, long DurationMs, int? StatusCode, string Outcome, string? Error);

/// <summary>A delivery as the API shows it.</summary>
public sealed record WebhookDelivery(
    string Id, string EndpointId, string EventId, string EventType, long? StatusVersion, string Status, bool IsRedelivery,
    string? RedeliveryOf, int Attempts, DateTimeOffset CreatedAt, DateTimeOffset? NextAttemptAt, DateTimeOffset? CompletedAt,
    int? LastStatusCode, string? LastError, IReadOnlyList<DeliveryAttempt> History);

/// <summary>A page of deliveries; fewer than the limit does not mean the end: continue while <see cref="NextCursor"/> is set.</summary>
public sealed record DeliveryPage(IReadOnlyList<WebhookDelivery> Items, string? NextCursor);

/// <summary>
/// Deliveries: the fan-out from the outbox (one delivery per endpoint and event, its id derived from both, so replaying the
/// outbox creates nothing twice), reads and listing, and redelivery (a new delivery of the same event, marked as such).
/// </summary>
public sealed class WebhookDeliveries(IItemStore store, TimeProvider clock)
{
    public const string OutboxPrefix = "outbox#";
    private const int HistoryKept = 30;

    /// <summary>True for a change that the fan-out looks at (a new outbox item).</summary>
    public static bool IsOutboxInsert(Change change) =>
        change.Kind == ChangeKind.Insert && change.NewImage is not null && change.Key.PK.StartsWith(OutboxPrefix, StringComparison.Ordinal);

    /// <summary>
    /// Creates the deliveries of one outbox item; returns how many were new. Idempotent. Throws <see cref="InvalidDataException"/>
    /// for an item that can never be delivered (no type, a payload that is not a JSON object, no merchantId): a poison record.
    /// </summary>
    public Task<int> FanOutAsync(Item outbox, CancellationToken ct) => FanOutAsync(outbox, NewEndpointLookup(), ct);

    /// <summary>A lookup of merchants' endpoints for one batch of changes.</summary>
    public EndpointLookup NewEndpointLookup() => new(store);

    /// <summary>The same, reading each merchant's endpoints once per <paramref name="endpoints"/> lookup (one per batch of
    /// changes): a busy merchant's events then cost one index query a batch, not one each.</summary>
    public async Task<int> FanOutAsync(Item outbox, EndpointLookup endpoints, CancellationToken ct)
    {
        var type = outbox.GetString("type") ?? throw new InvalidDataException($"Outbox item {outbox.Key} has no type.");
        var name = WebhookEvents.NameOf(type);
        if (name is null) return 0; // not a merchant-facing event
        var eventId = outbox.PK[OutboxPrefix.Length..];
        var payload = outbox.GetString("payload") ?? throw new InvalidDataException($"Outbox item {outbox.Key} has no payload.");
        string merchantId;
        long? statusVersion = null;
        try
        {
            using var doc = JsonDocument.Parse(payload);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"Outbox item {outbox.Key}: the payload is not a JSON object.");
            merchantId = doc.RootElement.TryGetProperty("merchantId", out var m) && m.ValueKind == JsonValueKind.String && m.GetString() is { Length: > 0 } s
                ? s : throw new InvalidDataException($"Outbox item {outbox.Key} ({type}) has no merchantId.");
            if (doc.RootElement.TryGetProperty("statusVersion", out var v) && v.TryGetInt64(out var sv)) statusVersion = sv;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Outbox item {outbox.Key}: the payload is not JSON.", e);
        }
        var occurredAt = outbox.GetString("occurredAt") is { } at && DateTimeOffset.TryParse(at, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t : clock.GetUtcNow();

        var created = 0;
        foreach (var endpoint in await endpoints.GetAsync(merchantId, ct))
        {
            var endpointId = endpoint.PK["whe#".Length..];
            if (!WebhookEvents.Matches(endpoint.RequireString("events").Split(' '), name)) continue;
            var item = NewItem(WebhookIds.DeliveryFor(endpointId, eventId), merchantId, endpointId, eventId, name, occurredAt, payload,
                statusVersion, redeliveryOf: null);
            try
            {
                await store.PutAsync(item, Condition.ItemAbsent, ct);
                created++;
            }
            catch (ConditionFailedException)
            {
                // Already fanned out (the feed delivers at least once).
            }
        }
        return created;
    }

    public async Task<WebhookDelivery?> GetAsync(string merchantId, string deliveryId, CancellationToken ct)
    {
        var item = await store.GetAsync(WebhookKeys.Delivery(deliveryId), ct);
        return item is null || item.GetString("merchantId") != merchantId ? null : ToView(item);
    }

    /// <summary>
    /// Newest first. A status filter reads GSI3 (merchant + status); otherwise GSI2. Endpoint and event filters are applied to
    /// what the index returns, page by page, so a page may hold fewer items than <paramref name="limit"/> (never more).
    /// </summary>
    public async Task<DeliveryPage> ListAsync(string merchantId, string? endpointId, string? status, string? eventType, int limit,
        string? cursor, CancellationToken ct)
    {
        var query = status is null
            ? new Query(WebhookKeys.MerchantDeliveries(merchantId)) { Index = "GSI2" }
            : new Query(WebhookKeys.MerchantDeliveriesByStatus(merchantId, status)) { Index = "GSI3" };
        var items = new List<WebhookDelivery>();
        for (var pages = 0; pages < 10 && items.Count < limit; pages++)
        {
            var page = await store.QueryAsync(query with { Descending = true, Limit = limit - items.Count, Cursor = cursor }, ct);
            items.AddRange(page.Items
                .Where(i => (endpointId is null || i.GetString("endpointId") == endpointId) && (eventType is null || i.GetString("eventType") == eventType))
                .Select(ToView));
            cursor = page.Cursor;
            if (cursor is null) break;
        }
        return new DeliveryPage(items, cursor);
    }

    /// <summary>A new delivery of the same event to the same endpoint, due now, marked <c>isRedelivery</c>. With an idempotency
    /// key, the same key gives the same new delivery. Null when the original is not the merchant's.</summary>
    public async Task<WebhookDelivery?> RedeliverAsync(string merchantId, string deliveryId, string? idempotencyKey, CancellationToken ct)
    {
        var original = await store.GetAsync(WebhookKeys.Delivery(deliveryId), ct);
        if (original is null || original.GetString("merchantId") != merchantId) return null;
        var id = idempotencyKey is null
            ? WebhookIds.NewDeliveryId()
            : WebhookIds.Derived(WebhookIds.DeliveryPrefix, $"redeliver\n{merchantId}\n{deliveryId}\n{idempotencyKey}");
        var item = NewItem(id, merchantId, original.RequireString("endpointId"), original.RequireString("eventId"), original.RequireString("eventType"),
            DateTimeOffset.Parse(original.RequireString("occurredAt"), CultureInfo.InvariantCulture), original.RequireString("payload"),
            original.GetInt64("statusVersion"), redeliveryOf: deliveryId);
        try
        {
            await store.PutAsync(item, Condition.ItemAbsent, ct);
            return ToView(item);
        }
        catch (ConditionFailedException)
        {
            return await GetAsync(merchantId, id, ct);
        }
    }

    private Item NewItem(string id, string merchantId, string endpointId, string eventId, string eventType, DateTimeOffset occurredAt,
        string payload, long? statusVersion, string? redeliveryOf)
    {
        var now = clock.GetUtcNow();
        var item = new Item(WebhookKeys.Delivery(id))
        {
            ["merchantId"] = merchantId,
            ["endpointId"] = endpointId,
            ["eventId"] = eventId,
            ["eventType"] = eventType,
            ["occurredAt"] = occurredAt.ToString("O", CultureInfo.InvariantCulture),
            ["payload"] = payload,
            ["isRedelivery"] = redeliveryOf is not null,
            ["status"] = DeliveryStatus.Pending,
            ["attempts"] = 0,
            ["createdAt"] = now.ToString("O", CultureInfo.InvariantCulture),
            ["nextAttemptAt"] = now.ToString("O", CultureInfo.InvariantCulture),
            ["version"] = 1,
            [KeyNames.IndexPK("GSI1")] = WebhookKeys.DuePartition(WebhookKeys.ShardOf(id)),
            [KeyNames.IndexSK("GSI1")] = WebhookKeys.ByTime(now, id),
            [KeyNames.IndexPK("GSI2")] = WebhookKeys.MerchantDeliveries(merchantId),
            [KeyNames.IndexSK("GSI2")] = WebhookKeys.ByTime(now, id),
            [KeyNames.IndexPK("GSI3")] = WebhookKeys.MerchantDeliveriesByStatus(merchantId, DeliveryStatus.Pending),
            [KeyNames.IndexSK("GSI3")] = WebhookKeys.ByTime(now, id),
        };
        if (statusVersion is { } v) item["statusVersion"] = v;
        if (redeliveryOf is not null) item["redeliveryOf"] = redeliveryOf;
        return item;
    }

    internal static IReadOnlyList<DeliveryAttempt> History(Item item) =>
        item.GetString("history") is { } json ? JsonSerializer.Deserialize(json, WebhooksJsonContext.Default.ListDeliveryAttempt)! : [];

    internal static string AppendHistory(Item item, DeliveryAttempt attempt)
    {
        var history = History(item).ToList();
        history.Add(attempt);
        if (history.Count > HistoryKept) history.RemoveRange(0, history.Count - HistoryKept); // the count stays in "attempts"
        return JsonSerializer.Serialize(history, WebhooksJsonContext.Default.ListDeliveryAttempt);
    }

    public static WebhookDelivery ToView(Item item) => new(
        item.PK["whd#".Length..],
        item.RequireString("endpointId"),
        item.RequireString("eventId"),
        item.RequireString("eventType"),
        item.GetInt64("statusVersion"),
        item.RequireString("status"),
        item.GetBool("isRedelivery") ?? false,
        item.GetString("redeliveryOf"),
        (int)(item.GetInt64("attempts") ?? 0),
        DateTimeOffset.Parse(item.RequireString("createdAt"), CultureInfo.InvariantCulture),
        item.GetString("status") == DeliveryStatus.Pending && item.GetString("nextAttemptAt") is { } n ? DateTimeOffset.Parse(n, CultureInfo.InvariantCulture) : null,
        item.GetString("completedAt") is { } c ? DateTimeOffset.Parse(c, CultureInfo.InvariantCulture) : null,
        (int?)item.GetInt64("lastStatusCode"),
        item.GetString("lastError"),
        History(item));
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(List<DeliveryAttempt>))]
internal sealed partial class WebhooksJsonContext : JsonSerializerContext;

/// <summary>Each merchant's webhook endpoints, read once (all pages) and shared by the fan-out of one batch of changes.</summary>
public sealed class EndpointLookup(IItemStore store)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Task<List<Item>>> _byMerchant = new(StringComparer.Ordinal);

    public Task<List<Item>> GetAsync(string merchantId, CancellationToken ct) => _byMerchant.GetOrAdd(merchantId, m => LoadAsync(m, ct));

    private async Task<List<Item>> LoadAsync(string merchantId, CancellationToken ct)
    {
        var endpoints = new List<Item>();
        string? cursor = null;
        do
        {
            var page = await store.QueryAsync(new Query(WebhookKeys.MerchantEndpoints(merchantId)) { Index = "GSI1", Cursor = cursor }, ct);
            endpoints.AddRange(page.Items);
            cursor = page.Cursor;
        } while (cursor is not null);
        return endpoints;
    }
}
