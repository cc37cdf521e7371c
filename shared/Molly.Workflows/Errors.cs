namespace Molly.Workflows;

/// <summary>The error names the States Language reserves (spec, "Errors"), plus the matching rules of Retry/Catch.</summary>
public static class StatesErrors
{
    public const string All = "States.ALL";
    public const string TaskFailed = "States.TaskFailed";
    public const string Timeout = "States.Timeout";
    public const string HeartbeatTimeout = "States.HeartbeatTimeout";
    public const string Runtime = "States.Runtime";
    public const string BranchFailed = "States.BranchFailed";
    public const string NoChoiceMatched = "States.NoChoiceMatched";
    public const string ParameterPathFailure = "States.ParameterPathFailure";
    public const string ResultPathMatchFailure = "States.ResultPathMatchFailure";
    public const string IntrinsicFailure = "States.IntrinsicFailure";
    public const string DataLimitExceeded = "States.DataLimitExceeded";

    /// <summary>
    /// Whether one ErrorEquals name matches <paramref name="error"/>. States.ALL matches everything except the terminal
    /// States.Runtime and States.DataLimitExceeded; States.TaskFailed matches every error except States.Timeout (and the
    /// heartbeat timeout, a kind of it); States.Timeout also matches States.HeartbeatTimeout.
    /// </summary>
    public static bool Matches(string pattern, string error)
    {
        if (IsTerminal(error)) return false;
        return pattern switch
        {
            All => true,
            TaskFailed => error is not (Timeout or HeartbeatTimeout),
            Timeout => error is Timeout or HeartbeatTimeout,
            _ => string.Equals(pattern, error, StringComparison.Ordinal),
        };
    }

    /// <summary>Errors no Retry or Catch can handle: the execution fails.</summary>
    public static bool IsTerminal(string error) => error is Runtime or DataLimitExceeded;
}

/// <summary>A States Language error: a name and an optional cause. Thrown inside the engine and by task handlers.</summary>
public class WorkflowErrorException(string error, string? cause = null, Exception? inner = null)
    : Exception($"{error}: {cause}", inner)
{
    public string Error { get; } = error;
    public string? Cause { get; } = cause;
}

/// <summary>The definition is not valid ASL for this engine (raised when a workflow is loaded, never mid-execution).</summary>
public sealed class InvalidDefinitionException(string message) : Exception(message);

internal static class JsonNumber
{
    /// <summary>
    /// The value of a JSON number, whether the node was parsed or built in memory (a JsonValue holding an int cannot be
    /// read with GetValue&lt;double&gt;, so read its JSON text).
    /// </summary>
    public static bool TryGetDouble(System.Text.Json.Nodes.JsonNode? node, out double value)
    {
        value = 0;
        return node is System.Text.Json.Nodes.JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Number
            && double.TryParse(v.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out value);
    }
}
