using System.Text.Json.Nodes;
using Xunit;

namespace Molly.Workflows.Tests;

/// <summary>Retry and Catch in the spec's order: retriers in order, the first match decides, Catch after retries run out.</summary>
public sealed class RetryCatchTests
{
    private static Harness Failing(Harness h, string taskFields, params string[] errors)
    {
        var calls = 0;
        h.Handlers.Add("Flaky", (_, _, _) =>
        {
            var i = calls++;
            if (i < errors.Length) throw new WorkflowErrorException(errors[i], $"attempt {i}");
            return Task.FromResult<JsonNode?>(new JsonObject { ["ok"] = i });
        });
        h.Workflow("r", Json.Machine("T", $$"""
            "T": {"Type": "Task", "Resource": "${FlakyArn}", {{taskFields}}, "End": true},
            "Caught": {"Type": "Pass", "End": true}
            """));
        return h;
    }

    private static async Task<List<HistoryEvent>> EventsAsync(Harness h, string id, string type) =>
        (await h.Engine.GetHistoryAsync(id)).Where(e => e.Type == type).ToList();

    [Fact]
    public async Task Retries_with_exponential_backoff_then_succeeds()
    {
        await using var h = await Harness.CreateAsync();
        Failing(h, """
            "Retry": [{"ErrorEquals": ["Molly.Transient"], "IntervalSeconds": 2, "BackoffRate": 3, "MaxAttempts": 3}]
            """, "Molly.Transient", "Molly.Transient", "Molly.Transient");
        var r = await h.RunAsync("r", "{}", name: "x");
        Assert.Equal(ExecutionStatus.Running, r.Status);
        await h.AdvanceAsync(TimeSpan.FromSeconds(1.99));
        Assert.Single(await EventsAsync(h, "r:x", "TaskFailed")); // not retried before 2 s
        await h.AdvanceAsync(TimeSpan.FromSeconds(0.01));
        await h.AdvanceAsync(TimeSpan.FromSeconds(6));
        await h.AdvanceAsync(TimeSpan.FromSeconds(18));
        var done = await h.DescribeAsync("r:x");
        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        Json.Equal("""{"ok": 3}""", done.Output);
        var delays = (await EventsAsync(h, "r:x", "RetryScheduled")).Select(e => e.Details!["delaySeconds"]!.GetValue<double>()).ToList();
        Assert.Equal([2.0, 6.0, 18.0], delays);
    }

    [Fact]
    public async Task MaxDelaySeconds_caps_and_full_jitter_stays_below_the_cap()
    {
        await using var h = await Harness.CreateAsync();
        Failing(h, """
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "BackoffRate": 10, "MaxAttempts": 6, "MaxDelaySeconds": 50, "JitterStrategy": "FULL"}]
            """, Enumerable.Repeat("E", 6).ToArray());
        await h.RunAsync("r", "{}", name: "j");
        for (var i = 0; i < 6; i++) await h.AdvanceAsync(TimeSpan.FromSeconds(50));
        Assert.Equal(ExecutionStatus.Succeeded, (await h.DescribeAsync("r:j")).Status);
        var delays = (await EventsAsync(h, "r:j", "RetryScheduled")).Select(e => e.Details!["delaySeconds"]!.GetValue<double>()).ToList();
        Assert.Equal(6, delays.Count);
        Assert.All(delays, d => Assert.InRange(d, 0, 50));
        Assert.True(delays.Distinct().Count() > 1, "jitter gives different delays");
        Assert.Contains(delays, d => d < 10);
    }

    [Fact]
    public async Task The_first_matching_retrier_decides_and_when_it_is_spent_Catch_runs_not_a_later_retrier()
    {
        await using var h = await Harness.CreateAsync();
        Failing(h, """
            "Retry": [
              {"ErrorEquals": ["Molly.Permanent"], "MaxAttempts": 0},
              {"ErrorEquals": ["Molly.Transient"], "IntervalSeconds": 1, "MaxAttempts": 2},
              {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 5}
            ],
            "Catch": [{"ErrorEquals": ["Molly.Transient"], "ResultPath": "$.err", "Next": "Caught"}, {"ErrorEquals": ["States.ALL"], "Next": "Caught"}]
            """, "Molly.Permanent");
        var r = await h.RunAsync("r", """{"in": 1}""", name: "p");
        Assert.Equal(ExecutionStatus.Succeeded, r.Status);
        Json.Equal("""{"Error": "Molly.Permanent", "Cause": "attempt 0"}""", r.Output); // caught by States.ALL (no ResultPath: output = error)
        Assert.Empty(await EventsAsync(h, "r:p", "RetryScheduled"));

        await using var h2 = await Harness.CreateAsync();
        Failing(h2, """
            "Retry": [
              {"ErrorEquals": ["Molly.Transient"], "IntervalSeconds": 1, "BackoffRate": 1, "MaxAttempts": 2},
              {"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 5}
            ],
            "Catch": [{"ErrorEquals": ["Molly.Transient"], "ResultPath": "$.err", "Next": "Caught"}]
            """, "Molly.Transient", "Molly.Transient", "Molly.Transient", "Molly.Transient");
        await h2.RunAsync("r", """{"in": 1}""", name: "t");
        await h2.AdvanceAsync(TimeSpan.FromSeconds(1));
        await h2.AdvanceAsync(TimeSpan.FromSeconds(1));
        var done = await h2.DescribeAsync("r:t");
        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        Json.Equal("""{"in": 1, "err": {"Error": "Molly.Transient", "Cause": "attempt 2"}}""", done.Output); // Catch ResultPath merges
        Assert.Equal(2, (await EventsAsync(h2, "r:t", "RetryScheduled")).Count); // 3 attempts; the States.ALL retrier never ran
    }

