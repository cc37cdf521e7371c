using System.Text.Json.Nodes;
using Xunit;

namespace Molly.Workflows.Tests;

/// <summary>workflows/deposit-confirm.asl.json, the real file, run with test handlers that play the chain and the ledger.</summary>
public sealed class DepositConfirmWorkflowTests
{
    private const string Input = """
        {"depositId": "eth-0xabc-1", "paymentId": "pay_1", "chain": "eth", "txHash": "0xabc", "index": "1",
         "blockNumber": 100, "blockHash": "0xb100", "asset": "USDT-ETH", "amount": "1000000"}
        """;

    /// <summary>Scripted handlers: each call of a task pops the next scripted answer (or error) and is recorded.</summary>
    private sealed class Script
    {
        public readonly Dictionary<string, Queue<Func<JsonNode?>>> Answers = new();
        public readonly List<(string Task, JsonNode? Input)> Calls = [];

        public Script On(string task, params Func<JsonNode?>[] answers)
        {
            Answers[task] = new Queue<Func<JsonNode?>>(answers);
            return this;
        }

        public void Register(WorkflowTaskHandlers handlers)
        {
            foreach (var name in new[] { "CheckConfirmations", "VerifyCanonical", "CreditPayment", "UndoDetection", "MarkForReview" })
                handlers.Add(name, (input, _, _) =>
                {
                    lock (Calls) Calls.Add((name, input?.DeepClone()));
                    if (!Answers.TryGetValue(name, out var q) || q.Count == 0) throw new InvalidOperationException($"unscripted call to {name}");
                    return Task.FromResult(q.Count > 1 ? q.Dequeue()() : q.Peek()());
                });
        }

        public int Count(string task) => Calls.Count(c => c.Task == task);
    }

    private static JsonNode Waiting(int confirmations, int wait = 12) =>
        JsonNode.Parse($$"""{"state": "waiting", "confirmations": {{confirmations}}, "required": 12, "waitSeconds": {{wait}}}""")!;

    private static readonly Func<JsonNode?> Confirmed = () => JsonNode.Parse("""{"state": "confirmed", "confirmations": 12, "required": 12, "waitSeconds": 0}""");
    private static readonly Func<JsonNode?> Orphaned = () => JsonNode.Parse("""{"state": "orphaned", "confirmations": 0, "required": 12, "waitSeconds": 0}""");
    private static readonly Func<JsonNode?> Canonical = () => JsonNode.Parse("""{"canonical": true}""");
    private static readonly Func<JsonNode?> NotCanonical = () => JsonNode.Parse("""{"canonical": false}""");
    private static readonly Func<JsonNode?> Paid = () => JsonNode.Parse("""{"paymentId": "pay_1", "paymentStatus": "paid", "transferId": "t1"}""");
    private static readonly Func<JsonNode?> Undone = () => JsonNode.Parse("""{"paymentId": "pay_1", "paymentStatus": "created"}""");
    private static readonly Func<JsonNode?> Reviewed = () => new JsonObject();

