using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Molly.Storage;
using Xunit;

namespace Molly.Workflows.Tests;

/// <summary>.waitForTaskToken: success, failure, heartbeats and their timeout, tokens stored only hashed.</summary>
public sealed class TaskTokenTests
{
    private const string Approve = """
        "Approve": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
          "Parameters": {"FunctionName": "${AskArn}", "Payload": {"who.$": "$.who", "token.$": "$$.Task.Token"}},
          "ResultPath": "$.answer", HEARTBEAT
          "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}], "Next": "Done"},
        "Done": {"Type": "Succeed"},
        "Failed": {"Type": "Succeed"}
        """;

    private static (Harness, List<string>) Setup(Harness h, string heartbeat = "")
    {
        var tokens = new List<string>();
        h.Workflow("a", Json.Machine("Approve", Approve.Replace("HEARTBEAT", heartbeat)));
        h.Handlers.Add("Ask", (input, ctx, _) =>
        {
            Assert.Equal(ctx.TaskToken, input!["token"]!.GetValue<string>());
            lock (tokens) tokens.Add(ctx.TaskToken!);
            return Task.FromResult<JsonNode?>(new JsonObject { ["ignored"] = true });
        });
        return (h, tokens);
    }

    [Theory]
    [InlineData(StoreKind.Sqlite)]
    [InlineData(StoreKind.DynamoDb)]
    public async Task SendTaskSuccess_resumes_with_the_output_at_ResultPath(StoreKind kind)
    {
        await using var h = await Harness.CreateAsync(kind);
        var (_, tokens) = Setup(h);
        var r = await h.RunAsync("a", """{"who": "alice"}""", name: "s");
        Assert.Equal(ExecutionStatus.Running, r.Status);
        var token = Assert.Single(tokens);
        Assert.True(token.Length >= 43); // 256 random bits

        await h.Engine.SendTaskSuccessAsync(token, JsonNode.Parse("""{"approved": true, "approver": "bob"}"""));
        await h.Engine.RunUntilIdleAsync();
        var done = await h.DescribeAsync("a:s");
        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        Json.Equal("""{"who": "alice", "answer": {"approved": true, "approver": "bob"}}""", done.Output);

        var late = await Assert.ThrowsAsync<TaskTokenException>(() => h.Engine.SendTaskSuccessAsync(token, new JsonObject()));
        Assert.Equal("TaskTimedOut", late.Code);
    }

    [Fact]
    public async Task SendTaskFailure_goes_through_Catch_with_the_error_name()
    {
        await using var h = await Harness.CreateAsync();
        var (_, tokens) = Setup(h);
        await h.RunAsync("a", """{"who": "alice"}""", name: "f");
        await h.Engine.SendTaskFailureAsync(tokens[0], "Molly.Rejected", "no way");
        await h.Engine.RunUntilIdleAsync();
        var done = await h.DescribeAsync("a:f");
        Json.Equal("""{"who": "alice", "error": {"Error": "Molly.Rejected", "Cause": "no way"}}""", done.Output);
    }

    [Fact]
    public async Task A_missed_heartbeat_is_States_HeartbeatTimeout_and_heartbeats_keep_the_task_alive()
    {
        await using var h = await Harness.CreateAsync();
        var (_, tokens) = Setup(h, "\"HeartbeatSeconds\": 60, \"TimeoutSeconds\": 3600,");
        await h.RunAsync("a", """{"who": "alice"}""", name: "hb");
        for (var i = 0; i < 5; i++)
        {
            await h.AdvanceAsync(TimeSpan.FromSeconds(50));
            await h.Engine.SendTaskHeartbeatAsync(tokens[0]);
        }
        Assert.Equal(ExecutionStatus.Running, (await h.DescribeAsync("a:hb")).Status); // 250 s > 60 s, kept alive
        await h.AdvanceAsync(TimeSpan.FromSeconds(60));
        var done = await h.DescribeAsync("a:hb");
        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        Assert.Equal("States.HeartbeatTimeout", done.Output!["error"]!["Error"]!.GetValue<string>());
        await Assert.ThrowsAsync<TaskTokenException>(() => h.Engine.SendTaskHeartbeatAsync(tokens[0]));
    }

    [Fact]
    public async Task TimeoutSeconds_bounds_a_token_wait()
    {
        await using var h = await Harness.CreateAsync();
        Setup(h, "\"TimeoutSeconds\": 100,");
        await h.RunAsync("a", """{"who": "alice"}""", name: "to");
        await h.AdvanceAsync(TimeSpan.FromSeconds(99));
        Assert.Equal(ExecutionStatus.Running, (await h.DescribeAsync("a:to")).Status);
        await h.AdvanceAsync(TimeSpan.FromSeconds(1));
        Assert.Equal("States.Timeout", (await h.DescribeAsync("a:to")).Output!["error"]!["Error"]!.GetValue<string>());
    }

    [Fact]
    public async Task Tokens_are_stored_only_as_a_hash_and_unknown_tokens_are_refused()
    {
        await using var h = await Harness.CreateAsync();
        var (_, tokens) = Setup(h);
        await h.RunAsync("a", """{"who": "alice"}""", name: "hash");
        var token = tokens[0];
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        Assert.NotNull(await h.Store.GetAsync(new ItemKey("wftok#" + hash, "token")));
        Assert.Null(await h.Store.GetAsync(new ItemKey("wftok#" + token, "token")));
        var exec = await h.Store.GetAsync(new ItemKey("wfx#a:hash", "exec"));
        Assert.DoesNotContain(token, exec!.RequireString("data"));
        foreach (var e in await h.Engine.GetHistoryAsync("a:hash"))
            Assert.DoesNotContain(token, e.Details?.ToJsonString() ?? "");

        var unknown = await Assert.ThrowsAsync<TaskTokenException>(() => h.Engine.SendTaskSuccessAsync(token + "x", new JsonObject()));
        Assert.Equal("TaskTimedOut", unknown.Code);
        await Assert.ThrowsAsync<TaskTokenException>(() => h.Engine.SendTaskSuccessAsync("", new JsonObject()));
    }
}
