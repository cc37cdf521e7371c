using System.Text.Json.Nodes;

namespace Molly.Workflows;

/// <summary>What a task handler knows about the call. <see cref="TaskToken"/> is set for <c>.waitForTaskToken</c> tasks.</summary>
public sealed record WorkflowTaskContext(
    string ExecutionId, string ExecutionName, string Workflow, string StateName, int RetryCount, string? TaskToken);

/// <summary>
/// An in-process task handler. It may run more than once for one task (a crash between its side effect and the engine's
/// commit re-runs it; Retry re-runs it by design), so every handler must be idempotent. Throw
/// <see cref="WorkflowErrorException"/> to fail with a named error (e.g. <c>Molly.Transient</c>); any other exception is
/// reported as States.TaskFailed.
/// </summary>
public delegate Task<JsonNode?> WorkflowTaskHandler(JsonNode? input, WorkflowTaskContext context, CancellationToken ct);

/// <summary>A handler as a class, for hosts that register handlers through DI.</summary>
public interface IWorkflowTaskHandler
{
    /// <summary>The placeholder name without <c>${}</c> and without the <c>Arn</c> suffix: <c>${CheckConfirmationsArn}</c> -> CheckConfirmations.</summary>
    string Name { get; }

    Task<JsonNode?> HandleAsync(JsonNode? input, WorkflowTaskContext context, CancellationToken ct);
}

/// <summary>The host's handlers by name. The engine resolves a Task's <c>${NameArn}</c> resource to the handler <c>Name</c>.</summary>
public sealed class WorkflowTaskHandlers
{
    private readonly Dictionary<string, WorkflowTaskHandler> _handlers = new(StringComparer.Ordinal);

    public WorkflowTaskHandlers() { }

    public WorkflowTaskHandlers(IEnumerable<IWorkflowTaskHandler> handlers)
    {
        foreach (var h in handlers) Add(h);
    }

    public IEnumerable<string> Names => _handlers.Keys;

    public WorkflowTaskHandlers Add(string name, WorkflowTaskHandler handler)
    {
        if (!_handlers.TryAdd(name, handler)) throw new ArgumentException($"A handler named '{name}' is already registered.", nameof(name));
        return this;
    }

    public WorkflowTaskHandlers Add(IWorkflowTaskHandler handler) => Add(handler.Name, handler.HandleAsync);

    public bool TryGet(string name, out WorkflowTaskHandler handler) => _handlers.TryGetValue(name, out handler!);
}

/// <summary>The workflows an engine can run, by name (the ASL file name without <c>.asl.json</c>), with every Parallel branch.</summary>
public sealed class WorkflowDefinitions
{
    public const string FileSuffix = ".asl.json";

    private readonly Dictionary<string, StateMachine> _machines = new(StringComparer.Ordinal);
    private readonly HashSet<string> _workflows = new(StringComparer.Ordinal);

    public IEnumerable<string> Workflows => _workflows;

    public WorkflowDefinitions Add(string workflow, string json)
    {
        if (string.IsNullOrEmpty(workflow) || workflow.Contains('/') || workflow.Contains(':'))
            throw new ArgumentException($"Invalid workflow name '{workflow}'.", nameof(workflow));
        var machine = StateMachine.Parse(workflow, json);
        if (!_workflows.Add(workflow)) throw new ArgumentException($"Workflow '{workflow}' is already loaded.", nameof(workflow));
        foreach (var m in machine.SelfAndBranches()) _machines[m.Key] = m;
        return this;
    }

    /// <summary>Loads every <c>*.asl.json</c> of <paramref name="directory"/>.</summary>
    public static WorkflowDefinitions FromDirectory(string directory)
    {
        var defs = new WorkflowDefinitions();
        foreach (var file in Directory.GetFiles(directory, "*" + FileSuffix).Order(StringComparer.Ordinal))
            defs.Add(Path.GetFileName(file)[..^FileSuffix.Length], File.ReadAllText(file));
        return defs;
    }

    public StateMachine Get(string key) =>
        _machines.TryGetValue(key, out var m) ? m : throw new InvalidOperationException($"Unknown workflow '{key}'.");

    public bool Contains(string workflow) => _workflows.Contains(workflow);

    /// <summary>Task handler names the loaded workflows use that <paramref name="handlers"/> lacks (a host checks this at start).</summary>
    public IReadOnlyList<string> MissingHandlers(WorkflowTaskHandlers handlers) =>
        _workflows.SelectMany(w => Get(w).Tasks()).Select(t => t.Handler)
            .Where(h => !handlers.TryGet(h, out _)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
}