    [Fact]
    public async Task TaskFailed_matches_handler_errors_but_not_States_Timeout()
    {
        await using var h = await Harness.CreateAsync();
        Failing(h, """
            "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}]
            """, "Some.Error");
        Assert.Equal(ExecutionStatus.Succeeded, (await h.RunAsync("r", "{}")).Status);

        Assert.True(StatesErrors.Matches("States.TaskFailed", "Molly.Transient"));
        Assert.False(StatesErrors.Matches("States.TaskFailed", "States.Timeout"));
        Assert.True(StatesErrors.Matches("States.Timeout", "States.HeartbeatTimeout"));
        Assert.False(StatesErrors.Matches("States.ALL", "States.Runtime"));
    }

    [Fact]
    public async Task A_handler_exception_that_is_not_a_named_error_is_States_TaskFailed()
    {
        await using var h = await Harness.CreateAsync();
        h.Handlers.Add("Boom", (_, _, _) => throw new InvalidOperationException("kaput"));
        h.Workflow("b", Json.Machine("T", """
            "T": {"Type": "Task", "Resource": "${BoomArn}", "End": true}
            """));
        var r = await h.RunAsync("b", "{}");
        Assert.Equal(ExecutionStatus.Failed, r.Status);
        Assert.Equal("States.TaskFailed", r.Error);
        Assert.Contains("kaput", r.Cause);
    }

    [Fact]
    public async Task States_Runtime_is_neither_retried_nor_caught()
    {
        await using var h = await Harness.CreateAsync();
        h.Handlers.Add("Echo", (i, _, _) => Task.FromResult(i));
        h.Workflow("rt", Json.Machine("T", """
            "T": {"Type": "Task", "Resource": "${EchoArn}", "OutputPath": "$.missing",
                  "Retry": [{"ErrorEquals": ["States.ALL"]}], "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}], "End": true},
            "C": {"Type": "Succeed"}
            """));
        var r = await h.RunAsync("rt", "{}");
        Assert.Equal(ExecutionStatus.Failed, r.Status);
        Assert.Equal("States.Runtime", r.Error);
    }

    [Fact]
    public async Task A_Task_without_a_handler_fails_naming_the_state_and_placeholder()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("n", Json.Machine("Lonely", """
            "Lonely": {"Type": "Task", "Resource": "${NobodyArn}", "End": true}
            """));
        var r = await h.RunAsync("n", "{}");
        Assert.Equal(ExecutionStatus.Failed, r.Status);
        Assert.Equal("States.Runtime", r.Error);
        Assert.Contains("'Lonely'", r.Cause);
        Assert.Contains("${NobodyArn}", r.Cause);
        Assert.Equal(["Nobody"], h.Definitions.MissingHandlers(h.Handlers));
    }

    [Fact]
    public async Task TimeoutSeconds_on_a_Task_raises_States_Timeout()
    {
        await using var h = await Harness.CreateAsync();
        h.Handlers.Add("Slow", async (_, _, ct) => { await Task.Delay(Timeout.Infinite, ct); return null; });
        h.Workflow("t", Json.Machine("T", """
            "T": {"Type": "Task", "Resource": "${SlowArn}", "TimeoutSeconds": 5, "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "C"}], "End": true},
            "C": {"Type": "Succeed"}
            """));
        await h.Engine.StartAsync("t", "slow", new JsonObject());
        var run = h.Engine.RunUntilIdleAsync();
        await WaitTests.WaitUntilAsync(() => Task.FromResult(!run.IsCompleted));
        for (var i = 0; i < 100 && !run.IsCompleted; i++)
        {
            h.Time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20);
        }
        await run;
        var r = await h.DescribeAsync("t:slow");
        Assert.Equal(ExecutionStatus.Succeeded, r.Status);
        Assert.Equal("States.Timeout", r.Output!["Error"]!.GetValue<string>());
    }

    [Fact]
    public void States_ALL_must_be_alone_and_last()
    {
        var defs = new WorkflowDefinitions();
        Assert.Throws<InvalidDefinitionException>(() => defs.Add("a", Json.Machine("T", """
            "T": {"Type": "Task", "Resource": "${XArn}", "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["E"]}], "End": true}
            """)));
        Assert.Throws<InvalidDefinitionException>(() => defs.Add("b", Json.Machine("T", """
            "T": {"Type": "Task", "Resource": "${XArn}", "Catch": [{"ErrorEquals": ["States.ALL", "E"], "Next": "T"}], "End": true}
            """)));
    }
}
