using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Molly.Workflows;

public static class ExecutionStatus
{
    public const string Running = "RUNNING";
    public const string Succeeded = "SUCCEEDED";
    public const string Failed = "FAILED";
    public const string Aborted = "ABORTED";
    public const string TimedOut = "TIMED_OUT";
}

/// <summary>Where an execution is inside its current state.</summary>
internal static class Phase
{
    /// <summary>Runnable: the state runs (again, for a retry) once <see cref="ExecutionData.WakeAt"/> (if set) has passed.</summary>
    public const string Ready = "ready";

    /// <summary>A Wait state sleeping until <see cref="ExecutionData.WakeAt"/>.</summary>
    public const string Timer = "timer";

    /// <summary>Waiting for a task token callback or for Parallel branches; woken by them or by a timeout deadline.</summary>
    public const string Waiting = "waiting";
}

/// <summary>The persisted state of one execution (one item; its history events are separate items in the same partition).</summary>
internal sealed class ExecutionData
{
    public required string Id { get; set; }
    public required string Workflow { get; set; }
    public required string Machine { get; set; }
    public required string Name { get; set; }
    public string? ParentId { get; set; }
    public int BranchIndex { get; set; }
    public long ParentGen { get; set; }

    /// <summary>The top-level execution's id, name, input and start (the context object's $$.Execution for branches too).</summary>
    public required string RootId { get; set; }
    public required string RootName { get; set; }
    public JsonNode? RootInput { get; set; }
    public DateTimeOffset RootStart { get; set; }

    public JsonNode? Input { get; set; }
    public DateTimeOffset StartDate { get; set; }
    public string Status { get; set; } = ExecutionStatus.Running;
    public JsonNode? Output { get; set; }
    public string? Error { get; set; }
    public string? Cause { get; set; }
    public DateTimeOffset? StopDate { get; set; }

    public string? State { get; set; }
    public JsonNode? StateInput { get; set; }
    public DateTimeOffset EnteredTime { get; set; }
    public string Phase { get; set; } = Workflows.Phase.Ready;
    public DateTimeOffset? WakeAt { get; set; }

    /// <summary>Bumped on every state entry and every retry attempt: names the current attempt's children and tokens.</summary>
    public long Gen { get; set; }

    public int RetryCount { get; set; }
    public Dictionary<string, int>? RetriesByRetrier { get; set; }
    public List<string>? TokenHashes { get; set; }
    public DateTimeOffset? TimeoutAt { get; set; }
    public DateTimeOffset? HeartbeatAt { get; set; }
    public int? HeartbeatSeconds { get; set; }
    public JsonArray? BranchResults { get; set; }
    public int BranchesDone { get; set; }

    /// <summary>A Parallel state whose branch executions are still being created (see WorkflowEngine.SpawnBranchesAsync).</summary>
    public bool SpawnPending { get; set; }

    /// <summary>StartDate + the definition's top-level TimeoutSeconds: the execution times out then, whatever it waits for.</summary>
    public DateTimeOffset? Deadline { get; set; }

    /// <summary>The number of the last history event written.</summary>
    public long EventSeq { get; set; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ExecutionData))]
internal sealed partial class WorkflowJsonContext : JsonSerializerContext;

/// <summary>What <see cref="WorkflowEngine.DescribeAsync"/> returns.</summary>
public sealed record ExecutionDescription(
    string ExecutionId, string Workflow, string Name, string Status, JsonNode? Input, JsonNode? Output,
    string? Error, string? Cause, DateTimeOffset StartDate, DateTimeOffset? StopDate, string? CurrentState)
{
    /// <summary>Running and parked on a <c>.waitForTaskToken</c> task: only a SendTask* call (or its timeout) moves it.</summary>
    public bool AwaitingTaskToken { get; init; }
}

/// <summary>One history event: its number, type (Step Functions' names), time, state and details.</summary>
public sealed record HistoryEvent(long Id, string Type, DateTimeOffset Timestamp, string? State, JsonNode? Details);

public sealed record StartExecutionResult(string ExecutionId, bool Started, DateTimeOffset StartDate);

/// <summary>StartExecution with an existing name and a different input (Step Functions' ExecutionAlreadyExists).</summary>
public sealed class ExecutionAlreadyExistsException(string id) : Exception($"Execution '{id}' already exists with a different input.")
{
    public string ExecutionId { get; } = id;
}

/// <summary>A task token callback that cannot apply: <see cref="Code"/> is InvalidToken or TaskTimedOut (Step Functions' names).</summary>
public sealed class TaskTokenException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}

internal static class JsonText
{
    public static string Serialize(ExecutionData d) => JsonSerializer.Serialize(d, WorkflowJsonContext.Default.ExecutionData);

    public static ExecutionData Deserialize(string json) =>
        JsonSerializer.Deserialize(json, WorkflowJsonContext.Default.ExecutionData) ?? throw new InvalidOperationException("Empty execution record.");
}
