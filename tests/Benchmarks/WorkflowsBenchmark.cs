using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Molly.Storage;
using Molly.Storage.Sqlite;
using Molly.Workflows;

namespace Molly.Benchmarks;

/// <summary>
/// State transitions per second of the local workflow engine with durable SQLite state (goal >= 2,000/s), beside the
/// baseline of the same store's single conditional put rate at the same concurrency, measured in the same run and folder.
/// Each transition is one transaction: execution item (version-conditioned) + one history item (+ due-index changes).
/// Usage: workflows [executions] [concurrency] (default 400 executions, 32 workers).
/// </summary>
public sealed class WorkflowsBenchmark : IBenchmarkSuite
{
    public string Name => "workflows";

    public string Description => "local workflow engine transitions/s on SQLite vs the store's single-put rate";

    // 20 transitions per execution: Pass x8 (with Parameters and an intrinsic), Task x6 (in-process handler), Choice x5, Succeed.
    private const string Definition = """
        {"StartAt": "P0", "States": {
          "P0": {"Type": "Pass", "Result": {"n": 0}, "ResultPath": "$.c", "Next": "T0"},
          "T0": {"Type": "Task", "Resource": "${IncArn}", "Parameters": {"n.$": "$.c.n"}, "ResultPath": "$.c", "Next": "C0"},
          "C0": {"Type": "Choice", "Choices": [{"Variable": "$.c.n", "NumericLessThan": 6, "Next": "P1"}], "Default": "Done"},
          "P1": {"Type": "Pass", "Parameters": {"n.$": "$.c.n", "label.$": "States.Format('step {}', $.c.n)"}, "ResultPath": "$.c", "Next": "T0"},
          "Done": {"Type": "Succeed"}}}
        """;

    public async Task RunAsync(string[] args)
    {
        var executions = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 400;
        var concurrency = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 32;
        var folder = Directory.CreateTempSubdirectory("molly-bench-wf-").FullName;
        try
        {
            await using var store = SqliteItemStore.Open(new SqliteItemStoreOptions { Path = Path.Combine(folder, "wf.db") });

            // Baseline: single conditional puts of an item about the size of an execution record, same concurrency.
            var payload = new string('x', 600);
            var puts = 0;
            var baseline = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, concurrency), new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (w, ct) =>
            {
                for (var i = 0; baseline.Elapsed < TimeSpan.FromSeconds(3); i++)
                {
                    await store.PutAsync(new Item($"base#{w}", i.ToString("D8", CultureInfo.InvariantCulture)) { ["data"] = payload }, Condition.ItemAbsent, ct);
                    Interlocked.Increment(ref puts);
                }
            });
            var putRate = puts / baseline.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"baseline  SQLite conditional put, {concurrency} writers      {putRate,10:F0} /s"));

            var definitions = new WorkflowDefinitions().Add("bench", Definition);
            var handlers = new WorkflowTaskHandlers().Add("Inc", (input, _, _) =>
                Task.FromResult<JsonNode?>(new JsonObject { ["n"] = input!["n"]!.GetValue<int>() + 1 }));
            var engine = new WorkflowEngine(store, definitions, handlers, TimeProvider.System,
                new WorkflowEngineOptions { MaxConcurrency = concurrency, MaxInlineSteps = 1000 });

            // Warm-up (JIT, SQLite caches), then the measured run.
            for (var i = 0; i < concurrency; i++) await engine.StartAsync("bench", $"warm{i}", new JsonObject());
            await engine.RunUntilIdleAsync();

            var requestsBefore = store.WriteRequests;
            var sw = Stopwatch.StartNew();
            await Parallel.ForEachAsync(Enumerable.Range(0, executions), new ParallelOptions { MaxDegreeOfParallelism = 8 },
                async (i, ct) => await engine.StartAsync("bench", $"e{i}", new JsonObject { ["i"] = i }, ct));
            await engine.RunUntilIdleAsync();
            sw.Stop();
            var writes = store.WriteRequests - requestsBefore;

            var transitions = 0L;
            for (var i = 0; i < executions; i++)
            {
                var d = await engine.DescribeAsync($"bench:e{i}");
                if (d!.Status != ExecutionStatus.Succeeded) throw new InvalidOperationException($"e{i} ended {d.Status}: {d.Error} {d.Cause}");
            }
            var history = await engine.GetHistoryAsync("bench:e0");
            var perExecution = history.Count(e => e.Type.EndsWith("StateExited", StringComparison.Ordinal));
            transitions = (long)perExecution * executions;
            var rate = transitions / sw.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"engine    {executions} executions x {perExecution} transitions, {concurrency} workers  {rate,10:F0} transitions/s   {rate / putRate,5:F2}x single put   (total {sw.Elapsed.TotalSeconds:F2} s, {(double)writes / transitions:F2} store transactions per transition)"));
            Console.WriteLine(rate >= 2000 ? "goal      >= 2,000 transitions/s: met" : "goal      >= 2,000 transitions/s: NOT met");
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }
}
