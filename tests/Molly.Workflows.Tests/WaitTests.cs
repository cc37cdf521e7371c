using Xunit;

namespace Molly.Workflows.Tests;

/// <summary>Wait states against a driven clock: nothing moves before the due time, and timers survive a new engine.</summary>
public sealed class WaitTests
{
    private static string WaitThenDone(string waitFields) => Json.Machine("W", $$"""
        "W": {"Type": "Wait", {{waitFields}}, "Next": "Done"},
        "Done": {"Type": "Pass", "Result": "done", "ResultPath": "$.r", "End": true}
        """);

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.DynamoDb)]
    public async Task Seconds_waits_exactly_that_long(StoreKind kind)
    {
        await using var h = await Harness.CreateAsync(kind);
        h.Workflow("w", WaitThenDone("\"Seconds\": 10"));
        var started = await h.RunAsync("w", "{}", name: "s");
        Assert.Equal(ExecutionStatus.Running, started.Status);
        Assert.Equal("W", started.CurrentState);
        await h.AdvanceAsync(TimeSpan.FromSeconds(9.9));
        Assert.Equal(ExecutionStatus.Running, (await h.DescribeAsync("w:s")).Status);
        await h.AdvanceAsync(TimeSpan.FromSeconds(0.1));
        var done = await h.DescribeAsync("w:s");
        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        Json.Equal("""{"r": "done"}""", done.Output);
    }

    [Fact]
    public async Task Timestamp_waits_until_that_instant_and_a_past_timestamp_does_not_wait()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("future", WaitThenDone("\"Timestamp\": \"2026-01-02T04:00:00Z\""));
        h.Workflow("past", WaitThenDone("\"Timestamp\": \"2020-01-01T00:00:00Z\""));
        Assert.Equal(ExecutionStatus.Succeeded, (await h.RunAsync("past", "{}")).Status);
        var r = await h.RunAsync("future", "{}", name: "f");
        Assert.Equal(ExecutionStatus.Running, r.Status);
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 4, 0, 0, TimeSpan.Zero), await h.Engine.NextDueAsync());
        await h.AdvanceAsync(TimeSpan.FromMinutes(55));
        Assert.Equal(ExecutionStatus.Running, (await h.DescribeAsync("future:f")).Status);
        await h.AdvanceAsync(TimeSpan.FromSeconds(55));
        Assert.Equal(ExecutionStatus.Succeeded, (await h.DescribeAsync("future:f")).Status);
    }

    [Fact]
    public async Task TimestampPath_and_SecondsPath_read_the_input()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("tp", WaitThenDone("\"TimestampPath\": \"$.until\""));
        h.Workflow("sp", WaitThenDone("\"SecondsPath\": \"$.delay\""));
        await h.RunAsync("tp", """{"until": "2026-01-02T03:05:05Z"}""", name: "a");
        await h.RunAsync("sp", """{"delay": 30}""", name: "b");
        await h.AdvanceAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ExecutionStatus.Running, (await h.DescribeAsync("tp:a")).Status);
        Assert.Equal(ExecutionStatus.Succeeded, (await h.DescribeAsync("sp:b")).Status);
        await h.AdvanceAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ExecutionStatus.Succeeded, (await h.DescribeAsync("tp:a")).Status);
    }

    [Fact]
    public async Task A_bad_TimestampPath_fails_the_execution_with_States_Runtime()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("tp", WaitThenDone("\"TimestampPath\": \"$.until\""));
        var r = await h.RunAsync("tp", """{"until": "tomorrow"}""");
        Assert.Equal(ExecutionStatus.Failed, r.Status);
        Assert.Equal("States.Runtime", r.Error);
    }

    [Fact]
    public async Task A_timer_survives_a_restart_of_the_engine()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("w", WaitThenDone("\"Seconds\": 3600"));
        await h.RunAsync("w", "{}", name: "r");
        h.Time.Advance(TimeSpan.FromHours(1));
        var restarted = h.NewEngine(); // same store, fresh process state
        Assert.True(await restarted.RunUntilIdleAsync() > 0);
        Assert.Equal(ExecutionStatus.Succeeded, (await restarted.DescribeAsync("w:r"))!.Status);
    }

    [Fact]
    public async Task The_scheduler_loop_fires_a_timer_when_the_clock_reaches_it()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("w", WaitThenDone("\"Seconds\": 5"));
        using var cts = new CancellationTokenSource();
        var loop = h.Engine.RunAsync(cts.Token);
        await h.Engine.StartAsync("w", "loop", new System.Text.Json.Nodes.JsonObject());
        await WaitUntilAsync(async () => (await h.DescribeAsync("w:loop")).CurrentState == "W"
                                         && await h.Engine.NextDueAsync() is not null);
        h.Time.Advance(TimeSpan.FromSeconds(5)); // fires the scheduler's sleep timer (a ManualTimeProvider timer)
        await WaitUntilAsync(async () => (await h.DescribeAsync("w:loop")).Status == ExecutionStatus.Succeeded);
        cts.Cancel();
        await loop;
    }

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 500; i++)
        {
            if (await condition()) return;
            await Task.Delay(20);
        }
        Assert.Fail("condition not reached in 10 s");
    }
}

public sealed class ExecutionTimeoutTests
{
    [Fact]
    public async Task The_definitions_TimeoutSeconds_times_out_a_waiting_execution()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("t", """
            {"StartAt": "W", "TimeoutSeconds": 10, "States": {"W": {"Type": "Wait", "Seconds": 100, "End": true}}}
            """);
        await h.RunAsync("t", "{}", name: "slow");
        await h.AdvanceAsync(TimeSpan.FromSeconds(9));
        Assert.Equal(ExecutionStatus.Running, (await h.DescribeAsync("t:slow")).Status);
        await h.AdvanceAsync(TimeSpan.FromSeconds(1));
        var r = await h.DescribeAsync("t:slow");
        Assert.Equal(ExecutionStatus.TimedOut, r.Status);
        Assert.Equal("States.Timeout", r.Error);
        Assert.Null(await h.Engine.NextDueAsync());
    }
}