    private static async Task<Harness> CreateAsync(Script script)
    {
        var h = await Harness.CreateAsync();
        h.Definitions.Add("deposit-confirm", File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "workflows", "deposit-confirm.asl.json")));
        script.Register(h.Handlers);
        return h;
    }

    [Fact]
    public async Task Paid_path_waits_for_confirmations_verifies_then_credits_once()
    {
        var script = new Script()
            .On("CheckConfirmations", () => Waiting(3), () => Waiting(9, wait: 36), Confirmed)
            .On("VerifyCanonical", Canonical)
            .On("CreditPayment", Paid);
        await using var h = await CreateAsync(script);
        var r = await h.RunAsync("deposit-confirm", Input, name: "eth-0xabc-1");
        Assert.Equal(ExecutionStatus.Running, r.Status);
        Assert.Equal("WaitForConfirmations", r.CurrentState);
        await h.AdvanceAsync(TimeSpan.FromSeconds(11));
        Assert.Equal(1, script.Count("CheckConfirmations")); // the Wait holds for waitSeconds
        await h.AdvanceAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(2, script.Count("CheckConfirmations"));
        await h.AdvanceAsync(TimeSpan.FromSeconds(36));
        var done = await h.DescribeAsync("deposit-confirm:eth-0xabc-1");
        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        Json.Equal("""{"paymentId": "pay_1", "paymentStatus": "paid", "transferId": "t1"}""", done.Output);
        Assert.Equal(["CheckConfirmations", "CheckConfirmations", "CheckConfirmations", "VerifyCanonical", "CreditPayment"], script.Calls.Select(c => c.Task));
        Assert.All(script.Calls, c => Json.Equal("""{"depositId": "eth-0xabc-1"}""", c.Input));
    }

    [Fact]
    public async Task Orphaned_deposit_undoes_the_detection_and_never_credits()
    {
        var script = new Script().On("CheckConfirmations", () => Waiting(2), Orphaned).On("UndoDetection", Undone);
        await using var h = await CreateAsync(script);
        await h.RunAsync("deposit-confirm", Input, name: "o");
        await h.AdvanceAsync(TimeSpan.FromSeconds(12));
        var done = await h.DescribeAsync("deposit-confirm:o");
        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        Json.Equal("""{"paymentId": "pay_1", "paymentStatus": "created"}""", done.Output);
        Assert.Equal(0, script.Count("CreditPayment"));
        Assert.Equal(0, script.Count("VerifyCanonical"));
    }

    [Fact]
    public async Task A_reorg_seen_by_the_final_check_undoes_instead_of_crediting()
    {
        var script = new Script().On("CheckConfirmations", Confirmed).On("VerifyCanonical", NotCanonical).On("UndoDetection", Undone);
        await using var h = await CreateAsync(script);
        var r = await h.RunAsync("deposit-confirm", Input, name: "reorg");
        Assert.Equal(ExecutionStatus.Succeeded, r.Status);
        Assert.Equal(0, script.Count("CreditPayment"));
        Assert.Equal(1, script.Count("UndoDetection"));
    }

    [Fact]
    public async Task Transient_errors_are_retried_with_backoff_and_then_the_deposit_is_credited()
    {
        var script = new Script()
            .On("CheckConfirmations", Confirmed)
            .On("VerifyCanonical", () => throw new WorkflowErrorException("Molly.Transient", "rpc timeout"),
                () => throw new WorkflowErrorException("Molly.Transient", "rpc timeout"), Canonical)
            .On("CreditPayment", Paid);
        await using var h = await CreateAsync(script);
        await h.RunAsync("deposit-confirm", Input, name: "t");
        for (var i = 0; i < 4; i++) await h.AdvanceAsync(TimeSpan.FromSeconds(4)); // FULL jitter: each delay <= 2 * 2^n
        var done = await h.DescribeAsync("deposit-confirm:t");
        Assert.Equal(ExecutionStatus.Succeeded, done.Status);
        Assert.Equal(3, script.Count("VerifyCanonical"));
        Assert.Equal(1, script.Count("CreditPayment"));
        var retries = (await h.Engine.GetHistoryAsync("deposit-confirm:t")).Where(e => e.Type == "RetryScheduled").ToList();
        Assert.Equal(2, retries.Count);
        Assert.All(retries, e => Assert.Equal(1, e.Details!["retrier"]!.GetValue<int>())); // the Molly.Transient retrier
    }

    [Fact]
    public async Task A_permanent_error_is_not_retried_and_marks_the_deposit_for_review()
    {
        var script = new Script()
            .On("CheckConfirmations", Confirmed).On("VerifyCanonical", Canonical)
            .On("CreditPayment", () => throw new WorkflowErrorException("Molly.Permanent", "payment is cancelled"))
            .On("MarkForReview", Reviewed);
        await using var h = await CreateAsync(script);
        var r = await h.RunAsync("deposit-confirm", Input, name: "p");
        Assert.Equal(ExecutionStatus.Failed, r.Status);
        Assert.Equal("Molly.NeedsReview", r.Error);
        Assert.Equal(1, script.Count("CreditPayment"));
        var review = Assert.Single(script.Calls, c => c.Task == "MarkForReview");
        Json.Equal("""{"depositId": "eth-0xabc-1", "error": {"Error": "Molly.Permanent", "Cause": "payment is cancelled"}}""", review.Input);
    }

    [Fact]
    public async Task An_unknown_handler_error_is_retried_as_TaskFailed_then_marked_for_review()
    {
        var script = new Script()
            .On("CheckConfirmations", () => throw new InvalidOperationException("bug"))
            .On("MarkForReview", Reviewed);
        await using var h = await CreateAsync(script);
        await h.RunAsync("deposit-confirm", Input, name: "bug");
        for (var i = 0; i < 4; i++) await h.AdvanceAsync(TimeSpan.FromSeconds(60));
        var done = await h.DescribeAsync("deposit-confirm:bug");
        Assert.Equal("Molly.NeedsReview", done.Error);
        Assert.Equal(4, script.Count("CheckConfirmations")); // 1 + MaxAttempts 3 of the States.TaskFailed retrier
        Assert.Equal("States.TaskFailed", script.Calls.Single(c => c.Task == "MarkForReview").Input!["error"]!["Error"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_confirmation_loop_is_bounded()
    {
        var script = new Script().On("CheckConfirmations", () => Waiting(1, wait: 0)).On("MarkForReview", Reviewed);
        await using var h = await CreateAsync(script);
        var r = await h.RunAsync("deposit-confirm", Input, name: "slow");
        Assert.Equal(ExecutionStatus.Failed, r.Status);
        Assert.True(721 == script.Count("CheckConfirmations"), r.Error + " " + r.Cause);
        var error = script.Calls.Single(c => c.Task == "MarkForReview").Input!["error"]!;
        Assert.Equal("Molly.ConfirmationsNotReached", error["Error"]!.GetValue<string>());
        Assert.Equal("Deposit eth-0xabc-1 still not confirmed after 720 checks (state waiting).", error["Cause"]!.GetValue<string>());
    }
}
