using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Molly.Chains.Evm;
using Molly.Testing;

namespace Molly.Benchmarks;

/// <summary>
/// Deposit-detected-to-paid latency of the whole slice on one machine: the built local host (Molly.Api.dll, SQLite, its
/// watcher + deposit-confirm starter + workflow engine + settlement handlers) against a Hardhat node of its own. N payments
/// are created through the API and paid by our signed transactions, all in one block.
/// <list type="bullet">
/// <item>Phase 1: the pay block is mined; when every payment reads <c>confirming</c> (detected) the confirming block is
/// mined, and the time from that mining call's return to each payment reading <c>paid</c> is the latency once the
/// confirmations are reached (goal under 2 s).</item>
/// <item>Phase 2: new payments; the pay block and the confirming block are mined together, so detection and confirmation
/// coincide: mined-to-paid, detection included.</item>
/// </list>
/// Baselines in the same run: a raw JSON-RPC round-trip to the node, a signed GET /v1/payments/{id} round-trip (the
/// measurement's own resolution), the watcher poll interval and the workflow's Wait between confirmation checks.
/// </summary>
public sealed class SliceBenchmark : IBenchmarkSuite
{
    public string Name => "slice";

    public string Description => "deposit-detected-to-paid latency: local host + Hardhat, N payments, confirmations reached -> paid";

