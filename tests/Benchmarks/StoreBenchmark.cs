using System.Diagnostics;
using System.Globalization;
using Molly.Storage;
using Molly.Storage.Sqlite;

namespace Molly.Benchmarks;

/// <summary>
/// SqliteItemStore write throughput against the disk's raw fsync rate measured in the same run and folder.
/// Group commit should let many concurrent writers share fsyncs: the goal is 64 writers >= 5x the fsync rate.
/// Usage: store [seconds-per-phase] (default 3).
/// </summary>
public sealed class StoreBenchmark : IBenchmarkSuite
{
    public string Name => "store";

    public string Description => "SqliteItemStore conditional puts (1/8/64 writers) and 100-item transactions vs raw fsync rate";

    public async Task RunAsync(string[] args)
    {
        var seconds = args.Length > 0 ? double.Parse(args[0], CultureInfo.InvariantCulture) : 3.0;
        var phase = TimeSpan.FromSeconds(seconds);
        var folder = Path.Combine(Path.GetTempPath(), "molly-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            var fsync = MeasureFsync(Path.Combine(folder, "fsync.bin"), phase);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"baseline  raw 4 KB write + fsync          {fsync,10:F0} /s"));

            await using var store = SqliteItemStore.Open(new SqliteItemStoreOptions { Path = Path.Combine(folder, "store.db") });
            foreach (var writers in new[] { 1, 8, 64 })
            {
                var commitsBefore = store.Commits;
                var (ops, elapsed) = await RunWriters(writers, phase, async (w, i) =>
                {
                    var item = new Item("bench#" + writers, w.ToString("D2", CultureInfo.InvariantCulture) + "#" + i.ToString("D8", CultureInfo.InvariantCulture))
                    {
                        ["amount"] = 12345L,
                        ["status"] = "pending",
                    };
                    await store.PutAsync(item, Condition.ItemAbsent);
                    return 1;
                });
                var rate = ops / elapsed.TotalSeconds;
                var commits = store.Commits - commitsBefore;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"put ItemAbsent, {writers,2} writers           {rate,10:F0} /s   {rate / fsync,6:F2}x fsync   mean batch {(double)ops / Math.Max(1, commits),6:F1}"));
            }

            foreach (var writers in new[] { 1, 8 })
            {
                var (items, elapsed) = await RunWriters(writers, phase, async (w, i) =>
                {
                    var ops = new List<TransactOp>(TransactionLimits.MaxItems);
                    for (var k = 0; k < TransactionLimits.MaxItems; k++)
                        ops.Add(TransactOp.Put(new Item("tx#" + writers + "#" + w + "#" + i, k.ToString("D3", CultureInfo.InvariantCulture)) { ["amount"] = (long)k }, Condition.ItemAbsent));
                    await store.TransactWriteAsync(ops);
                    return ops.Count;
                });
                var itemRate = items / elapsed.TotalSeconds;
                var txRate = itemRate / TransactionLimits.MaxItems;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"100-item transactions, {writers} writer(s)   {txRate,10:F0} tx/s {txRate / fsync,6:F2}x fsync   {itemRate,8:F0} items/s"));
            }
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }

    private static double MeasureFsync(string path, TimeSpan duration)
    {
        var block = new byte[4096];
        Random.Shared.NextBytes(block);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.None);
        var count = 0;
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < duration)
        {
            file.Position = 0;
            file.Write(block);
            file.Flush(flushToDisk: true);
            count++;
        }
        return count / sw.Elapsed.TotalSeconds;
    }

    private static async Task<(long Ops, TimeSpan Elapsed)> RunWriters(int writers, TimeSpan duration, Func<int, int, Task<int>> op)
    {
        long total = 0;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; sw.Elapsed < duration; i++)
                Interlocked.Add(ref total, await op(w, i));
        })));
        return (total, sw.Elapsed);
    }
}
