using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Molly.Infra.Constructs;
using Xunit;

namespace Molly.Infra.Tests;

/// <summary>
/// The deposit-confirm start path in AWS: the pipe's filter and input template (as synthesised) applied to the stream records
/// of events-samples/deposit-confirm-pipe. The filter and template evaluators below cover only the pattern and template
/// features these use (exact strings, prefix; quoted and unquoted JSON paths); they are checks of our constants, not of Pipes.
/// </summary>
[Collection(StackCollection.Name)]
public sealed partial class DepositConfirmPipeTests(StackFixture stacks)
{
    private static readonly string Samples = Path.Combine(RepoPaths.Root, "events-samples", "deposit-confirm-pipe", "dynamodb-stream-records.json");

    private JsonElement Pipe() => Assert.Single(stacks.ProdWithWorkflows.Resources("AWS::Pipes::Pipe")).Resource.GetProperty("Properties");

    private static List<JsonElement> Records() => JsonDocument.Parse(File.ReadAllText(Samples)).RootElement.GetProperty("Records").EnumerateArray().ToList();

    [Fact]
    public void The_pipe_filters_on_detected_deposit_inserts_and_builds_the_contract_input()
    {
        var pipe = Pipe();
        var filter = pipe.GetProperty("SourceParameters").GetProperty("FilterCriteria").GetProperty("Filters")[0].GetProperty("Pattern").GetString()!;
        Assert.Equal(DepositConfirmStart.Filter, filter);
        Assert.Equal(DepositConfirmStart.InputTemplate, pipe.GetProperty("TargetParameters").GetProperty("InputTemplate").GetString());
        var source = pipe.GetProperty("SourceParameters").GetProperty("DynamoDBStreamParameters");
        Assert.Equal(1, source.GetProperty("BatchSize").GetInt32());
        Assert.Equal("FIRE_AND_FORGET", pipe.GetProperty("TargetParameters").GetProperty("StepFunctionStateMachineParameters").GetProperty("InvocationType").GetString());
    }

    [Fact]
    public void Only_the_insert_of_a_detected_deposit_matches_the_filter()
    {
        using var pattern = JsonDocument.Parse(DepositConfirmStart.Filter);
        var matches = Records().Select(r => Matches(pattern.RootElement, r)).ToList();
        Assert.Equal([true, false, false, false], matches); // deposit INSERT; its MODIFY; an outbox INSERT; a deposit needing review
    }

    [Fact]
    public void The_template_turns_the_new_image_into_the_deposit_confirm_input_of_the_contract()
    {
        var input = JsonNode.Parse(Apply(DepositConfirmStart.InputTemplate, Records()[0]))!.AsObject();
        var expected = JsonNode.Parse("""
            {"depositId": "eth#0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060#3",
             "paymentId": "pay_01JD3KZ8W3V4R5T6Y7U8I9O0P1", "chain": "eth",
             "txHash": "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060", "index": "3", "blockNumber": 7123456,
             "blockHash": "0x8f5bab218b6bb34476f51ca588e9f4553a3a7ce5e13a66c660a5283e97e9a85a", "asset": "USDT-ETH", "amount": "1000000"}
            """);
        Assert.True(JsonNode.DeepEquals(expected, input), input.ToJsonString());
        Assert.Equal(JsonValueKind.Number, input["blockNumber"]!.GetValueKind());
        Assert.Equal(JsonValueKind.String, input["amount"]!.GetValueKind());
    }

    [Fact]
    public void The_pipe_role_reads_the_stream_starts_the_machine_and_dead_letters_nothing_more()
    {
        var s = stacks.ProdWithWorkflows;
        var roleArn = Pipe().GetProperty("RoleArn").GetProperty("Fn::GetAtt")[0].GetString();
        var statements = s.Resources("AWS::IAM::Policy")
            .Where(p => p.Resource.GetProperty("Properties").GetProperty("Roles").EnumerateArray().Any(r => r.GetProperty("Ref").GetString() == roleArn))
            .SelectMany(p => p.Resource.GetProperty("Properties").GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray())
            .ToList();
        var actions = statements.SelectMany(st => st.GetProperty("Action").ValueKind == JsonValueKind.Array
            ? st.GetProperty("Action").EnumerateArray().Select(a => a.GetString()!) : [st.GetProperty("Action").GetString()!]).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(
            ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams",
             "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage", "states:StartExecution"],
            actions);
    }

    /// <summary>EventBridge pattern subset: an object's keys must all match; a list matches when one entry equals the value or is a {"prefix"} of it.</summary>
    private static bool Matches(JsonElement pattern, JsonElement value) => pattern.ValueKind switch
    {
        JsonValueKind.Object => pattern.EnumerateObject().All(p => value.ValueKind == JsonValueKind.Object
            && value.TryGetProperty(p.Name, out var v) && Matches(p.Value, v)),
        JsonValueKind.Array => value.ValueKind == JsonValueKind.String && pattern.EnumerateArray().Any(option => option.ValueKind switch
        {
            JsonValueKind.String => option.GetString() == value.GetString(),
            JsonValueKind.Object => value.GetString()!.StartsWith(option.GetProperty("prefix").GetString()!, StringComparison.Ordinal),
            _ => throw new NotSupportedException(option.GetRawText()),
        }),
        _ => throw new NotSupportedException(pattern.GetRawText()),
    };

    /// <summary>Replaces each &lt;$.a.b&gt; with the string at that path of the record, as the template's own quotes place it.</summary>
    private static string Apply(string template, JsonElement record) => Placeholder().Replace(template, m =>
    {
        var node = record;
        foreach (var part in m.Groups[1].Value.Split('.')) node = node.GetProperty(part);
        return node.GetString()!;
    });

    [GeneratedRegex(@"<\$\.([A-Za-z0-9_.]+)>")]
    private static partial Regex Placeholder();
}
