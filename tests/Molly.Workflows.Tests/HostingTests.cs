using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Molly.Workflows.Tests;

public sealed class HostingTests
{
    private sealed class Named(string name) : IWorkflowTaskHandler
    {
        public string Name => name;

        public Task<JsonNode?> HandleAsync(JsonNode? input, WorkflowTaskContext context, CancellationToken ct) =>
            Task.FromResult(input);
    }

    [Fact]
    public async Task AddWorkflowEngine_refuses_to_start_without_every_handler_and_runs_with_them()
    {
        await using var h = await Harness.CreateAsync();
        var dir = Path.Combine(AppContext.BaseDirectory, "workflows");
        var services = new ServiceCollection();
        services.AddSingleton(h.Store);
        services.AddSingleton<TimeProvider>(h.Time);
        services.AddWorkflowEngine(dir);
        using (var incomplete = services.BuildServiceProvider())
        {
            var e = Assert.Throws<InvalidOperationException>(() =>
                incomplete.GetRequiredService<WorkflowEngine>());
            Assert.Contains("CheckConfirmations", e.Message);
        }
        foreach (var name in new WorkflowDefinitions().Add("d", File.ReadAllText(Path.Combine(dir, "deposit-confirm.asl.json")))
                     .Add("w", File.ReadAllText(Path.Combine(dir, "withdrawal-approval.asl.json"))).MissingHandlers(new WorkflowTaskHandlers()))
            services.AddSingleton<IWorkflowTaskHandler>(new Named(name));
        using var complete = services.BuildServiceProvider();
        var engine = complete.GetRequiredService<WorkflowEngine>();
        Assert.Contains("deposit-confirm", engine.Definitions.Workflows);
    }
}
