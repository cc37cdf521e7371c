using Microsoft.Extensions.Hosting;

namespace Molly.Workflows;

/// <summary>Runs <see cref="WorkflowEngine.RunAsync"/> for the life of the local host.</summary>
public sealed class WorkflowEngineService(WorkflowEngine engine) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => engine.RunAsync(stoppingToken);
}
