using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;
using Molly.Api.Hosting;
using Molly.Api.Security;
using Molly.Storage;
using Molly.Storage.Sqlite;
using Molly.Testing;
using Molly.Webhooks;

namespace Molly.Benchmarks;

/// <summary>
/// Webhook deliveries per second to a local receiver (Kestrel on 127.0.0.1) on the SQLite store: the fan-out of N outbox
/// events into deliveries, then the dispatcher sending them (claim, sign, POST, record), against a baseline of raw
/// HttpClient POSTs of the same body to the same receiver with the same concurrency, measured in the same run.
/// Goal: at least 1,000 deliveries/s. Usage: webhooks [deliveries] [concurrency] (default 5000, 64).
/// </summary>
public sealed class WebhooksBenchmark : IBenchmarkSuite
{
    public string Name => "webhooks";

    public string Description => "webhook fan-out and signed deliveries/s to a local receiver vs raw HttpClient POSTs";

    public async Task RunAsync(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5000;
        var concurrency = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 64;
        var folder = Directory.CreateTempSubdirectory("molly-bench-webhooks-").FullName;
        try
        {
            await using var receiver = await WebhookReceiver.StartAsync();
            var body = new byte[420];
            Array.Fill(body, (byte)'x');

            // Baseline: raw POSTs, same receiver, same concurrency.
            using (var raw = new HttpClient(new SocketsHttpHandler()))
            {
                var url = receiver.Url("/raw");
                var next = 0;
                var sw = Stopwatch.StartNew();
                await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
                {
                    while (Interlocked.Increment(ref next) <= count)
                    {
                        using var response = await raw.PostAsync(url, new ByteArrayContent(body));
                        response.EnsureSuccessStatusCode();
                    }
                }));
                Report("baseline  raw HttpClient POSTs", count, sw.Elapsed, null);
            }
            var baseline = _lastRate;

            var options = new WebhookOptions { AllowHttpLoopback = true, MaxConcurrency = concurrency, BatchSize = 1000 };
            var clock = TimeProvider.System;
            await using var store = SqliteItemStore.Open(new SqliteItemStoreOptions { Path = Path.Combine(folder, "molly.db") }, clock);
            var protector = new LocalKeyFileSecretProtector(new DataDirectory(Options.Create(new MollyOptions { DataDir = folder })));
            var guard = new SsrfGuard(allowHttpLoopback: true);
            var endpoints = new WebhookEndpoints(store, protector, guard, options, clock);
            var deliveries = new WebhookDeliveries(store, clock);
            var dispatcher = new WebhookDispatcher(store, endpoints, WebhookDispatcher.CreateHttpClient(guard, options), guard, options, clock);
            const string merchant = "mch_0v4k9s2m8q1r7t3x5z6a";
            var created = await endpoints.CreateAsync(merchant, receiver.Url("/hook"), ["*"], null, null, default);
            if (created is not EndpointOutcome.Created) throw new InvalidOperationException("endpoint not created");

            // Outbox items as the payment code writes them (not timed), then the fan-out over the change feed (timed).
            var payload = $$"""{"eventId":"e","paymentId":"pay_1","merchantId":"{{merchant}}","status":"paid","statusVersion":3,"amount":"12.50","asset":"USDT","chain":"tron","address":"TXYZ"}""";
            await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
                await store.PutAsync(new Item($"outbox#evt_bench{i:D8}", "event")
                {
                    ["type"] = "PaymentPaidV1", ["payload"] = payload, ["occurredAt"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
                }, Condition.ItemAbsent, ct));
            var fanOut = new ChangeFeedConsumer(store, "webhooks-fanout", (changes, ct) =>
                Parallel.ForEachAsync(changes.Where(WebhookDeliveries.IsOutboxInsert), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct },
                    async (c, token) => await deliveries.FanOutAsync(c.NewImage!, token)));
            var fanSw = Stopwatch.StartNew();
            await fanOut.RunOnceAsync();
            Report("fan-out   outbox events -> deliveries", count, fanSw.Elapsed, null);

            var sent = 0;
            var dispatchSw = Stopwatch.StartNew();
            while (sent < count)
            {
                var results = await dispatcher.RunDueAsync(default);
                if (results.Count == 0) throw new InvalidOperationException($"nothing due after {sent} of {count}");
                sent += results.Count(r => r.Outcome == DeliveryStatus.Succeeded);
                if (results.Any(r => r.Outcome != DeliveryStatus.Succeeded)) throw new InvalidOperationException("a delivery did not succeed: " + results.First(r => r.Outcome != DeliveryStatus.Succeeded));
            }
            Report($"dispatch  signed deliveries ({concurrency} at once)", count, dispatchSw.Elapsed, baseline);
            var received = receiver.Received.Count(r => r.Path == "/hook");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"checked   receiver got {received} signed POSTs for {count} deliveries; goal >= 1,000 deliveries/s: {(_lastRate >= 1000 ? "met" : "NOT met")}"));
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    private double _lastRate;

    private void Report(string what, int count, TimeSpan elapsed, double? baseline)
    {
        _lastRate = count / elapsed.TotalSeconds;
        var ratio = baseline is { } b ? string.Create(CultureInfo.InvariantCulture, $"   {_lastRate / b,5:F2}x baseline") : "";
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{what,-48} {count,7} in {elapsed.TotalSeconds,6:F2} s = {_lastRate,8:F0} /s{ratio}"));
    }
}
