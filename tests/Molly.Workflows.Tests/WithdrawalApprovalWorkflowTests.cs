using System.Text.Json.Nodes;
using Xunit;

namespace Molly.Workflows.Tests;

/// <summary>workflows/withdrawal-approval.asl.json with test handlers: 1, 2 or 3 approval levels by amount, as task tokens.</summary>
public sealed class WithdrawalApprovalWorkflowTests
{
    private sealed class Approvals
    {
        public readonly List<(int Level, int Of, string Token, JsonNode? Exclude)> Requests = [];
        public readonly List<string> Calls = [];
    }

    private static async Task<(Harness, Approvals)> CreateAsync(string screening = "clear")
    {
        var h = await Harness.CreateAsync();
        h.Definitions.Add("withdrawal-approval", File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "workflows", "withdrawal-approval.asl.json")));
        var a = new Approvals();
        h.Handler("ScreenWithdrawal", _ => { a.Calls.Add("Screen"); return new JsonObject { ["decision"] = screening }; })
            .Handler("SignWithdrawal", _ => { a.Calls.Add("Sign"); return new JsonObject { ["signedTx"] = "0x02f8" }; })
            .Handler("BroadcastWithdrawal", _ => { a.Calls.Add("Broadcast"); return new JsonObject { ["txHash"] = "0xfeed" }; })
            .Handler("ReleaseWithdrawalHold", _ => { a.Calls.Add("Release"); return new JsonObject(); });
        h.Handlers.Add("RequestApproval", (input, ctx, _) =>
        {
            lock (a) a.Requests.Add((input!["level"]!.GetValue<int>(), input["of"]!.GetValue<int>(), input["taskToken"]!.GetValue<string>(), input["excludeApprovers"]?.DeepClone()));
            return Task.FromResult<JsonNode?>(null);
        });
        return (h, a);
    }

    private static string Input(int usd) =>
        $$"""{"withdrawalId": "w1", "merchantId": "m1", "asset": "USDT-ETH", "amount": "{{usd}}000000", "amountUsd": {{usd}}}""";

    [Theory]
    [InlineData(500, 1)]
    [InlineData(50_000, 2)]
    [InlineData(250_000, 3)]
    public async Task The_amount_chooses_the_number_of_approval_levels(int usd, int levels)
    {
        var (h, a) = await CreateAsync();
        await using var _ = h;
        await h.RunAsync("withdrawal-approval", Input(usd), name: "w");
        for (var level = 1; level <= levels; level++)
        {
            Assert.Equal(ExecutionStatus.Running, (await h.DescribeAsync("withdrawal-approval:w")).Status);
            var request = a.Requests[level - 1];
            Assert.Equal((level, levels), (request.Level, request.Of));
            await h.Engine.SendTaskSuccessAsync(request.Token, JsonNode.Parse($$"""{"approved": true, "approver": "approver{{level}}"}"""));
            await h.Engine.RunUntilIdleAsync();
        }
        var done = await h.DescribeAsync("withdrawal-approval:w");
        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        Json.Equal($$"""{"withdrawalId": "w1", "status": "broadcast", "txHash": "0xfeed", "levels": {{levels}}}""", done.Output);
        Assert.Equal(levels, a.Requests.Count);
        if (levels == 3) Json.Equal("""["approver1", "approver2"]""", a.Requests[2].Exclude);
        Assert.Equal(["Screen", "Sign", "Broadcast"], a.Calls);
    }

    [Fact]
    public async Task A_rejection_at_level_two_releases_the_hold_and_never_signs()
    {
        var (h, a) = await CreateAsync();
        await using var _ = h;
        await h.RunAsync("withdrawal-approval", Input(50_000), name: "r");
        await h.Engine.SendTaskSuccessAsync(a.Requests[0].Token, JsonNode.Parse("""{"approved": true, "approver": "alice"}"""));
        await h.Engine.RunUntilIdleAsync();
        await h.Engine.SendTaskSuccessAsync(a.Requests[1].Token, JsonNode.Parse("""{"approved": false, "approver": "bob"}"""));
        await h.Engine.RunUntilIdleAsync();
        var done = await h.DescribeAsync("withdrawal-approval:r");
        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        Assert.Equal("rejected", done.Output!["status"]!.GetValue<string>());
        Assert.Equal("Molly.ApprovalRejected", done.Output["reason"]!["Error"]!.GetValue<string>());
        Assert.Equal(["Screen", "Release"], a.Calls);
    }

    [Fact]
    public async Task An_approval_that_is_never_answered_expires_after_three_days()
    {
        var (h, a) = await CreateAsync();
        await using var _ = h;
        await h.RunAsync("withdrawal-approval", Input(500), name: "x");
        await h.AdvanceAsync(TimeSpan.FromDays(3));
        var done = await h.DescribeAsync("withdrawal-approval:x");
        Assert.Equal("States.Timeout", done.Output!["reason"]!["Error"]!.GetValue<string>());
        Assert.Equal(["Screen", "Release"], a.Calls);
        await Assert.ThrowsAsync<TaskTokenException>(() => h.Engine.SendTaskSuccessAsync(a.Requests[0].Token, new JsonObject()));
    }

    [Fact]
    public async Task A_screening_refusal_releases_the_hold_without_asking_approvers()
    {
        var (h, a) = await CreateAsync(screening: "refer");
        await using var _ = h;
        var r = await h.RunAsync("withdrawal-approval", Input(500), name: "s");
        Assert.Equal("Molly.ScreeningRefused", r.Output!["reason"]!["Error"]!.GetValue<string>());
        Assert.Empty(a.Requests);
    }
}
