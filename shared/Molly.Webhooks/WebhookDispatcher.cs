using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Molly.Storage;

namespace Molly.Webhooks;

/// <summary>What one send of a delivery came to: succeeded, retry (with the next try), failed, dead; or lease_lost when
/// another dispatcher took the delivery over before this one could record (it will be sent again: at least once).</summary>
public sealed record DispatchResult(string DeliveryId, string Outcome, int? StatusCode, string? Error, DateTimeOffset? NextAttemptAt);

/// <summary>
/// Sends due deliveries. A pass reads the due index (GSI1, one partition per shard, sort key = due time; never a scan),
/// claims each delivery by moving its due time to now + lease with a version condition (so two dispatchers never send the
/// same delivery at once, and a dispatcher that dies mid-send leaves a delivery that comes due again when the lease ends),
/// POSTs it signed, and records the outcome under the claimed version. A crash between send and record therefore sends
/// again: at least once, never lost. Receivers dedupe by the event id (and order by <c>statusVersion</c>).
/// </summary>
public sealed class WebhookDispatcher
{
    public const string UserAgent = "Molly-Webhooks/1";

    private readonly IItemStore _store;
    private readonly WebhookEndpoints _endpoints;
    private readonly HttpClient _http;
    private readonly SsrfGuard _guard;
    private readonly WebhookOptions _options;
    private readonly TimeProvider _clock;
    private readonly RetrySchedule _schedule;

    /// <param name="http">A client over <see cref="SsrfGuard.CreateHandler"/> (see <see cref="CreateHttpClient"/>).</param>
    public WebhookDispatcher(IItemStore store, WebhookEndpoints endpoints, HttpClient http, SsrfGuard guard, WebhookOptions options,
        TimeProvider clock, Random? random = null)
    {
        _store = store;
        _endpoints = endpoints;
        _http = http;
        _guard = guard;
        _options = options;
        _clock = clock;
        _schedule = new RetrySchedule(options, random ?? Random.Shared);
    }

    public RetrySchedule Schedule => _schedule;

    /// <summary>The client deliveries go through: the guard's handler, no client-wide timeout (each send has its own).</summary>
    public static HttpClient CreateHttpClient(SsrfGuard guard, WebhookOptions options) =>
        new(guard.CreateHandler(options.Timeout)) { Timeout = Timeout.InfiniteTimeSpan };

