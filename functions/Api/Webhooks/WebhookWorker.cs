using Microsoft.Extensions.Options;
using Molly.Storage;
using Molly.Webhooks;

namespace Molly.Api.Webhooks;

/// <summary>
/// Local mode: what the WebhookDispatcher function does on AWS, in-process. One loop follows the change feed as the named
/// consumer <see cref="WebhooksSetup.FanOutConsumer"/> and creates deliveries; the other sends due deliveries, woken at once
/// by new ones and otherwise every PollInterval (so retries go out on time).
/// </summary>
public sealed partial class WebhookWorker(
    IItemStore store, WebhookDeliveries deliveries, WebhookDispatcher dispatcher, IOptions<WebhookOptions> options, TimeProvider clock,
    ILogger<WebhookWorker> logger) : BackgroundService
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Task.Run(() => FanOutAsync(stoppingToken), stoppingToken), Task.Run(() => DispatchAsync(stoppingToken), stoppingToken));

    private async Task FanOutAsync(CancellationToken ct)
    {
        var consumer = new ChangeFeedConsumer(store, WebhooksSetup.FanOutConsumer, HandleAsync, new ChangeFeedConsumerOptions
        {
            PollInterval = TimeSpan.FromMilliseconds(200),
            KeyPrefixes = [WebhookDeliveries.OutboxPrefix], // only outbox items fan out: the store skips the rest undecoded
            OnError = (e, _) =>
            {
                LogFeedFailed(e);
                return Task.CompletedTask;
            },
        }, clock);
        await consumer.RunAsync(ct);
    }

    private async Task HandleAsync(IReadOnlyList<Change> changes, CancellationToken ct)
    {
        var created = 0;
        var endpoints = deliveries.NewEndpointLookup();
        await Parallel.ForEachAsync(changes.Where(WebhookDeliveries.IsOutboxInsert), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct },
            async (change, token) =>
            {
                try
                {
                    Interlocked.Add(ref created, await deliveries.FanOutAsync(change.NewImage!, endpoints, token));
                }
                catch (InvalidDataException e)
                {
                    // A poison outbox item can never be delivered: logged (visible), skipped, so it does not block the feed.
                    LogPoison(change.Key.PK, e.Message);
                }
            });
        if (created > 0) Wake();
    }

    private void Wake()
    {
        try { _wake.Release(); } catch (SemaphoreFullException) { }
    }

    private async Task DispatchAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var results = await dispatcher.RunDueAsync(ct);
                foreach (var r in results.Where(r => r.Outcome is DeliveryStatus.Dead or DeliveryStatus.Failed))
                    LogGaveUp(r.DeliveryId, r.Outcome, r.StatusCode, r.Error);
                if (results.Count > 0) continue;
                await _wake.WaitAsync(options.Value.PollInterval, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogDispatchFailed(e);
                try { await Task.Delay(options.Value.PollInterval, clock, ct); } catch (OperationCanceledException) { return; }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook fan-out pass failed; the batch is read again")]
    private partial void LogFeedFailed(Exception e);

    [LoggerMessage(Level = LogLevel.Error, Message = "Outbox item {OutboxKey} cannot be delivered as a webhook and is skipped: {Reason}")]
    private partial void LogPoison(string outboxKey, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook delivery {DeliveryId} ended {Outcome} (HTTP {StatusCode}): {Error}")]
    private partial void LogGaveUp(string deliveryId, string outcome, int? statusCode, string? error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook dispatch pass failed")]
    private partial void LogDispatchFailed(Exception e);
}
