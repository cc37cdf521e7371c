using System.Text;
using System.Text.Json.Nodes;
using Molly.WorkflowTasks;
using Xunit;

namespace Molly.Workflows.Tests;

/// <summary>functions/WorkflowTasks: the Lambda entry that runs one task handler chosen by MOLLY_TASK.</summary>
public sealed class WorkflowTasksFunctionTests
{
    private static Stream Utf8(string s) => new MemoryStream(Encoding.UTF8.GetBytes(s));

    [Fact]
    public async Task Passes_the_state_input_to_the_handler_and_returns_its_result()
    {
        var function = new Function("Echo", (input, ctx, _) =>
            Task.FromResult<JsonNode?>(new JsonObject { ["got"] = input?.DeepClone(), ["task"] = ctx.StateName }));
        var output = await function.Handle(Utf8("""{"depositId": "d1"}"""));
        Json.Equal("""{"got": {"depositId": "d1"}, "task": "Echo"}""", await JsonNode.ParseAsync(output));
    }

    [Theory]
    [InlineData("Molly.Transient", "MollyTransient")]
    [InlineData("Molly.Permanent", "MollyPermanent")]
    [InlineData("Molly.Other", "WorkflowErrorException")]
    public async Task Contract_errors_leave_as_exception_types_whose_names_Step_Functions_can_match(string error, string typeName)
    {
        var function = new Function("T", (_, _, _) => throw new WorkflowErrorException(error, "why"));
        var e = await Assert.ThrowsAnyAsync<Exception>(() => function.Handle(Utf8("{}")));
        Assert.Equal(typeName, e.GetType().Name); // Lambda's errorType is the exception's type name
        Assert.Contains("why", e.Message);
    }

    [Fact]
    public void An_unknown_or_missing_MOLLY_TASK_fails_at_start_naming_it()
    {
        Assert.Contains("'Nope'", Assert.Throws<InvalidOperationException>(() => new Function("Nope")).Message);
        Assert.Contains("MOLLY_TASK", Assert.Throws<InvalidOperationException>(() => new Function((string?)null)).Message);
    }

    [Fact]
    public void Every_retrier_on_a_contract_error_also_names_its_Lambda_spelling()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "workflows"), "*.asl.json"))
        {
            var lists = JsonNode.Parse(File.ReadAllText(file))!.AsObject()["States"]!.AsObject()
                .SelectMany(s => (s.Value!["Retry"]?.AsArray() ?? []).Concat(s.Value!["Catch"]?.AsArray() ?? []))
                .Select(r => r!["ErrorEquals"]!.AsArray().Select(x => x!.GetValue<string>()).ToList());
            foreach (var names in lists)
            {
                if (names.Contains("Molly.Transient")) Assert.Contains("MollyTransient", names);
                if (names.Contains("Molly.Permanent")) Assert.Contains("MollyPermanent", names);
            }
        }
    }
}

public sealed class WorkflowTasksEventSampleTests
{
    [Fact]
    public async Task Each_event_sample_is_what_deposit_confirm_passes_to_that_task()
    {
        var samples = Path.Combine(AppContext.BaseDirectory, "events-samples", "workflow-tasks");
        var files = Directory.GetFiles(samples, "*.json");
        Assert.Equal(5, files.Length);
        foreach (var file in files)
        {
            var task = Path.GetFileNameWithoutExtension(file);
            await using var h = await Harness.CreateAsync();
            h.Definitions.Add("deposit-confirm", File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "workflows", "deposit-confirm.asl.json")));
            var seen = new Dictionary<string, JsonNode?>();
            JsonNode? Answer(string name, JsonNode? input)
            {
                seen.TryAdd(name, input?.DeepClone());
                return name switch
                {
                    "CheckConfirmations" => JsonNode.Parse(task == "UndoDetection" ? """{"state": "orphaned"}""" : """{"state": "confirmed"}"""),
                    "VerifyCanonical" => JsonNode.Parse("""{"canonical": true}"""),
                    "CreditPayment" when task == "MarkForReview" => throw new WorkflowErrorException("Molly.Permanent", "payment is cancelled"),
                    _ => new JsonObject(),
                };
            }
            foreach (var name in new[] { "CheckConfirmations", "VerifyCanonical", "CreditPayment", "UndoDetection", "MarkForReview" })
                h.Handlers.Add(name, (input, _, _) => Task.FromResult(Answer(name, input)));
            await h.RunAsync("deposit-confirm", """
                {"depositId": "eth-0xabc-1", "paymentId": "pay_1", "chain": "eth", "txHash": "0xabc", "index": "1",
                 "blockNumber": 100, "blockHash": "0xb100", "asset": "USDT-ETH", "amount": "1000000"}
                """);
            Assert.True(seen.ContainsKey(task), $"{task} was not called");
            Json.Equal(File.ReadAllText(file), seen[task]);

            // And the Lambda entry accepts it.
            var output = await new Molly.WorkflowTasks.Function(task, (input, _, _) => Task.FromResult(input)).Handle(File.OpenRead(file));
            Json.Equal(File.ReadAllText(file), await JsonNode.ParseAsync(output));
        }
    }
}
