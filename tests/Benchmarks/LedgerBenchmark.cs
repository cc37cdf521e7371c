using System.Diagnostics;
using System.Globalization;
using Molly.Ledger;
using Molly.Storage;
using Molly.Storage.Sqlite;
using LedgerEngine = Molly.Ledger.Ledger;

namespace Molly.Benchmarks;

/// <summary>
/// Ledger transfers per second on the embedded SQLite store, 1 / 8 / 64 concurrent writers, with spread accounts and with
/// one hot credit account (8 shards), beside the store's own single-put rate measured in the same run (the baseline).
/// A transfer is its item (its own outbox record) plus the debit and credit balance shards; concurrent transfers are
/// coalesced into one store transaction (op/req shows how many per write request), shards updated once per group.
/// Transfer ids are time-ordered (a process-wide sequence), as TigerBeetle recommends and as the gateway's own ids are
/// ("pay_{ms}_{random}:net"): new transfers land at the end of the id order. The "scattered ids" case gives each writer its
/// own id prefix (64 insertion points), the worst case for the page cache and the WAL.
/// Usage: dotnet run -c Release --project tests/Benchmarks -- ledger [seconds-per-case] [all|spread|hot|scattered] [writers...]
/// </summary>
public sealed class LedgerBenchmark : IBenchmarkSuite
{
    public string Name => "ledger";

    public string Description => "ledger transfers/s on SQLite (1, 8, 64 writers; spread and hot account) vs single-put baseline";

    public async Task RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 3.0;
        var only = args.Length > 1 ? args[1] : "all"; // "spread" or "hot" to profile one case (the baseline always runs)
        int[] writerCounts = args.Length > 2 ? [.. args[2..].Select(a => int.Parse(a, CultureInfo.InvariantCulture))] : [1, 8, 64];
        var folder = Directory.CreateTempSubdirectory("molly-ledger-bench-").FullName;
        try
        {
            Console.WriteLine($"ledger benchmark: {seconds:0.#} s per case, {Environment.ProcessorCount} cores");
            Console.WriteLine("cpu us/op and KB written/op are the whole process's, so they hold under a loaded machine; batch = ops per commit; op/req = ops per store write request; op/flush = ops per bulk index flush");
            Console.WriteLine($"{"case",-34} {"writers",7} {"ops/s",10} {"vs put",8} {"cpu us/op",10} {"KB/op",7} {"batch",7} {"op/req",7} {"op/flush",8}");
            // An unreported round first: tiered JIT of the store and ledger paths otherwise lands in the first cases measured.
            foreach (var loop in new Loop[] { PutLoop, (l, s, w, n) => TransferLoop(l, w, n, hot: false, scattered: false), (l, s, w, n) => TransferLoop(l, w, n, hot: true, scattered: false) })
                await MeasureAsync(folder, "warmup" + Guid.NewGuid().ToString("N"), 16, 1.5, loop);

            foreach (var writers in writerCounts)
            {
                var put = await MeasureAsync(folder, $"put{writers}", writers, seconds, PutLoop);
                Row("store single put (baseline)", writers, put, put.Rate);
                if (only is "all" or "spread")
                {
                    var spread = await MeasureAsync(folder, $"spread{writers}", writers, seconds, (l, s, w, n) => TransferLoop(l, w, n, hot: false, scattered: false));
                    Row("ledger transfer, spread accounts", writers, spread, put.Rate);
                }
                if (only is "all" or "hot")
                {
                    var hot = await MeasureAsync(folder, $"hot{writers}", writers, seconds, (l, s, w, n) => TransferLoop(l, w, n, hot: true, scattered: false));
                    Row("ledger transfer, one hot credit", writers, hot, put.Rate);
                }
                if (only is "all" or "scattered")
                {
                    var scattered = await MeasureAsync(folder, $"scattered{writers}", writers, seconds, (l, s, w, n) => TransferLoop(l, w, n, hot: false, scattered: true));
                    Row("spread accounts, scattered ids", writers, scattered, put.Rate);
                }
            }
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }

