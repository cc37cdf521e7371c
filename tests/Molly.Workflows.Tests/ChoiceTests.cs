using System.Text.Json.Nodes;
using Xunit;

namespace Molly.Workflows.Tests;

public sealed class ChoiceTests
{
    // The spec's Choice example ("Choice State"), with the targets as Succeed states that tag the output.
    private const string SpecChoice = """
        "ChoiceStateX": {"Type": "Choice", "Choices": [
            {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
            {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
            {"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 20}, {"Variable": "$.value", "NumericLessThan": 30}], "Next": "ValueInTwenties"}
          ], "Default": "DefaultState"},
        "Public": {"Type": "Pass", "Result": "Public", "End": true},
        "ValueIsZero": {"Type": "Pass", "Result": "ValueIsZero", "End": true},
        "ValueInTwenties": {"Type": "Pass", "Result": "ValueInTwenties", "End": true},
        "DefaultState": {"Type": "Pass", "Result": "DefaultState", "End": true}
        """;

    [Theory]
    [InlineData("""{"type": "Public", "value": 0}""", "Public")]
    [InlineData("""{"type": "Private", "value": 0}""", "ValueIsZero")]
    [InlineData("""{"type": "Private", "value": 25}""", "ValueInTwenties")]
    [InlineData("""{"type": "Private", "value": 30}""", "DefaultState")]
    [InlineData("""{"type": "Private", "value": 19.5}""", "DefaultState")]
    public async Task Spec_choice_example(string input, string expected)
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("c", Json.Machine("ChoiceStateX", SpecChoice));
        var result = await h.RunAsync("c", input);
        Assert.Equal(expected, result.Output!.GetValue<string>());
    }

    [Theory]
    [InlineData("""{"Variable": "$.s", "StringEquals": "abc"}""", true)]
    [InlineData("""{"Variable": "$.s", "StringLessThan": "abd"}""", true)]
    [InlineData("""{"Variable": "$.s", "StringGreaterThan": "abc"}""", false)]
    [InlineData("""{"Variable": "$.s", "StringGreaterThanEquals": "abc"}""", true)]
    [InlineData("""{"Variable": "$.s", "StringLessThanEquals": "abb"}""", false)]
    [InlineData("""{"Variable": "$.file", "StringMatches": "log-*.txt"}""", true)]
    [InlineData("""{"Variable": "$.file", "StringMatches": "*.csv"}""", false)]
    [InlineData("""{"Variable": "$.star", "StringMatches": "a\\*b"}""", true)]
    [InlineData("""{"Variable": "$.s", "StringEqualsPath": "$.s2"}""", true)]
    [InlineData("""{"Variable": "$.n", "NumericEquals": 1000000000000000000001}""", true)]
    [InlineData("""{"Variable": "$.n", "NumericGreaterThan": 1000000000000000000000}""", true)]
    [InlineData("""{"Variable": "$.n", "NumericLessThanPath": "$.big"}""", true)]
    [InlineData("""{"Variable": "$.n", "NumericGreaterThanEqualsPath": "$.big"}""", false)]
    [InlineData("""{"Variable": "$.s", "NumericEquals": 1}""", false)]
    [InlineData("""{"Variable": "$.b", "BooleanEquals": false}""", true)]
    [InlineData("""{"Variable": "$.b", "BooleanEqualsPath": "$.t"}""", false)]
    [InlineData("""{"Variable": "$.ts", "TimestampEquals": "2026-01-02T03:04:05Z"}""", true)]
    [InlineData("""{"Variable": "$.ts", "TimestampLessThan": "2026-01-02T03:04:06Z"}""", true)]
    [InlineData("""{"Variable": "$.ts", "TimestampGreaterThanPath": "$.ts2"}""", false)]
    [InlineData("""{"Variable": "$.ts", "TimestampLessThanEqualsPath": "$.ts2"}""", true)]
    [InlineData("""{"Variable": "$.nil", "IsNull": true}""", true)]
    [InlineData("""{"Variable": "$.s", "IsNull": true}""", false)]
    [InlineData("""{"Variable": "$.missing", "IsPresent": false}""", true)]
    [InlineData("""{"Variable": "$.nil", "IsPresent": true}""", true)]
    [InlineData("""{"Variable": "$.n", "IsNumeric": true}""", true)]
    [InlineData("""{"Variable": "$.s", "IsString": true}""", true)]
    [InlineData("""{"Variable": "$.b", "IsBoolean": true}""", true)]
    [InlineData("""{"Variable": "$.ts", "IsTimestamp": true}""", true)]
    [InlineData("""{"Variable": "$.s", "IsTimestamp": true}""", false)]
    [InlineData("""{"Or": [{"Variable": "$.s", "StringEquals": "x"}, {"Variable": "$.b", "BooleanEquals": false}]}""", true)]
    [InlineData("""{"And": [{"Variable": "$.s", "StringEquals": "abc"}, {"Not": {"Variable": "$.b", "BooleanEquals": false}}]}""", false)]
    public async Task Comparison_operators(string rule, bool matches)
    {
        await using var h = await Harness.CreateAsync();
        var ruleWithNext = JsonNode.Parse(rule)!.AsObject();
        ruleWithNext["Next"] = "Yes";
        h.Workflow("c", Json.Machine("C", $$"""
            "C": {"Type": "Choice", "Choices": [{{ruleWithNext.ToJsonString()}}], "Default": "No"},
            "Yes": {"Type": "Pass", "Result": true, "End": true},
            "No": {"Type": "Pass", "Result": false, "End": true}
            """));
        var result = await h.RunAsync("c", """
            {"s": "abc", "s2": "abc", "file": "log-2026.txt", "star": "a*b", "n": 1000000000000000000001, "big": 1000000000000000000002,
             "b": false, "t": true, "ts": "2026-01-02T03:04:05Z", "ts2": "2026-01-02T03:04:05+00:00", "nil": null}
            """);
        Assert.Equal(ExecutionStatus.Succeeded, result.Status);
        Assert.Equal(matches, result.Output!.GetValue<bool>());
    }

    [Fact]
    public async Task No_match_and_no_Default_fails_with_NoChoiceMatched()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("c", Json.Machine("C", """
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "Y"}]},
            "Y": {"Type": "Succeed"}
            """));
        var result = await h.RunAsync("c", """{"x": 2}""");
        Assert.Equal(ExecutionStatus.Failed, result.Status);
        Assert.Equal("States.NoChoiceMatched", result.Error);
    }

    [Fact]
    public async Task A_Variable_that_matches_nothing_is_a_runtime_error()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("c", Json.Machine("C", """
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.nope", "NumericEquals": 1, "Next": "Y"}], "Default": "Y"},
            "Y": {"Type": "Succeed"}
            """));
        var result = await h.RunAsync("c", "{}");
        Assert.Equal(ExecutionStatus.Failed, result.Status);
        Assert.Equal("States.Runtime", result.Error);
    }

    [Fact]
    public async Task Choice_applies_InputPath_and_OutputPath()
    {
        await using var h = await Harness.CreateAsync();
        h.Workflow("c", Json.Machine("C", """
            "C": {"Type": "Choice", "InputPath": "$.in", "OutputPath": "$.v", "Choices": [{"Variable": "$.v", "NumericEquals": 5, "Next": "Y"}]},
            "Y": {"Type": "Succeed"}
            """));
        var result = await h.RunAsync("c", """{"in": {"v": 5}}""");
        Json.Equal("5", result.Output);
    }
}
