using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Molly.Api.Security;

namespace Molly.Benchmarks;

/// <summary>
/// Load on the local host over loopback: the built Molly.Api.dll runs as a child process on a fresh data dir (SQLite, the
/// embedded default); N connections hit GET /health (the no-op), signed GET /v1/me (the signed no-op: authentication and its
/// replay record), then signed POST /v1/payments (Idempotency-Key signed too), each for a
/// bounded time, each after 2 s (by default) of unmeasured warm-up on the same endpoint. Prints requests/s and p50/p99 for both and the
/// ratio, then checks every acknowledged payment (warm-up ones included) reads back.
/// Usage: payments [seconds-per-phase=10] [connections=32] [warm-up-seconds=2]. A longer warm-up lets tiered compilation finish
/// on the create path (at about 1,500 creates/s it is still re-jitting after 2 s), so the CPU figures are the steady state's.
/// </summary>
public sealed class PaymentsLoadBenchmark : IBenchmarkSuite
{
    public string Name => "payments";

    public string Description => "loopback load: signed POST /v1/payments vs GET /health on the local host";

    public async Task RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 10;
        var connections = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 32;
        var warmUp = TimeSpan.FromSeconds(args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2);
        var dataDir = Directory.CreateTempSubdirectory("molly-load-").FullName;
        var port = FreePort();
        var dll = Path.Combine(AppContext.BaseDirectory, "Molly.Api.dll");
        // The host runs from its own folder, as deployed, so it reads its appsettings.json (the content root is the working directory).
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var a in new[] { dll, "--urls", $"http://127.0.0.1:{port}", "--Molly:DataDir", dataDir,
                     "--Molly:Payments:StandardPermitsPerSecond", "1000000", "--Molly:Payments:StandardBurst", "1000000",
                     "--Logging:LogLevel:Default", "Warning" })
            psi.ArgumentList.Add(a);
        using var host = Process.Start(psi)!;
        host.OutputDataReceived += (_, _) => { };
        host.ErrorDataReceived += (_, _) => { };
        host.BeginOutputReadLine();
        host.BeginErrorReadLine();
        try
        {
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = connections })
            {
                BaseAddress = new Uri($"http://127.0.0.1:{port}"),
                Timeout = TimeSpan.FromSeconds(30),
            };
            await WaitHealthy(http);
            var cred = JsonDocument.Parse(File.ReadAllText(Path.Combine(dataDir, "admin-credential"))).RootElement;
            var admin = (cred.GetProperty("keyId").GetString()!, cred.GetProperty("secret").GetString()!);
            var merchant = await Send(http, admin, HttpMethod.Post, "/v1/admin/merchants", """{"name":"Load shop"}""");
            var merchantId = JsonDocument.Parse(merchant).RootElement.GetProperty("id").GetString();
            var key = JsonDocument.Parse(await Send(http, admin, HttpMethod.Post, $"/v1/admin/merchants/{merchantId}/api-keys", null)).RootElement;
            var shop = (key.GetProperty("keyId").GetString()!, key.GetProperty("secret").GetString()!);

            Console.WriteLine($"local host on 127.0.0.1:{port}, {connections} connections, {seconds} s per phase after {warmUp.TotalSeconds:F0} s of warm-up, SQLite in {dataDir}");
            await Phase(http, connections, warmUp, _ => new HttpRequestMessage(HttpMethod.Get, "/health")); // warm-up
            var noop = await Phase(http, connections, TimeSpan.FromSeconds(seconds), _ => new HttpRequestMessage(HttpMethod.Get, "/health"), host: host);
            Report("GET /health (no-op)", noop);

            // Each measured phase follows a short unmeasured one on the same endpoint, so both run jitted code (as /health does).
            HttpRequestMessage MeRequest(long n) => Signed(shop, HttpMethod.Get, $"/v1/me?n={n}", null);
            await Phase(http, connections, warmUp, n => MeRequest(-n));
            var me = await Phase(http, connections, TimeSpan.FromSeconds(seconds), MeRequest, host: host);
            Report("GET /v1/me (signed no-op)", me);

            HttpRequestMessage CreateRequest(long n)
            {
                var body = $$"""{"merchantOrderId":"load-{{n}}","amount":"12.5","asset":"USDT","chain":"tron"}""";
                return Signed(shop, HttpMethod.Post, "/v1/payments", body, $"load-{n}");
            }
            var acked = new ConcurrentBag<string>();
            async Task Acknowledged(HttpResponseMessage r) =>
                acked.Add(JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!);
            await Phase(http, connections, warmUp, n => CreateRequest(-n), Acknowledged);
            var create = await Phase(http, connections, TimeSpan.FromSeconds(seconds), CreateRequest, Acknowledged, host);
            Report("POST /v1/payments (signed)", create);
            Console.WriteLine($"ratio create / unauthenticated no-op: {create.Rps / noop.Rps:P1}; create / signed no-op: {create.Rps / me.Rps:P1}");
            // The server's CPU per request does not depend on how slow fsync is at the moment: on a machine where the server is
            // CPU-bound (fast fsync, nothing else running), the ratio of requests/s tends to the inverse ratio of these.
            Console.WriteLine($"server CPU per request: signed no-op {me.CpuUsPerRequest:F0} µs, create {create.CpuUsPerRequest:F0} µs; " +
                $"CPU-bound ratio create / signed no-op ≈ {me.CpuUsPerRequest / create.CpuUsPerRequest:P1}");

            var missing = 0;
            foreach (var id in acked)
                if ((await http.SendAsync(Signed(shop, HttpMethod.Get, $"/v1/payments/{id}", null))).StatusCode != HttpStatusCode.OK) missing++;
            Console.WriteLine($"durability: {acked.Count} payments acknowledged, {acked.Count - missing} read back, {missing} missing");
        }
        finally
        {
            host.Kill(entireProcessTree: true);
            await host.WaitForExitAsync();
            Directory.Delete(dataDir, recursive: true);
        }
    }

    private sealed record PhaseResult(long Ok, long Failed, double Rps, double P50Ms, double P99Ms, double CpuUsPerRequest);

    private static async Task<PhaseResult> Phase(HttpClient http, int connections, TimeSpan duration,
        Func<long, HttpRequestMessage> build, Func<HttpResponseMessage, Task>? onOk = null, Process? host = null)
    {
        host?.Refresh();
        var cpuBefore = host?.TotalProcessorTime ?? TimeSpan.Zero;
        var latencies = new ConcurrentBag<double>();
        long counter = 0, ok = 0, failed = 0;
        var stopAt = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, connections).Select(async _ =>
        {
            while (Stopwatch.GetTimestamp() < stopAt)
            {
                var n = Interlocked.Increment(ref counter);
                var t0 = Stopwatch.GetTimestamp();
                using var response = await http.SendAsync(build(n));
                latencies.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref ok);
                    if (onOk is not null) await onOk(response);
                }
                else Interlocked.Increment(ref failed);
            }
        }));
        var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var sorted = latencies.Order().ToArray();
        host?.Refresh();
        var cpu = (host?.TotalProcessorTime ?? TimeSpan.Zero) - cpuBefore;
        return new PhaseResult(ok, failed, ok / elapsed, Percentile(sorted, 0.50), Percentile(sorted, 0.99),
            ok + failed == 0 ? 0 : cpu.TotalMicroseconds / (ok + failed));
    }

    private static void Report(string name, PhaseResult r) => Console.WriteLine(
        $"{name,-28} {r.Rps,10:F0} req/s  p50 {r.P50Ms,7:F2} ms  p99 {r.P99Ms,7:F2} ms  server CPU {r.CpuUsPerRequest,5:F0} µs/req  ({r.Ok} ok, {r.Failed} failed)");

    private static double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];

    // Each request carries its own timestamp and body, so no signature repeats (a repeated one is a replay).
    internal static HttpRequestMessage Signed((string KeyId, string Secret) key, HttpMethod method, string path, string? json,
        string? idempotencyKey = null)
    {
        var body = json is null ? [] : Encoding.UTF8.GetBytes(json);
        var ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        request.Headers.Add(RequestSigning.KeyIdHeader, key.KeyId);
        request.Headers.Add(RequestSigning.TimestampHeader, ts.ToString(CultureInfo.InvariantCulture));
        if (idempotencyKey is not null)
        {
            request.Headers.Add(RequestSigning.IdempotencyKeyHeader, idempotencyKey);
            request.Headers.Add(RequestSigning.SignedHeadersHeader, RequestSigning.SignedIdempotencyKey);
        }
        request.Headers.Add(RequestSigning.SignatureHeader, RequestSigning.SignHex(key.Secret, ts, method.Method, path, body, idempotencyKey));
        return request;
    }

    internal static async Task<string> Send(HttpClient http, (string, string) key, HttpMethod method, string path, string? json)
    {
        var response = await http.SendAsync(Signed(key, method, path, json));
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{method} {path}: {(int)response.StatusCode} {text}");
        return text;
    }

    internal static async Task WaitHealthy(HttpClient http)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < until)
        {
            try
            {
                if ((await http.GetAsync("/health")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(200);
        }
        throw new TimeoutException("The local host did not answer /health within 60 s.");
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
