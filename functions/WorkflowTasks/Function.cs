using System.Text.Json.Nodes;
using Molly.Workflows;

namespace Molly.WorkflowTasks;

/// <summary>
/// The Lambda behind every <c>${NameArn}</c> task of workflows/*.asl.json: one deployment per task (CDK sets MOLLY_TASK to
/// the handler name), the same handlers the local engine calls in-process. Thin: parse the state's input, call the
/// handler, return its result.
/// </summary>
public sealed class Function
{
    public const string TaskVariable = "MOLLY_TASK";

    private readonly string _task;
    private readonly WorkflowTaskHandler _handler;

    public Function() : this(Environment.GetEnvironmentVariable(TaskVariable)) { }

    internal Function(string? task) : this(task ?? "", TaskTable.Resolve(task)) { }

    internal Function(string task, WorkflowTaskHandler handler)
    {
        _task = task;
        _handler = handler;
    }

    /// <summary>Lambda entry point (managed dotnet10 runtime, no serializer package): JSON in, JSON out.</summary>
    public async Task<Stream> Handle(Stream input)
    {
        var node = await JsonNode.ParseAsync(input);
        var context = new WorkflowTaskContext(ExecutionId: "", ExecutionName: "", Workflow: "", StateName: _task, RetryCount: 0, TaskToken: null);
        JsonNode? result;
        try
        {
            result = await _handler(node, context, CancellationToken.None);
        }
        catch (WorkflowErrorException e)
        {
            throw TaskErrors.ForStepFunctions(e);
        }
        var output = new MemoryStream();
        await using (var writer = new System.Text.Json.Utf8JsonWriter(output))
        {
            if (result is null) writer.WriteNullValue();
            else result.WriteTo(writer);
        }
        output.Position = 0;
        return output;
    }
}

/// <summary>
/// The dispatch table: MOLLY_TASK value -> handler factory. The deposit-confirm handlers (CheckConfirmations,
/// VerifyCanonical, CreditPayment, UndoDetection, MarkForReview) and later the withdrawal ones are added here; the names
/// are the placeholders of workflows/*.asl.json without <c>${}</c> and <c>Arn</c>.
/// </summary>
internal static class TaskTable
{
    private static readonly Dictionary<string, Func<WorkflowTaskHandler>> Factories = new(StringComparer.Ordinal)
    {
    };

    public static IReadOnlyCollection<string> Names => Factories.Keys;

    public static WorkflowTaskHandler Resolve(string? task)
    {
        if (string.IsNullOrEmpty(task))
            throw new InvalidOperationException($"{Function.TaskVariable} is not set: the CDK stack sets it to the task's handler name.");
        return Factories.TryGetValue(task, out var factory)
            ? factory()
            : throw new InvalidOperationException(
                $"{Function.TaskVariable}='{task}' is not in the WorkflowTasks dispatch table (known: {string.Join(", ", Factories.Keys.Order(StringComparer.Ordinal))}).");
    }
}

/// <summary>
/// Step Functions names a Lambda error after the .NET exception's type name (no dots possible), so the contract's
/// <c>Molly.Transient</c> / <c>Molly.Permanent</c> leave this function as <see cref="MollyTransient"/> /
/// <see cref="MollyPermanent"/>; the ASL files list both spellings.
/// </summary>
public static class TaskErrors
{
    public static Exception ForStepFunctions(WorkflowErrorException e) => e.Error switch
    {
        "Molly.Transient" => new MollyTransient(e.Cause ?? "transient failure", e),
        "Molly.Permanent" => new MollyPermanent(e.Cause ?? "permanent failure", e),
        _ => e,
    };
}

public sealed class MollyTransient(string message, Exception inner) : Exception(message, inner);

public sealed class MollyPermanent(string message, Exception inner) : Exception(message, inner);
