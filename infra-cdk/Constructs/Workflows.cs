using System.Text.Json;
using System.Text.RegularExpressions;
using Amazon.CDK;
using Amazon.CDK.AWS.DynamoDB;
using Amazon.CDK.AWS.Events;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Logs;
using Amazon.CDK.AWS.StepFunctions;
using Constructs;

namespace Molly.Infra.Constructs;

/// <summary>
/// The value of one <c>${Name}</c> placeholder in an ASL file, and the permission a state machine needs to use it.
/// The grant runs only for the workflows whose definition names the placeholder.
/// </summary>
public sealed record WorkflowBinding(string Value, Action<IGrantable>? Grant = null)
{
    public static WorkflowBinding Literal(string value) => new(value);
    public static WorkflowBinding Invoke(IFunction function) => new(function.FunctionArn, g => function.GrantInvoke(g));
    public static WorkflowBinding TableReadWrite(ITable table) => new(table.TableName, g => table.GrantReadWriteData(g));
    public static WorkflowBinding PutEvents(IEventBus bus) => new(bus.EventBusName, g => bus.GrantPutEventsTo(g));
}

public sealed class WorkflowsProps
{
    public required string EnvironmentName { get; init; }

    /// <summary>Every <c>*.asl.json</c> here becomes a Standard state machine named after the file.</summary>
    public required string Directory { get; init; }

    /// <summary>Placeholder name (without <c>${}</c>) to its value. A placeholder missing here fails the synth.</summary>
    public required IReadOnlyDictionary<string, WorkflowBinding> Bindings { get; init; }

    public required RetentionDays LogRetention { get; init; }
    public required RemovalPolicy LogRemovalPolicy { get; init; }
}

/// <summary>
/// Step Functions from workflows/*.asl.json (the single source of truth the local engine also runs): DefinitionBody from
/// the file, DefinitionSubstitutions for the ARNs and names, logging to a vended-logs group, X-Ray tracing.
/// </summary>
public sealed partial class Workflows : Construct
{
    public const string FileSuffix = ".asl.json";

    /// <summary>By workflow name: the file name without ".asl.json" (e.g. "deposit-confirm").</summary>
    public IReadOnlyDictionary<string, StateMachine> StateMachines { get; }

    public Workflows(Construct scope, string id, WorkflowsProps props) : base(scope, id)
    {
        var machines = new SortedDictionary<string, StateMachine>(StringComparer.Ordinal);
        var files = System.IO.Directory.Exists(props.Directory)
            ? System.IO.Directory.GetFiles(props.Directory, "*" + FileSuffix).Order(StringComparer.Ordinal)
            : Enumerable.Empty<string>();
        foreach (var file in files)
        {
            var name = Path.GetFileName(file)[..^FileSuffix.Length];
            var definition = File.ReadAllText(file);
            var placeholders = ValidateDefinition(name, definition, props.Bindings.Keys);

            var logGroup = new LogGroup(this, $"{name}-logs", new LogGroupProps
            {
                // The /aws/vendedlogs/ prefix keeps CloudWatch Logs' resource policy small when there are many workflows.
                LogGroupName = $"/aws/vendedlogs/states/molly-{props.EnvironmentName}-{name}",
                Retention = props.LogRetention,
                RemovalPolicy = props.LogRemovalPolicy,
            });

            var machine = new StateMachine(this, name, new StateMachineProps
            {
                StateMachineName = $"molly-{props.EnvironmentName}-{name}",
                StateMachineType = StateMachineType.STANDARD,
                // Inline (not an S3 asset): the template is self-contained, reviewable and linted as one file.
                DefinitionBody = DefinitionBody.FromString(definition),
                DefinitionSubstitutions = placeholders.ToDictionary(p => p, p => props.Bindings[p].Value),
                Logs = new LogOptions
                {
                    Destination = logGroup,
                    Level = LogLevel.ALL,
                    IncludeExecutionData = false, // execution data holds addresses and amounts: keep it out of logs
                },
                TracingEnabled = true,
            });
            foreach (var p in placeholders)
                props.Bindings[p].Grant?.Invoke(machine);
            machines[name] = machine;
        }
        StateMachines = machines;
    }

    /// <summary>
    /// Checks that <paramref name="definition"/> is an ASL object (StartAt + States) and that every <c>${Name}</c> in it has
    /// a binding. Returns the distinct placeholder names it uses.
    /// </summary>
    public static IReadOnlyList<string> ValidateDefinition(string workflow, string definition, IEnumerable<string> bound)
    {
        try
        {
            using var doc = JsonDocument.Parse(definition);
            if (doc.RootElement.ValueKind != JsonValueKind.Object
                || !doc.RootElement.TryGetProperty("StartAt", out _)
                || !doc.RootElement.TryGetProperty("States", out var states) || states.ValueKind != JsonValueKind.Object)
                throw new InvalidOperationException($"Workflow '{workflow}': not an ASL definition (needs StartAt and a States object).");
        }
        catch (JsonException e)
        {
            throw new InvalidOperationException($"Workflow '{workflow}': invalid JSON ({e.Message}).", e);
        }

        var used = Placeholder().Matches(definition).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var known = new HashSet<string>(bound, StringComparer.Ordinal);
        var missing = used.Where(p => !known.Contains(p)).ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException(
                $"Workflow '{workflow}': no substitution for {string.Join(", ", missing.Select(p => "${" + p + "}"))}. " +
                $"Bound names: {string.Join(", ", known.Order(StringComparer.Ordinal))}.");
        return used;
    }

    [GeneratedRegex(@"\$\{([^}]*)\}")]
    private static partial Regex Placeholder();
}