    /// <summary>One pass: every delivery due now (up to BatchSize per shard), sent with at most MaxConcurrency at once.</summary>
    public async Task<IReadOnlyList<DispatchResult>> RunDueAsync(CancellationToken ct)
    {
        var upTo = WebhookKeys.DueUpTo(_clock.GetUtcNow());
        var pages = await Task.WhenAll(Enumerable.Range(0, WebhookKeys.DueShards).Select(shard =>
            _store.QueryAsync(new Query(WebhookKeys.DuePartition(shard))
            {
                Index = "GSI1",
                SortKey = SortKeyCondition.LessThan(upTo),
                Limit = _options.BatchSize,
            }, ct))).ConfigureAwait(false);
        var due = pages.SelectMany(p => p.Items).ToList();
        if (due.Count == 0) return [];
        var results = new ConcurrentBag<DispatchResult>();
        // One read (and decryption) of each endpoint per pass, not per delivery; a pass lasts seconds, a rotation's
        // overlap hours, so a secret rotated during the pass still verifies.
        var secrets = new ConcurrentDictionary<string, Lazy<Task<SigningSecrets?>>>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrency, CancellationToken = ct },
            async (item, token) =>
            {
                if (await DispatchAsync(item, id => secrets.GetOrAdd(id, e => new(() => _endpoints.LoadSecretsAsync(e, token))).Value, token)
                        .ConfigureAwait(false) is { } result)
                    results.Add(result);
            }).ConfigureAwait(false);
        return results.ToList();
    }

    /// <summary>Claims, sends and records one delivery read from the due index; null when it was not (or no longer) ours to send.</summary>
    public Task<DispatchResult?> DispatchAsync(Item dueItem, CancellationToken ct) =>
        DispatchAsync(dueItem, endpointId => _endpoints.LoadSecretsAsync(endpointId, ct), ct);

    private async Task<DispatchResult?> DispatchAsync(Item dueItem, Func<string, Task<SigningSecrets?>> loadSecrets, CancellationToken ct)
    {
        var key = dueItem.Key;
        var id = key.PK["whd#".Length..];
        var version = dueItem.GetInt64("version") ?? 0;
        var leaseUntil = _clock.GetUtcNow() + _options.LeaseDuration;
        Item claimed;
        try
        {
            claimed = await _store.UpdateAsync(key, new Update()
                    .Set(KeyNames.IndexSK("GSI1"), WebhookKeys.ByTime(leaseUntil, id))
                    .Set("leaseUntil", leaseUntil.ToString("O", CultureInfo.InvariantCulture))
                    .Set("version", version + 1),
                Condition.And(Condition.AttributeEquals("status", DeliveryStatus.Pending), Condition.VersionEquals(version)), ct).ConfigureAwait(false);
        }
        catch (ConditionFailedException)
        {
            return null; // another dispatcher claimed it, or the index entry was stale
        }

        var secrets = await loadSecrets(claimed.RequireString("endpointId")).ConfigureAwait(false);
        var (outcome, status, error, retryAfter, duration) = await SendAsync(claimed, id, secrets, ct).ConfigureAwait(false);
        return await RecordAsync(claimed, id, version + 1, outcome, status, error, retryAfter, duration, ct).ConfigureAwait(false);
    }

    private enum SendOutcome { Succeeded, Retry, Failed }

    private async Task<(SendOutcome, int?, string?, TimeSpan?, long)> SendAsync(Item delivery, string id, SigningSecrets? secrets, CancellationToken ct)
    {
        if (secrets is null) return (SendOutcome.Failed, null, "endpoint_deleted: the endpoint no longer exists", null, 0);
        var url = secrets.Endpoint.Url;
        if (_guard.CheckUrl(url) is { } refused) return (SendOutcome.Failed, null, "blocked_url: " + refused, null, 0);

        var body = Body(delivery, id);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.UserAgent.ParseAdd(UserAgent);
        request.Headers.Add(WebhookSignature.Header, WebhookSignature.HeaderValue(secrets.Secrets, _clock.GetUtcNow().ToUnixTimeSeconds(), body));
        request.Headers.Add(WebhookSignature.EventIdHeader, delivery.RequireString("eventId"));
        request.Headers.Add(WebhookSignature.DeliveryIdHeader, id);
        request.Headers.Add(WebhookSignature.RedeliveryHeader, delivery.GetBool("isRedelivery") == true ? "true" : "false");

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.Timeout);
        var started = Stopwatch.GetTimestamp();
        long Elapsed() => (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            var code = (int)response.StatusCode;
            return code switch
            {
                >= 200 and < 300 => (SendOutcome.Succeeded, code, null, null, Elapsed()),
                >= 300 and < 400 => (SendOutcome.Failed, code, "redirect_not_followed: webhooks do not follow redirects", null, Elapsed()),
                408 or 429 or >= 500 => (SendOutcome.Retry, code, $"http_{code}", RetryAfter(response), Elapsed()),
                _ => (SendOutcome.Failed, code, $"http_{code}: a 4xx other than 408/429 is not retried", null, Elapsed()),
            };
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (SendOutcome.Retry, null, $"timeout: no response within {_options.Timeout.TotalSeconds:0.###} s", null, Elapsed());
        }
        catch (HttpRequestException e) when (Blocked(e) is { } blocked)
        {
            return (SendOutcome.Failed, null, $"blocked_address: {blocked.Address} is not a public address", null, Elapsed());
        }
        catch (HttpRequestException e)
        {
            return (SendOutcome.Retry, null, $"network: {e.HttpRequestError}", null, Elapsed());
        }
    }

    private async Task<DispatchResult> RecordAsync(Item claimed, string id, long claimedVersion, SendOutcome outcome, int? statusCode,
        string? error, TimeSpan? retryAfter, long durationMs, CancellationToken ct)
    {
        var now = _clock.GetUtcNow();
        var attempts = (int)(claimed.GetInt64("attempts") ?? 0) + 1;
        DateTimeOffset? next = null;
        string status;
        switch (outcome)
        {
            case SendOutcome.Succeeded: status = DeliveryStatus.Succeeded; break;
            case SendOutcome.Failed: status = DeliveryStatus.Failed; break;
            default:
                next = _schedule.Next(attempts, DateTimeOffset.Parse(claimed.RequireString("createdAt"), CultureInfo.InvariantCulture), now, retryAfter);
                status = next is null ? DeliveryStatus.Dead : DeliveryStatus.Pending;
                break;
        }
        var label = outcome == SendOutcome.Retry && next is not null ? "retry" : status;
        var merchantId = claimed.RequireString("merchantId");
        var update = new Update()
            .Set("status", status)
            .Set("attempts", attempts)
            .Set("history", WebhookDeliveries.AppendHistory(claimed, new DeliveryAttempt(attempts, now, durationMs, statusCode, label, error)))
            .Set("lastStatusCode", statusCode is { } c ? AttributeValue.Number(c) : AttributeValue.Null)
            .Set("lastError", error is null ? AttributeValue.Null : AttributeValue.String(error))
            .Set("leaseUntil", AttributeValue.Null)
            .Set("version", claimedVersion + 1)
            .Set(KeyNames.IndexPK("GSI3"), WebhookKeys.MerchantDeliveriesByStatus(merchantId, status));
        if (next is { } due)
        {
            update.Set("nextAttemptAt", due.ToString("O", CultureInfo.InvariantCulture)).Set(KeyNames.IndexSK("GSI1"), WebhookKeys.ByTime(due, id));
        }
        else
        {
            // Leaves the due index (sparse): done, failed or dead deliveries are never read by a pass again.
            update.Set("completedAt", now.ToString("O", CultureInfo.InvariantCulture))
                .Set(KeyNames.IndexPK("GSI1"), AttributeValue.Null).Set(KeyNames.IndexSK("GSI1"), AttributeValue.Null);
        }
        try
        {
            await _store.UpdateAsync(claimed.Key, update, Condition.VersionEquals(claimedVersion), ct).ConfigureAwait(false);
        }
        catch (ConditionFailedException)
        {
            return new DispatchResult(id, "lease_lost", statusCode, error, null);
        }
        return new DispatchResult(id, label, statusCode, error, next);
    }

    /// <summary>The JSON body: the same bytes on every try of a delivery (the signature timestamp is in the header).</summary>
    public static byte[] Body(Item delivery, string deliveryId)
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("id", delivery.RequireString("eventId"));
            json.WriteString("type", delivery.RequireString("eventType"));
            json.WriteString("createdAt", delivery.RequireString("occurredAt"));
            json.WriteString("deliveryId", deliveryId);
            json.WriteBoolean("isRedelivery", delivery.GetBool("isRedelivery") == true);
            if (delivery.GetInt64("statusVersion") is { } v) json.WriteNumber("statusVersion", v);
            json.WritePropertyName("data");
            json.WriteRawValue(delivery.RequireString("payload"), skipInputValidation: false);
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta) return delta;
        if (header?.Date is { } date) return date - _clock.GetUtcNow();
        return null;
    }

    private static WebhookAddressBlockedException? Blocked(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e is WebhookAddressBlockedException blocked) return blocked;
        return null;
    }
}
