using System.Text.Json.Nodes;
using Xunit;

namespace Molly.Workflows.Tests;

public sealed class ExecutionTests
{
    private const string Simple = """
        "Count": {"Type": "Task", "Resource": "${CountArn}", "Next": "Done"},
        "Done": {"Type": "Succeed"}
        """;

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.DynamoDb)]
    public async Task Starting_the_same_name_twice_starts_once(StoreKind kind)
    {
        await using var h = await Harness.CreateAsync(kind);
        var calls = 0;
        h.Workflow("s", Json.Machine("Count", Simple)).Handler("Count", _ => Interlocked.Increment(ref calls));
        var input = JsonNode.Parse("""{"depositId": "d1"}""");
        var first = await h.Engine.StartAsync("s", "d1", input);
        var second = await h.Engine.StartAsync("s", "d1", input);
        Assert.True(first.Started);
        Assert.False(second.Started);
        Assert.Equal(first.ExecutionId, second.ExecutionId);
        await h.Engine.RunUntilIdleAsync();
        Assert.False((await h.Engine.StartAsync("s", "d1", input)).Started); // also after it finished
        await h.Engine.RunUntilIdleAsync();
        Assert.Equal(1, calls);
        await Assert.ThrowsAsync<ExecutionAlreadyExistsException>(() => h.Engine.StartAsync("s", "d1", JsonNode.Parse("""{"depositId": "other"}""")));
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("eth#0xabc#1")]
    [InlineData("a:b")]
    [InlineData("")]
    public async Task Names_follow_the_Step_Functions_rules(string name)
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("s", Json.Machine("Done", "\"Done\": {\"Type\": \"Succeed\"}"));
        await Assert.ThrowsAsync<ArgumentException>(() => h.Engine.StartAsync("s", name, null));
    }

    [Fact]
    public async Task History_records_each_transition_once_in_order()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("s", Json.Machine("Count", Simple)).Handler("Count", _ => 1);
        await h.RunAsync("s", "{}", name: "h");
        var types = (await h.Engine.GetHistoryAsync("s:h")).Select(e => e.Type).ToList();
        Assert.Equal(["ExecutionStarted", "TaskStateEntered", "TaskSucceeded", "TaskStateExited", "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"], types);
        var ids = (await h.Engine.GetHistoryAsync("s:h")).Select(e => e.Id).ToList();
        Assert.Equal(Enumerable.Range(1, ids.Count).Select(i => (long)i), ids);
    }

    [Fact]
    public async Task A_Task_entry_is_committed_before_its_handler_runs_even_after_grouped_pure_states()
    {
        await using var h = await Harness.CreateAsync();
        string? seenState = null;
        h.Workflow("g", Json.Machine("A", """
            "A": {"Type": "Pass", "Result": 1, "ResultPath": "$.a", "Next": "B"},
            "B": {"Type": "Choice", "Choices": [{"Variable": "$.a", "NumericEquals": 1, "Next": "W"}]},
            "W": {"Type": "Wait", "Seconds": 0, "Next": "T"},
            "T": {"Type": "Task", "Resource": "${PeekArn}", "ResultPath": "$.t", "End": true}
            """));
        h.Handlers.Add("Peek", async (_, ctx, ct) =>
        {
            // What a restarted host would find if this process died now: the execution already in T.
            seenState = (await h.NewEngine().DescribeAsync(ctx.ExecutionId, ct))!.CurrentState;
            return "ok";
        });
        var r = await h.RunAsync("g", "{}", name: "grp");
        Assert.Equal("T", seenState);
        Json.Equal("""{"a": 1, "t": "ok"}""", r.Output);
        var entered = (await h.Engine.GetHistoryAsync("g:grp")).Where(e => e.Type.EndsWith("StateEntered", StringComparison.Ordinal)).Select(e => e.State);
        Assert.Equal(["A", "B", "W", "T"], entered);
    }

    [Fact]
    public async Task Numbers_returned_by_handlers_work_in_Wait_and_Choice()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("n", Json.Machine("T", """
            "T": {"Type": "Task", "Resource": "${NumArn}", "ResultPath": "$.r", "Next": "W"},
            "W": {"Type": "Wait", "SecondsPath": "$.r.wait", "Next": "C"},
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.r.wait", "NumericGreaterThan": 4.5, "Next": "Y"}]},
            "Y": {"Type": "Succeed"}
            """)).Handler("Num", _ => new JsonObject { ["wait"] = 5 });
        Assert.Equal(ExecutionStatus.Running, (await h.RunAsync("n", "{}", name: "n")).Status);
        await h.AdvanceAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(ExecutionStatus.Succeeded, (await h.DescribeAsync("n:n")).Status);
    }

    [Fact]
    public async Task Succeed_Fail_and_Pass_Result()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("f", Json.Machine("P", """
            "P": {"Type": "Pass", "Result": {"code": "X1"}, "ResultPath": "$.r", "Next": "F"},
            "F": {"Type": "Fail", "ErrorPath": "$.r.code", "Cause": "it failed"}
            """));
        var r = await h.RunAsync("f", "{}");
        Assert.Equal(ExecutionStatus.Failed, r.Status);
        Assert.Equal("X1", r.Error);
        Assert.Equal("it failed", r.Cause);
    }

    [Theory]
    [InlineData("""{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}}}""")]
    [InlineData("""{"StartAt": "A", "States": {"A": {"Type": "Map", "End": true}}}""")]
    [InlineData("""{"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "$.a[*]", "End": true}}}""")]
    [InlineData("""{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "A", "End": true}}}""")]
    [InlineData("""{"StartAt": "A", "States": {"A": {"Type": "Wait", "Seconds": 1, "Timestamp": "2026-01-01T00:00:00Z", "End": true}}}""")]
    [InlineData("""{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:lambda:x", "End": true}}}""")]
    [InlineData("""{"StartAt": "Z", "States": {"A": {"Type": "Succeed"}}}""")]
    public void Invalid_definitions_are_rejected_at_load(string json) =>
        Assert.Throws<InvalidDefinitionException>(() => new WorkflowDefinitions().Add("bad", json));

    [Fact]
    public async Task Concurrent_executions_under_the_scheduler_each_finish_once()
    {
        await using var h = await Harness.CreateAsync();
        var calls = 0;
        h.Workflow("s", Json.Machine("Count", Simple)).Handler("Count", _ => Interlocked.Increment(ref calls));
        var engine = new WorkflowEngine(h.Store, h.Definitions, h.Handlers, TimeProvider.System, new WorkflowEngineOptions { MaxConcurrency = 8 });
        using var cts = new CancellationTokenSource();
        var loop = engine.RunAsync(cts.Token);
        for (var i = 0; i < 50; i++) await engine.StartAsync("s", $"e{i}", new JsonObject());
        await WaitTests.WaitUntilAsync(async () =>
        {
            for (var i = 0; i < 50; i++)
                if ((await engine.DescribeAsync($"s:e{i}"))!.Status != ExecutionStatus.Succeeded) return false;
            return true;
        });
        cts.Cancel();
        await loop;
        Assert.Equal(50, calls);
    }
}
