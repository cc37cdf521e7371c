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
/// Each transfer is one store transaction of 4 items (transfer, outbox, debit shard, credit shard).
/// Usage: dotnet run -c Release --project tests/Benchmarks -- ledger [seconds-per-case]
/// </summary>
public sealed class LedgerBenchmark : IBenchmarkSuite
{
    public string Name => "ledger";

    public string Description => "ledger transfers/s on SQLite (1, 8, 64 writers; spread and hot account) vs single-put baseline";

    public async Task RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 3.0;
        var folder = Directory.CreateTempSubdirectory("molly-ledger-bench-").FullName;
        try
        {
            Console.WriteLine($"ledger benchmark: {seconds:0.#} s per case, {Environment.ProcessorCount} cores");
            Console.WriteLine($"{"case",-34} {"writers",7} {"ops/s",10} {"vs put",8}");
            foreach (var writers in new[] { 1, 8, 64 })
            {
                var put = await MeasureAsync(folder, $"put{writers}", writers, seconds, PutLoop);
                Row("store single put (baseline)", writers, put, put);
                var spread = await MeasureAsync(folder, $"spread{writers}", writers, seconds, (l, s, w, n) => TransferLoop(l, w, n, hot: false));
                Row("ledger transfer, spread accounts", writers, spread, put);
                var hot = await MeasureAsync(folder, $"hot{writers}", writers, seconds, (l, s, w, n) => TransferLoop(l, w, n, hot: true));
                Row("ledger transfer, one hot credit", writers, hot, put);
            }
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }

    private static void Row(string name, int writers, double rate, double baseline) =>
        Console.WriteLine($"{name,-34} {writers,7} {rate,10:N0} {rate / baseline,8:0.00}");

    private const string Asset = "USDT";
    private const int Merchants = 64;

    private static AccountId Merchant(int i) => AccountId.Create($"m{i}", Asset, AccountKind.MerchantAvailable);

    private static AccountId Source(int i) => AccountId.Create($"src{i}", Asset, AccountKind.EquitySuspense);

    private static readonly AccountId Hot = AccountId.Platform(Asset, AccountKind.FeeRevenue);

    private delegate Task Loop(LedgerEngine ledger, IItemStore store, int writer, Func<bool> running);

    private static async Task<double> MeasureAsync(string folder, string name, int writers, double seconds, Loop loop)
    {
        await using var store = SqliteItemStore.Open(new SqliteItemStoreOptions { Path = Path.Combine(folder, name + ".db") });
        var ledger = new LedgerEngine(store, TimeProvider.System);
        for (var i = 0; i < Merchants; i++)
        {
            await ledger.CreateAccountAsync(Merchant(i));
            await ledger.CreateAccountAsync(Source(i));
        }
        await ledger.CreateAccountAsync(Hot, shards: 8);

        var done = 0L;
        var stop = false;
        var sw = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            var count = 0L;
            await loop(ledger, store, w, () =>
            {
                count++;
                return !Volatile.Read(ref stop);
            });
            Interlocked.Add(ref done, count - 1);
        })).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        Volatile.Write(ref stop, true);
        await Task.WhenAll(tasks);
        sw.Stop();
        return done / sw.Elapsed.TotalSeconds;
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

    private static async Task TransferLoop(LedgerEngine ledger, int writer, Func<bool> running, bool hot)
    {
        var n = 0;
        while (running())
        {
            var k = (writer + n) % Merchants;
            var t = new CreateTransfer(TransferId.Parse($"w{writer}-{n++}"), Source(k), hot ? Hot : Merchant(k), 1, Asset, 1);
            var r = await ledger.SubmitAsync(t);
            if (r != TransferResult.Ok) throw new InvalidOperationException($"Transfer {t.Id} failed: {r}");
        }
    }
}