    public async Task RunAsync(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 20;
        var pollMs = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 250;
        const int blockTimeSeconds = 1; // CheckConfirmations' waitSeconds = missing blocks x this (min 1 s)
        using var budget = new CancellationTokenSource(TimeSpan.FromMinutes(5)); // bounded whatever happens
        var ct = budget.Token;

        await using var node = await HardhatNode.StartAsync(ct);
        var dataDir = Directory.CreateTempSubdirectory("molly-slice-").FullName;
        var port = PaymentsLoadBenchmark.FreePort();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Molly.Api.dll"), "--urls", $"http://127.0.0.1:{port}",
                     "--Molly:DataDir", dataDir, "--Molly:Payments:Networks:0", "local",
                     "--Molly:Evm:Chains:0:Chain", "ethereum", "--Molly:Evm:Chains:0:Network", "local",
                     "--Molly:Evm:Chains:0:Endpoints:0", node.RpcUrl, "--Molly:Evm:Chains:0:StartBlock", "0", // no race with the watcher's first start
                     "--Molly:Evm:Chains:0:PollIntervalMs", pollMs.ToString(CultureInfo.InvariantCulture),
                     "--Molly:Settlement:BlockTimeSeconds:ethereum", blockTimeSeconds.ToString(CultureInfo.InvariantCulture),
                     // The benchmark polls GET many times a second: the per-merchant rate limit would answer 429.
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
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            await PaymentsLoadBenchmark.WaitHealthy(http);
            var cred = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(dataDir, "admin-credential"), ct)).RootElement;
            var admin = (cred.GetProperty("keyId").GetString()!, cred.GetProperty("secret").GetString()!);
            var merchantId = JsonDocument.Parse(await PaymentsLoadBenchmark.Send(http, admin, HttpMethod.Post, "/v1/admin/merchants", """{"name":"Slice shop"}""")).RootElement.GetProperty("id").GetString();
            var key = JsonDocument.Parse(await PaymentsLoadBenchmark.Send(http, admin, HttpMethod.Post, $"/v1/admin/merchants/{merchantId}/api-keys", null)).RootElement;
            var shop = new Shop(http, (key.GetProperty("keyId").GetString()!, key.GetProperty("secret").GetString()!));
            // The watcher has started once the first payment's block is seen; a throw-away payment proves the slice is live.
            await RunPhaseAsync(node, shop, 1, confirmAfterDetection: true, ct);

            var rpc = new double[50];
            for (var i = 0; i < rpc.Length; i++)
            {
                var sw = Stopwatch.StartNew();
                await node.Rpc.GetBlockNumberAsync(ct);
                rpc[i] = sw.Elapsed.TotalMilliseconds;
            }
            var probe = (await shop.CreateAsync(ct)).Id;
            var get = new double[50];
            for (var i = 0; i < get.Length; i++)
            {
                var sw = Stopwatch.StartNew();
                await shop.StatusAsync(probe, ct);
                get[i] = sw.Elapsed.TotalMilliseconds;
            }

            var (detect, confirmedToPaid) = await RunPhaseAsync(node, shop, count, confirmAfterDetection: true, ct);
            var (_, minedToPaid) = await RunPhaseAsync(node, shop, count, confirmAfterDetection: false, ct);

            Console.WriteLine($"slice: {count} payments per phase (USDT, one block), local host (SQLite) + Hardhat, 2 confirmations (assets.json)");
            Console.WriteLine($"  watcher PollIntervalMs {pollMs}; workflow Wait between checks {blockTimeSeconds} s (Molly:Settlement:BlockTimeSeconds:ethereum)");
            Print("baseline: eth_blockNumber round-trip", rpc);
            Print("baseline: signed GET /v1/payments/{id}", get);
            Print("pay block mined -> confirming (detected)", detect);
            Print("confirming block mined -> paid", confirmedToPaid);
            Print("pay+confirming blocks mined -> paid", minedToPaid);
            var p50 = Percentile(confirmedToPaid, 0.50);
            Console.WriteLine($"  confirmations reached -> paid p50 {p50:F0} ms = {p50 / Percentile(rpc, 0.5):F0}x an RPC round-trip, " +
                              $"{p50 / (blockTimeSeconds * 1000.0):F2}x the workflow wait; goal < 2000 ms: {(Percentile(confirmedToPaid, 1) < 2000 ? "met (max)" : "NOT met (max)")}");
        }
        finally
        {
            host.Kill(entireProcessTree: true);
            await host.WaitForExitAsync(CancellationToken.None);
            Directory.Delete(dataDir, recursive: true);
        }
    }

    /// <summary>One phase: <paramref name="count"/> payments paid in one block; latencies in ms.</summary>
    private static async Task<(double[] Detect, double[] Paid)> RunPhaseAsync(HardhatNode node, Shop shop, int count, bool confirmAfterDetection, CancellationToken ct)
    {
        var payments = new List<(string Id, EvmAddress Address)>();
        for (var i = 0; i < count; i++) payments.Add(await shop.CreateAsync(ct));
        await node.SetAutomineAsync(false, ct);
        try
        {
            foreach (var (p, i) in payments.Select((p, i) => (p, i)))
                await node.SendTokenAsync(node.DevAccount(1 + i % 9) /* #1..#9 hold test USDT */, p.Address, 1_000_000, ct: ct);
        }
        finally
        {
            await node.SetAutomineAsync(true, ct);
        }
        double[] detect = [];
        if (confirmAfterDetection)
        {
            await node.MineAsync(1, ct);
            var mined = Stopwatch.StartNew();
            detect = await UntilAsync(shop, payments, "confirming", mined, ct);
            await node.MineAsync(1, ct);
        }
        else
        {
            await node.MineAsync(2, ct);
        }
        var confirmed = Stopwatch.StartNew();
        return (detect, await UntilAsync(shop, payments, "paid", confirmed, ct));
    }

    /// <summary>Polls every payment until each reads <paramref name="status"/>; the elapsed time at which each was first seen.</summary>
    private static async Task<double[]> UntilAsync(Shop shop, List<(string Id, EvmAddress Address)> payments, string status, Stopwatch since, CancellationToken ct)
    {
        var seen = new Dictionary<string, double>();
        while (seen.Count < payments.Count)
        {
            ct.ThrowIfCancellationRequested();
            await Task.WhenAll(payments.Where(p => !seen.ContainsKey(p.Id)).Select(async p =>
            {
                var s = await shop.StatusAsync(p.Id, ct);
                if (s == status) lock (seen) seen.TryAdd(p.Id, since.Elapsed.TotalMilliseconds);
                else if (s is not ("created" or "confirming" or "detected")) throw new InvalidOperationException($"payment {p.Id} is {s}, expected {status}");
            }));
        }
        return seen.Values.ToArray();
    }

    private static void Print(string what, double[] ms)
    {
        if (ms.Length == 0) return;
        Console.WriteLine($"  {what,-44} p50 {Percentile(ms, 0.50),7:F1} ms  p95 {Percentile(ms, 0.95),7:F1} ms  max {Percentile(ms, 1),7:F1} ms  (n={ms.Length})");
    }

    private static double Percentile(double[] values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
    }

    /// <summary>The merchant side: signed requests, each unique (the API refuses a replayed signature).</summary>
    private sealed class Shop(HttpClient http, (string KeyId, string Secret) key)
    {
        private int _n;

        public async Task<(string Id, EvmAddress Address)> CreateAsync(CancellationToken ct)
        {
            var n = Interlocked.Increment(ref _n);
            var body = $$"""{"merchantOrderId":"slice-{{n}}-{{Guid.NewGuid():N}}","amount":"1","asset":"USDT","chain":"ethereum"}""";
            using var response = await http.SendAsync(PaymentsLoadBenchmark.Signed(key, HttpMethod.Post, "/v1/payments", body, Guid.NewGuid().ToString("N")), ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"POST /v1/payments: {(int)response.StatusCode} {text}");
            var json = JsonDocument.Parse(text).RootElement;
            return (json.GetProperty("id").GetString()!, EvmAddress.Parse(json.GetProperty("address").GetString()!));
        }

        public async Task<string> StatusAsync(string id, CancellationToken ct)
        {
            var path = $"/v1/payments/{id}?read={Interlocked.Increment(ref _n)}";
            using var response = await http.SendAsync(PaymentsLoadBenchmark.Signed(key, HttpMethod.Get, path, null), ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"GET {path}: {(int)response.StatusCode} {text}");
            return JsonDocument.Parse(text).RootElement.GetProperty("status").GetString()!;
        }
    }
}
