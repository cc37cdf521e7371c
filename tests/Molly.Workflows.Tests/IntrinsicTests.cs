using System.Text.Json.Nodes;
using Xunit;

namespace Molly.Workflows.Tests;

/// <summary>The spec's intrinsic-function examples, evaluated through a Pass state's Parameters.</summary>
public sealed class IntrinsicTests
{
    private static async Task<JsonNode?> EvalAsync(string expression, string input)
    {
        await using var h = await Harness.CreateAsync();
        var escaped = JsonValue.Create(expression)!.ToJsonString();
        h.Workflow("i", Json.Machine("P", $$"""
            "P": {"Type": "Pass", "Parameters": {"v.$": {{escaped}}}, "End": true}
            """));
        var result = await h.RunAsync("i", input);
        Assert.Equal(ExecutionStatus.Succeeded, result.Status);
        return result.Output!["v"];
    }

    [Fact]
    public async Task Format() =>
        Json.Equal("\"Your name is Foo, we are in the year 2020\"",
            await EvalAsync("States.Format('Your name is {}, we are in the year {}', $.name, 2020)", """{"name": "Foo"}"""));

    [Fact]
    public async Task Format_with_escaped_braces_and_quotes() =>
        Json.Equal("\"{x} it's 1\"", await EvalAsync(@"States.Format('\{x\} it\'s {}', $.n)", """{"n": 1}"""));

    [Fact]
    public async Task StringToJson() =>
        Json.Equal("""{"number": 20}""", await EvalAsync("States.StringToJson($.someString)", """{"someString": "{\"number\": 20}"}"""));

    [Fact]
    public async Task JsonToString() =>
        Json.Equal("\"{\\\"name\\\":\\\"Foo\\\",\\\"year\\\":2020}\"",
            await EvalAsync("States.JsonToString($.someJson)", """{"someJson": {"name": "Foo", "year": 2020}}"""));

    [Fact]
    public async Task Array() =>
        Json.Equal("""["Foo", 2020, {"a": 1}, null]""", await EvalAsync("States.Array('Foo', 2020, $.someJson, null)", """{"someJson": {"a": 1}}"""));

    [Fact]
    public async Task MathAdd_and_nested_calls() =>
        Json.Equal("\"n=112\"", await EvalAsync("States.Format('n={}', States.MathAdd($.value1, $.step))", """{"value1": 111, "step": 1}"""));

    [Fact]
    public async Task ArrayLength_GetItem_Contains_Partition_Range_Unique()
    {
        Json.Equal("3", await EvalAsync("States.ArrayLength($.a)", """{"a": [1, 2, 3]}"""));
        Json.Equal("2", await EvalAsync("States.ArrayGetItem($.a, 1)", """{"a": [1, 2, 3]}"""));
        Json.Equal("true", await EvalAsync("States.ArrayContains($.a, 3)", """{"a": [1, 2, 3]}"""));
        Json.Equal("[[1, 2], [3]]", await EvalAsync("States.ArrayPartition($.a, 2)", """{"a": [1, 2, 3]}"""));
        Json.Equal("[1, 3, 5, 7, 9]", await EvalAsync("States.ArrayRange(1, 9, 2)", "{}"));
        Json.Equal("[1, 2, 3]", await EvalAsync("States.ArrayUnique($.a)", """{"a": [1, 2, 2, 3, 1]}"""));
    }

    [Fact]
    public async Task Base64_Hash_StringSplit_JsonMerge()
    {
        Json.Equal("\"RGF0YSB0byBlbmNvZGU=\"", await EvalAsync("States.Base64Encode($.s)", """{"s": "Data to encode"}"""));
        Json.Equal("\"Data to encode\"", await EvalAsync("States.Base64Decode($.s)", """{"s": "RGF0YSB0byBlbmNvZGU="}"""));
        Json.Equal("\"b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9\"",
            await EvalAsync("States.Hash($.s, 'SHA-256')", """{"s": "hello world"}"""));
        Json.Equal("""["1", "2", "3"]""", await EvalAsync("States.StringSplit($.s, ',')", """{"s": "1,2,3"}"""));
        Json.Equal("""{"a": 1, "b": 3, "c": 4}""", await EvalAsync("States.JsonMerge($.x, $.y, false)", """{"x": {"a": 1, "b": 2}, "y": {"b": 3, "c": 4}}"""));
    }

    [Fact]
    public async Task UUID_is_a_v4_uuid()
    {
        var v = (await EvalAsync("States.UUID()", "{}"))!.GetValue<string>();
        Assert.True(Guid.TryParse(v, out var g));
        Assert.Equal(4, g.Version);
    }

    [Fact]
    public async Task A_bad_argument_is_States_IntrinsicFailure()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("i", Json.Machine("P", """
            "P": {"Type": "Pass", "Parameters": {"v.$": "States.ArrayGetItem($.a, 9)"}, "End": true}
            """));
        var result = await h.RunAsync("i", """{"a": [1]}""");
        Assert.Equal(ExecutionStatus.Failed, result.Status);
        Assert.Equal("States.IntrinsicFailure", result.Error);
    }

    [Fact]
    public void An_unknown_function_is_rejected_when_the_definition_loads() =>
        Assert.Throws<InvalidDefinitionException>(() => new WorkflowDefinitions().Add("i", Json.Machine("P", """
            "P": {"Type": "Pass", "Parameters": {"v.$": "States.Nope($.a)"}, "End": true}
            """)));
}
