using System.Text.Json.Nodes;
using Xunit;

namespace Molly.Workflows.Tests;

public sealed class ParallelTests
{
    private const string Definition = """
        "P": {"Type": "Parallel", "ResultPath": "$.results",
          "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "${UpperArn}", "InputPath": "$.name", "End": true}}},
            {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 5, "Next": "B"}, "B": {"Type": "Pass", "Result": 2, "End": true}}},
            {"StartAt": "C", "States": {"C": {"Type": "Task", "Resource": "${FailIfArn}", "End": true}}}
          ],
          "Catch": [{"ErrorEquals": ["Molly.Boom"], "ResultPath": "$.error", "Next": "Caught"}],
          "Next": "Done"},
        "Done": {"Type": "Succeed"},
        "Caught": {"Type": "Succeed"}
        """;

    private static Harness Setup(Harness h) =>
        h.Workflow("p", Json.Machine("P", Definition))
            .Handler("Upper", i => i!.GetValue<string>().ToUpperInvariant())
            .Handler("FailIf", i => i!["fail"]!.GetValue<bool>() ? throw new WorkflowErrorException("Molly.Boom", "asked to") : "c");

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.DynamoDb)]
    public async Task Results_are_an_array_in_branch_order(StoreKind kind)
    {
        await using var h = Setup(await Harness.CreateAsync(kind));
        var r = await h.RunAsync("p", """{"name": "molly", "fail": false}""", name: "ok");
        Assert.Equal(ExecutionStatus.Running, r.Status); // branch 2 waits
        await h.AdvanceAsync(TimeSpan.FromSeconds(5));
        var done = await h.DescribeAsync("p:ok");
        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        Json.Equal("""{"name": "molly", "fail": false, "results": ["MOLLY", 2, "c"]}""", done.Output);
    }

    [Fact]
    public async Task A_failing_branch_fails_the_state_aborts_the_others_and_Catch_handles_it()
    {
        await using var h = Setup(await Harness.CreateAsync());
        var r = await h.RunAsync("p", """{"name": "molly", "fail": true}""", name: "bad");
        Assert.Equal(ExecutionStatus.Succeeded, r.Status);
        Json.Equal("""{"name": "molly", "fail": true, "error": {"Error": "Molly.Boom", "Cause": "asked to"}}""", r.Output);
        // The waiting branch was aborted, so its timer does nothing later.
        var waiting = await h.DescribeAsync(WorkflowEngine.BranchExecutionId("p:bad", 1, 1));
        Assert.Equal(ExecutionStatus.Aborted, waiting.Status);
        await h.AdvanceAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(ExecutionStatus.Aborted, (await h.DescribeAsync(WorkflowEngine.BranchExecutionId("p:bad", 1, 1))).Status);
        Assert.Null(await h.Engine.NextDueAsync());
    }
}