    private sealed record Measurement(double Rate, double CpuMicrosPerOp, double KilobytesPerOp, double OpsPerCommit, double OpsPerRequest, double OpsPerIndexFlush);

    private static void Row(string name, int writers, Measurement m, double baseline) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-34} {writers,7} {m.Rate,10:N0} {m.Rate / baseline,8:0.00} {m.CpuMicrosPerOp,10:0.0} {m.KilobytesPerOp,7:0.0} {m.OpsPerCommit,7:0.0} {m.OpsPerRequest,7:0.0} {m.OpsPerIndexFlush,8:N0}"));

    /// <summary>Bytes this process has passed to write() so far (Linux /proc/self/io), or 0 elsewhere.</summary>
    private static long BytesWritten()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/io"))
                if (line.StartsWith("wchar:", StringComparison.Ordinal)) return long.Parse(line[6..].Trim(), CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return 0;
    }

    private const string Asset = "USDT";
    private const int Merchants = 64;

    private static AccountId Merchant(int i) => AccountId.Create($"m{i}", Asset, AccountKind.MerchantAvailable);

    private static AccountId Source(int i) => AccountId.Create($"src{i}", Asset, AccountKind.EquitySuspense);

    private static readonly AccountId Hot = AccountId.Platform(Asset, AccountKind.FeeRevenue);

    private delegate Task Loop(LedgerEngine ledger, IItemStore store, int writer, Func<bool> running);

    private static async Task<Measurement> MeasureAsync(string folder, string name, int writers, double seconds, Loop loop)
    {
        await using var store = SqliteItemStore.Open(new SqliteItemStoreOptions { Path = Path.Combine(folder, name + ".db") });
        var ledger = new LedgerEngine(store, TimeProvider.System);
        for (var i = 0; i < Merchants; i++)
        {
            await ledger.CreateAccountAsync(Merchant(i));
            await ledger.CreateAccountAsync(Source(i));
        }
        await ledger.CreateAccountAsync(Hot, shards: 8);

        // Every writer runs through a warm-up (JIT tiering, page cache) before the counters are read, and until the end.
        var done = 0L;
        var stop = false;
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
            await loop(ledger, store, w, () =>
            {
                Interlocked.Increment(ref done);
                return !Volatile.Read(ref stop);
            }))).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(Math.Min(1.0, seconds / 3)));

        var (done0, commits0, requests0, written0, flushes0) = (Interlocked.Read(ref done), store.Commits, store.WriteRequests, BytesWritten(), store.IndexFlushes);
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        var ops = Math.Max(1, Interlocked.Read(ref done) - done0);
        var elapsed = sw.Elapsed;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
        var (commits, requests, written, flushes) = (store.Commits - commits0, store.WriteRequests - requests0, BytesWritten() - written0, store.IndexFlushes - flushes0);
        Volatile.Write(ref stop, true);
        await Task.WhenAll(tasks);
        return new Measurement(ops / elapsed.TotalSeconds, cpu.TotalMicroseconds / ops, written / 1024.0 / ops, ops / (double)Math.Max(1, commits), ops / (double)Math.Max(1, requests), ops / (double)Math.Max(1, flushes));
    }

    private static async Task PutLoop(LedgerEngine ledger, IItemStore store, int writer, Func<bool> running)
    {
        var n = 0;
        while (running())
        {
            var item = new Item($"bench#{writer}#{n++}", "x") { { "v", n } };
            await store.PutAsync(item);
        }
    }

    private static long _seq;

    private static async Task TransferLoop(LedgerEngine ledger, int writer, Func<bool> running, bool hot, bool scattered)
    {
        var n = 0;
        while (running())
        {
            var k = (writer + n) % Merchants;
            var t = new CreateTransfer(TransferId.Parse(scattered ? $"w{writer}-{n}" : $"t{Interlocked.Increment(ref _seq):D12}"), Source(k), hot ? Hot : Merchant(k), 1, Asset, 1);
            n++;
            var r = await ledger.SubmitAsync(t);
            if (r != TransferResult.Ok) throw new InvalidOperationException($"Transfer {t.Id} failed: {r}");
        }
    }
}
