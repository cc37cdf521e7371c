using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Molly.Storage;

namespace Molly.Workflows;

public static class WorkflowServiceCollectionExtensions
{
    /// <summary>
    /// The local engine for a host: the workflows of <paramref name="workflowsDirectory"/>, every registered
    /// <see cref="IWorkflowTaskHandler"/>, the <see cref="WorkflowEngine"/> singleton and the hosted service that runs it.
    /// Building the engine fails (at host start) when a workflow names a handler nobody registered.
    /// </summary>
    public static IServiceCollection AddWorkflowEngine(
        this IServiceCollection services, string workflowsDirectory, WorkflowEngineOptions? options = null)
    {
        (options ?? new WorkflowEngineOptions()).Validate();
        services.AddSingleton(_ => WorkflowDefinitions.FromDirectory(workflowsDirectory));
        services.AddSingleton(sp => new WorkflowTaskHandlers(sp.GetServices<IWorkflowTaskHandler>()));
        services.AddSingleton(sp =>
        {
            var definitions = sp.GetRequiredService<WorkflowDefinitions>();
            var handlers = sp.GetRequiredService<WorkflowTaskHandlers>();
            var missing = definitions.MissingHandlers(handlers);
            if (missing.Count > 0)
                throw new InvalidOperationException(
                    $"No IWorkflowTaskHandler registered for: {string.Join(", ", missing)} (used by {workflowsDirectory}).");
            return new WorkflowEngine(sp.GetRequiredService<IItemStore>(), definitions, handlers, sp.GetRequiredService<TimeProvider>(),
                options, sp.GetService<ILogger<WorkflowEngine>>());
        });
        services.AddHostedService<WorkflowEngineService>();
        return services;
    }
}
