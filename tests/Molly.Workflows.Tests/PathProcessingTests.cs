using System.Text.Json.Nodes;
using Xunit;

namespace Molly.Workflows.Tests;

/// <summary>InputPath, Parameters, ResultSelector, ResultPath, OutputPath and the context object, on the spec's examples.</summary>
public sealed class PathProcessingTests
{
    private const string Add = """
        "Add": {"Type": "Task", "Resource": "${AddArn}", "InputPath": "$.numbers", "ResultPath": "$.sum", "OutputPath": "$", "End": true}
        """;

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.DynamoDb)]
    public async Task Spec_example_InputPath_ResultPath_OutputPath(StoreKind kind)
    {
        // Spec, "InputPath, Parameters, ResultPath and OutputPath Examples": the task sees the effective input
        // {"val1":3,"val2":4}; its result 7 is placed by ResultPath into the state's *raw* input.
        await using var h = await Harness.CreateAsync(kind);
        JsonNode? seen = null;
        h.Workflow("add", Json.Machine("Add", Add)).Handler("Add", input =>
        {
            seen = input;
            return input!["val1"]!.GetValue<int>() + input["val2"]!.GetValue<int>();
        });
        var result = await h.RunAsync("add", """{"title": "Numbers to add", "numbers": {"val1": 3, "val2": 4}}""");
        Assert.Equal(ExecutionStatus.Succeeded, result.Status);
        Json.Equal("""{"val1": 3, "val2": 4}""", seen);
        Json.Equal("""{"title": "Numbers to add", "numbers": {"val1": 3, "val2": 4}, "sum": 7}""", result.Output);
    }

    [Fact]
    public async Task ResultPath_merges_into_a_nested_path_and_creates_missing_objects()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("w", Json.Machine("P", """
            "P": {"Type": "Pass", "Result": 6, "ResultPath": "$.master.sum", "Next": "Q"},
            "Q": {"Type": "Pass", "Result": "x", "ResultPath": "$.a.b.c", "End": true}
            """));
        var result = await h.RunAsync("w", """{"master": {"detail": [1, 2, 3]}}""");
        Json.Equal("""{"master": {"detail": [1, 2, 3], "sum": 6}, "a": {"b": {"c": "x"}}}""", result.Output);
    }

    [Fact]
    public async Task ResultPath_null_discards_the_result_and_InputPath_null_gives_an_empty_object()
    {
        await using var h = await Harness.CreateAsync();
        JsonNode? seen = null;
        h.Workflow("w", Json.Machine("T", """
            "T": {"Type": "Task", "Resource": "${EchoArn}", "InputPath": null, "ResultPath": null, "End": true}
            """)).Handler("Echo", input => { seen = input; return "ignored"; });
        var result = await h.RunAsync("w", """{"keep": true}""");
        Json.Equal("{}", seen);
        Json.Equal("""{"keep": true}""", result.Output);
    }

    [Fact]
    public async Task OutputPath_selects_and_OutputPath_null_gives_an_empty_object()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("w", Json.Machine("A", """
            "A": {"Type": "Pass", "OutputPath": "$.inner", "Next": "B"},
            "B": {"Type": "Pass", "Result": {"z": 1}, "ResultPath": "$.r", "Next": "C"},
            "C": {"Type": "Pass", "OutputPath": null, "End": true}
            """));
        Json.Equal("{}", (await h.RunAsync("w", """{"inner": {"x": 1}}""")).Output);
        await using var h2 = await Harness.CreateAsync();
        h2.Workflow("w", Json.Machine("A", """
            "A": {"Type": "Pass", "OutputPath": "$.inner", "Next": "B"},
            "B": {"Type": "Pass", "Result": {"z": 1}, "ResultPath": "$.r", "End": true}
            """));
        Json.Equal("""{"x": 1, "r": {"z": 1}}""", (await h2.RunAsync("w", """{"inner": {"x": 1}}""")).Output);
    }

    [Fact]
    public async Task Parameters_template_with_paths_nested_objects_and_arrays()
    {
        // Spec, "Parameters": static fields copied, ".$" fields replaced by the value of their path.
        await using var h = await Harness.CreateAsync();
        h.Workflow("w", Json.Machine("P", """
            "P": {"Type": "Pass", "Parameters": {"flagged": true, "parts": {"first.$": "$.vals[0]", "third.$": "$.vals[2]"},
                  "list": [1, {"q.$": "$['odd key']"}]}, "End": true}
            """));
        var result = await h.RunAsync("w", """{"vals": [0, 10, 20, 30], "odd key": "v"}""");
        Json.Equal("""{"flagged": true, "parts": {"first": 0, "third": 20}, "list": [1, {"q": "v"}]}""", result.Output);
    }

    [Fact]
    public async Task Parameters_path_that_matches_nothing_raises_ParameterPathFailure_which_Catch_can_handle()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("w", Json.Machine("T", """
            "T": {"Type": "Task", "Resource": "${EchoArn}", "Parameters": {"x.$": "$.missing"},
                  "Catch": [{"ErrorEquals": ["States.ParameterPathFailure"], "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Succeed"}
            """)).Handler("Echo", i => i);
        var result = await h.RunAsync("w", "{}");
        Assert.Equal(ExecutionStatus.Succeeded, result.Status);
        Assert.Equal("States.ParameterPathFailure", result.Output!["Error"]!.GetValue<string>());
    }

    [Fact]
    public async Task ResultSelector_shapes_the_result_before_ResultPath()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("w", Json.Machine("T", """
            "T": {"Type": "Task", "Resource": "${ResArn}", "ResultSelector": {"id.$": "$.Payload.id", "constant": 1, "exec.$": "$$.Execution.Name"},
                  "ResultPath": "$.out", "End": true}
            """)).Handler("Res", _ => JsonNode.Parse("""{"Payload": {"id": "abc", "noise": [1, 2]}, "StatusCode": 200}"""));
        var result = await h.RunAsync("w", """{"in": 1}""", name: "e1");
        Json.Equal("""{"in": 1, "out": {"id": "abc", "constant": 1, "exec": "e1"}}""", result.Output);
    }

    [Fact]
    public async Task Context_object_gives_execution_id_name_input_and_state_entered_time()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("ctx", Json.Machine("P", """
            "P": {"Type": "Pass", "Parameters": {"id.$": "$$.Execution.Id", "name.$": "$$.Execution.Name", "input.$": "$$.Execution.Input",
                  "state.$": "$$.State.Name", "entered.$": "$$.State.EnteredTime", "machine.$": "$$.StateMachine.Name"}, "End": true}
            """));
        var result = await h.RunAsync("ctx", """{"a": [1]}""", name: "run-1");
        Json.Equal("""
            {"id": "ctx:run-1", "name": "run-1", "input": {"a": [1]}, "state": "P", "entered": "2026-01-02T03:04:05.000Z", "machine": "ctx"}
            """, result.Output);
    }

    [Fact]
    public async Task Lambda_invoke_integration_passes_Payload_and_wraps_the_result()
    {
        await using var h = await Harness.CreateAsync();
        JsonNode? seen = null;
        h.Workflow("w", Json.Machine("T", """
            "T": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": "${FnArn}", "Payload": {"v.$": "$.v"}}, "OutputPath": "$.Payload", "End": true}
            """)).Handler("Fn", i => { seen = i; return new JsonObject { ["doubled"] = i!["v"]!.GetValue<int>() * 2 }; });
        var result = await h.RunAsync("w", """{"v": 21}""");
        Json.Equal("""{"v": 21}""", seen);
        Json.Equal("""{"doubled": 42}""", result.Output);
    }
}
