using System.Text.Json;
using System.Text.Json.Serialization;
using Molly.Storage;
using Molly.Storage.DynamoDb.Streams;

namespace Molly.Webhooks;

public sealed record BatchItemFailure([property: JsonPropertyName("itemIdentifier")] string ItemIdentifier);

/// <summary>The partial batch response of a stream invocation: the records to retry (then dead-letter).</summary>
public sealed record StreamBatchResponse([property: JsonPropertyName("batchItemFailures")] IReadOnlyList<BatchItemFailure> BatchItemFailures);

/// <summary>The answer to a scheduled invocation.</summary>
public sealed record DueRunResponse(
    [property: JsonPropertyName("attempted")] int Attempted,
    [property: JsonPropertyName("succeeded")] int Succeeded,
    [property: JsonPropertyName("retrying")] int Retrying,
    [property: JsonPropertyName("failed")] int Failed);

/// <summary>
/// The webhook dispatcher function's logic (functions/WebhookDispatcher is only its Lambda entry). Two triggers:
/// a DynamoDB stream batch (fan-out of new outbox items, then one pass of due deliveries so first tries go out at once),
/// answered with a partial batch response naming only the records that failed (a poison record does not block the
/// others; the event source mapping retries it, bisects, then sends it to the dead-letter queue); and a scheduled event
/// (EventBridge), which sends due deliveries until none is left or <paramref name="budget"/> runs out.
/// </summary>
public sealed class WebhookFunction(WebhookDeliveries deliveries, WebhookDispatcher dispatcher, TimeProvider clock, TextWriter log, TimeSpan budget)
{
    public async Task<Stream> HandleAsync(Stream input, CancellationToken ct)
    {
        using var doc = await JsonDocument.ParseAsync(input, cancellationToken: ct);
        var root = doc.RootElement;
        byte[] answer;
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("Records", out var records) && records.ValueKind == JsonValueKind.Array)
            answer = JsonSerializer.SerializeToUtf8Bytes(await HandleStreamAsync(records, ct), WebhookFunctionJsonContext.Default.StreamBatchResponse);
        else if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("detail-type", out var type) && type.GetString() == "Scheduled Event")
            answer = JsonSerializer.SerializeToUtf8Bytes(await RunDueAsync(ct), WebhookFunctionJsonContext.Default.DueRunResponse);
        else
            throw new InvalidDataException("Unrecognised event: neither a DynamoDB stream batch nor a scheduled event.");
        return new MemoryStream(answer);
    }

    private async Task<StreamBatchResponse> HandleStreamAsync(JsonElement records, CancellationToken ct)
    {
        var failures = new List<BatchItemFailure>();
        var endpoints = deliveries.NewEndpointLookup();
        foreach (var record in records.EnumerateArray())
        {
            var sequence = record.TryGetProperty("dynamodb", out var body) && body.TryGetProperty("SequenceNumber", out var s) ? s.GetString() : null;
            try
            {
                var change = StreamRecordMapper.ToChange(record.Deserialize(StreamsJsonContext.Default.StreamRecordEnvelope)
                                                         ?? throw new InvalidDataException("Empty stream record."));
                if (WebhookDeliveries.IsOutboxInsert(change)) await deliveries.FanOutAsync(change.NewImage!, endpoints, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // One JSON line per poison record (CloudWatch JSON logs); never the payload, which may be large.
                await log.WriteLineAsync(JsonSerializer.Serialize(new Dictionary<string, string>
                {
                    ["level"] = "ERROR", ["message"] = "Webhook fan-out failed for a stream record",
                    ["sequenceNumber"] = sequence ?? "?", ["error"] = e.GetType().Name + ": " + e.Message,
                }, WebhookFunctionJsonContext.Default.DictionaryStringString));
                if (sequence is not null) failures.Add(new BatchItemFailure(sequence));
                else throw; // without an identifier the whole batch must be retried
            }
        }
        await dispatcher.RunDueAsync(ct);
        return new StreamBatchResponse(failures);
    }

    private async Task<DueRunResponse> RunDueAsync(CancellationToken ct)
    {
        var until = clock.GetUtcNow() + budget;
        int attempted = 0, succeeded = 0, retrying = 0, failed = 0;
        while (clock.GetUtcNow() < until)
        {
            var results = await dispatcher.RunDueAsync(ct);
            if (results.Count == 0) break;
            attempted += results.Count;
            succeeded += results.Count(r => r.Outcome == DeliveryStatus.Succeeded);
            retrying += results.Count(r => r.Outcome == "retry");
            failed += results.Count(r => r.Outcome is DeliveryStatus.Failed or DeliveryStatus.Dead);
        }
        return new DueRunResponse(attempted, succeeded, retrying, failed);
    }
}

[JsonSourceGenerationOptions(WriteIndented = false)]
[JsonSerializable(typeof(StreamBatchResponse))]
[JsonSerializable(typeof(DueRunResponse))]
[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class WebhookFunctionJsonContext : JsonSerializerContext;
