using System.Diagnostics;
using System.Globalization;
using Molly.Chains.Evm;
using Molly.Chains.Rpc.Evm;
using Molly.Deposits;
using Molly.Domain;

namespace Molly.Benchmarks;

/// <summary>
/// Matching ERC-20 Transfer logs (as the RPC client hands them over: hex strings) against 1,000,000 watched addresses, one
/// thread, beside baselines measured in the same run: a HashSet&lt;string&gt; of lower-case hex addresses, looked up with a
/// substring per log (the obvious code) and with a span (no allocation). Also the memory of each index.
/// Usage: matching [addresses=1000000] [logs=2000000] [hit-percent=1]
/// </summary>
public sealed class MatchingBenchmark : IBenchmarkSuite
{
    public string Name => "matching";

    public string Description => "ERC-20 Transfer logs matched against 1M watched addresses (AddressSet vs HashSet<string>)";

    public Task RunAsync(string[] args)
    {
        var addresses = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var logCount = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 2_000_000;
        var hitPercent = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1;
        Console.WriteLine($"cores: {Environment.ProcessorCount}; load: {File.ReadAllText("/proc/loadavg").Trim()}");

        var rng = new Random(42);
        var watched = new byte[addresses][];
        for (var i = 0; i < addresses; i++) rng.NextBytes(watched[i] = new byte[20]);

        var before = Allocated();
        var set = new AddressSet();
        foreach (var a in watched) set.Add(a);
        var setBytes = Allocated() - before;

        before = Allocated();
        var strings = new HashSet<string>(StringComparer.Ordinal);
        foreach (var a in watched) strings.Add(Convert.ToHexStringLower(a));
        var stringBytes = Allocated() - before;
        Console.WriteLine($"index of {addresses:N0} addresses: AddressSet {setBytes / 1048576.0:F1} MiB ({setBytes / (double)addresses:F1} B/address, " +
                          $"arrays {set.MemoryBytes / 1048576.0:F1} MiB); HashSet<string> {stringBytes / 1048576.0:F1} MiB " +
                          $"({stringBytes / (double)addresses:F1} B/address): {stringBytes / (double)setBytes:F1}x");

        var token = EvmAddress.Parse("0xdAC17F958D2ee523a2206206994597C13D831ec7");
        var logs = new EvmLog[logCount];
        var to = new byte[20];
        var from = new byte[20];
        for (var i = 0; i < logCount; i++)
        {
            rng.NextBytes(from);
            if (rng.Next(100) < hitPercent) watched[rng.Next(addresses)].CopyTo(to, 0);
            else rng.NextBytes(to);
            // A string per topic, as a JSON reader makes them (one shared topic0 instance would compare by reference).
            logs[i] = new EvmLog(token, [new string(TransferMatcher.TransferTopic.AsSpan()), Word(from), Word(to)],
                "0x" + rng.NextInt64(1, long.MaxValue).ToString("x64", CultureInfo.InvariantCulture), 1, "0x" + new string('a', 64),
                "0x" + new string('b', 64), 0, i, false);
        }

        var spans = strings.GetAlternateLookup<ReadOnlySpan<char>>();
        // Rounds interleave the matchers so that each sees the same machine load; the best round of each counts.
        var rates = Interleaved(logs,
            ("AddressSet (TransferMatcher.IsTransferToWatched)", l => TransferMatcher.IsTransferToWatched(l, set)),
            ("baseline HashSet<string>, substring per log", l =>
                l.Topics.Count == 3 && l.Topics[0] == TransferMatcher.TransferTopic && strings.Contains(l.Topics[2][26..])),
            ("baseline HashSet<string>, span lookup", l =>
                l.Topics.Count == 3 && string.Equals(l.Topics[0], TransferMatcher.TransferTopic, StringComparison.Ordinal)
                && spans.Contains(l.Topics[2].AsSpan(26))));
        var (ours, naive, span) = (rates[0], rates[1], rates[2]);

        // The indexes alone, on keys already in their own form (20 bytes / a hex string): what the lookup itself costs.
        var keys = logs.Select(l => Convert.FromHexString(l.Topics[2].AsSpan(26))).ToArray();
        var hexKeys = logs.Select(l => l.Topics[2][26..]).ToArray();
        var lookupRates = Interleaved(Enumerable.Range(0, logs.Length).ToArray(),
            ("lookup only: AddressSet.Contains(20 bytes)", i => set.Contains(keys[i])),
            ("lookup only: HashSet<string>.Contains(hex)", i => strings.Contains(hexKeys[i])));
        Console.WriteLine($"lookup ratio: {lookupRates[0].Rate / lookupRates[1].Rate:F2}x");

        // The whole range as the watcher does it: candidates with amounts for the hits.
        var block = new EvmBlock(1, "0x" + new string('a', 64), "0x" + new string('c', 64), DateTimeOffset.UtcNow, 1, []);
        var asset = new Asset("ethereum", "mainnet", ChainFamily.Evm, 1, "USDT", 6, token.ToString(), 12);
        var tokens = new Dictionary<EvmAddress, Asset> { [token] = asset };
        var best = double.MaxValue;
        var found = 0;
        for (var round = 0; round < 3; round++)
        {
            var sw = Stopwatch.StartNew();
            found = TransferMatcher.Match([block], logs, set, null, tokens).Count;
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        Console.WriteLine($"{"TransferMatcher.Match (candidates built)",-48} {logCount / best,14:N0} logs/s  ({found:N0} deposits)");
        Console.WriteLine($"ratio: {ours.Rate / naive.Rate:F2}x the substring baseline, {ours.Rate / span.Rate:F2}x the span baseline; " +
                          $"goal 1,000,000 logs/s: {(ours.Rate >= 1_000_000 ? "met" : "NOT met")}");
        GC.KeepAlive(set);
        GC.KeepAlive(strings);
        return Task.CompletedTask;
    }

    private static List<(double Rate, int Hits)> Interleaved<T>(T[] items, params (string Name, Func<T, bool> Match)[] matchers)
    {
        var best = matchers.Select(_ => double.MaxValue).ToArray();
        var hits = new int[matchers.Length];
        for (var round = 0; round < 7; round++)
        {
            for (var m = 0; m < matchers.Length; m++)
            {
                var match = matchers[m].Match;
                var sw = Stopwatch.StartNew();
                var found = 0;
                foreach (var item in items) if (match(item)) found++;
                best[m] = Math.Min(best[m], sw.Elapsed.TotalSeconds);
                hits[m] = found;
            }
        }
        var results = new List<(double, int)>();
        for (var m = 0; m < matchers.Length; m++)
        {
            var rate = items.Length / best[m];
            Console.WriteLine($"{matchers[m].Name,-48} {rate,14:N0}/s  ({hits[m]:N0} hits, best of 7 interleaved rounds)");
            results.Add((rate, hits[m]));
        }
        return results;
    }

    private static long Allocated()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static string Word(byte[] address) => "0x" + new string('0', 24) + Convert.ToHexStringLower(address);
}
