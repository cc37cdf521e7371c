using System.Text.Json;
using System.Text.Json.Nodes;

namespace Molly.Workflows;

public enum StateType { Task, Choice, Wait, Pass, Succeed, Fail, Parallel }

public sealed record Retrier(
    IReadOnlyList<string> ErrorEquals, double IntervalSeconds, int MaxAttempts, double BackoffRate, double? MaxDelaySeconds, bool FullJitter);

public sealed record Catcher(IReadOnlyList<string> ErrorEquals, string Next, ReferencePath? ResultPath, bool DiscardResult);

/// <summary>One state of a definition, with every field this engine reads parsed and checked when the workflow loads.</summary>
public sealed class StateDef
{
    public required string Name { get; init; }
    public required StateType Type { get; init; }
    public string? Next { get; init; }
    public bool End { get; init; }

    // Paths: null when absent (the default "$"); the Discard* flags are set when the field is JSON null.
    public ReferencePath? InputPath { get; init; }
    public bool DiscardInput { get; init; }
    public ReferencePath? OutputPath { get; init; }
    public bool DiscardOutput { get; init; }
    public ReferencePath? ResultPath { get; init; }
    public bool DiscardResult { get; init; }
    public PayloadTemplate? Parameters { get; init; }
    public PayloadTemplate? ResultSelector { get; init; }
    public JsonNode? Result { get; init; }
    public bool HasResult { get; init; }

    // Task
    public string? Resource { get; init; }
    /// <summary>The handler name a Task resolves to (<c>${CheckConfirmationsArn}</c> -> <c>CheckConfirmations</c>).</summary>
    public string? Handler { get; init; }
    public bool WaitForTaskToken { get; init; }
    /// <summary>Resource arn:aws:states:::lambda:invoke: the handler's input is Parameters.Payload and its result is wrapped in {"Payload": ...}.</summary>
    public bool LambdaInvoke { get; init; }
    public int? TimeoutSeconds { get; init; }
    public ReferencePath? TimeoutSecondsPath { get; init; }
    public int? HeartbeatSeconds { get; init; }
    public ReferencePath? HeartbeatSecondsPath { get; init; }
    public IReadOnlyList<Retrier> Retry { get; init; } = [];
    public IReadOnlyList<Catcher> Catch { get; init; } = [];

    // Choice
    public IReadOnlyList<ChoiceRule> Choices { get; init; } = [];
    public string? Default { get; init; }

    // Wait
    public double? Seconds { get; init; }
    public ReferencePath? SecondsPath { get; init; }
    public DateTimeOffset? Timestamp { get; init; }
    public ReferencePath? TimestampPath { get; init; }

    // Fail
    public string? Error { get; init; }
    public ReferencePath? ErrorPath { get; init; }
    public string? Cause { get; init; }
    public ReferencePath? CausePath { get; init; }

    // Parallel: branch i is the machine at key "{owner key}/{state name}/{i}".
    public IReadOnlyList<StateMachine> Branches { get; init; } = [];
}

/// <summary>A parsed ASL definition (or one Parallel branch of one): StartAt and its states, all checked at load.</summary>
public sealed class StateMachine
{
    public const string LambdaInvokeArn = "arn:aws:states:::lambda:invoke";

    private StateMachine(string key, string startAt, IReadOnlyDictionary<string, StateDef> states, int? timeoutSeconds)
    {
        Key = key;
        StartAt = startAt;
        States = states;
        TimeoutSeconds = timeoutSeconds;
    }

    /// <summary>The workflow name for a top-level machine; "{parent key}/{state}/{branch}" for a Parallel branch.</summary>
    public string Key { get; }

    public string StartAt { get; }

    public IReadOnlyDictionary<string, StateDef> States { get; }

    public int? TimeoutSeconds { get; }

    /// <summary>This machine and every nested branch, by key.</summary>
    public IEnumerable<StateMachine> SelfAndBranches() =>
        States.Values.SelectMany(s => s.Branches).SelectMany(b => b.SelfAndBranches()).Prepend(this);

    /// <summary>Every Task's handler name (placeholders resolved), for a host to check it has them all.</summary>
    public IEnumerable<(string State, string Resource, string Handler)> Tasks() =>
        SelfAndBranches().SelectMany(m => m.States.Values).Where(s => s.Type == StateType.Task).Select(s => (s.Name, s.Resource!, s.Handler!));

    public static StateMachine Parse(string name, string json)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Disallow });
        }
        catch (JsonException e)
        {
            throw new InvalidDefinitionException($"Workflow '{name}': invalid JSON ({e.Message}).");
        }
        return Parse(name, root as JsonObject ?? throw new InvalidDefinitionException($"Workflow '{name}': not a JSON object."));
    }

    public static StateMachine Parse(string key, JsonObject root)
    {
        var startAt = Str(root, "StartAt", key) ?? throw new InvalidDefinitionException($"{key}: StartAt is required.");
        if (root["States"] is not JsonObject states || states.Count == 0) throw new InvalidDefinitionException($"{key}: States is required.");
        var parsed = new Dictionary<string, StateDef>(StringComparer.Ordinal);
        foreach (var (stateName, node) in states)
        {
            if (stateName.Length is 0 or > 80) throw new InvalidDefinitionException($"{key}: state names are 1..80 characters ('{stateName}').");
            parsed[stateName] = ParseState(key, stateName, node as JsonObject ?? throw new InvalidDefinitionException($"{key}.{stateName}: not an object."));
        }
        if (!parsed.ContainsKey(startAt)) throw new InvalidDefinitionException($"{key}: StartAt '{startAt}' is not a state.");
        foreach (var s in parsed.Values)
        {
            var targets = new List<string?> { s.Next, s.Default };
            targets.AddRange(s.Choices.Select(c => c.Next));
            targets.AddRange(s.Catch.Select(c => c.Next));
            foreach (var t in targets.OfType<string>())
                if (!parsed.ContainsKey(t)) throw new InvalidDefinitionException($"{key}.{s.Name}: transition to unknown state '{t}'.");
        }
        return new StateMachine(key, startAt, parsed, Int(root, "TimeoutSeconds", key));
    }

    private static StateDef ParseState(string key, string name, JsonObject o)
    {
        var where = $"{key}.{name}";
        var typeText = Str(o, "Type", where) ?? throw new InvalidDefinitionException($"{where}: Type is required.");
        if (!Enum.TryParse<StateType>(typeText, ignoreCase: false, out var type) || typeText == "Map")
            throw new InvalidDefinitionException($"{where}: state type '{typeText}' is not supported (Task, Choice, Wait, Pass, Succeed, Fail, Parallel).");

        var next = Str(o, "Next", where);
        var end = o["End"] is JsonValue e && e.GetValueKind() == JsonValueKind.True;
        var terminal = type is StateType.Succeed or StateType.Fail or StateType.Choice;
        if (!terminal && (next is null) == !end)
            throw new InvalidDefinitionException($"{where}: exactly one of Next or End:true is required.");

        var (inputPath, discardInput) = Path(o, "InputPath", where);
        var (outputPath, discardOutput) = Path(o, "OutputPath", where);
        var (resultPath, discardResult) = Path(o, "ResultPath", where);
        if (resultPath is { IsContext: true }) throw new InvalidDefinitionException($"{where}: ResultPath cannot name the context object.");

        string? resource = null, handler = null;
        bool waitForToken = false, lambdaInvoke = false;
        if (type == StateType.Task)
        {
            resource = Str(o, "Resource", where) ?? throw new InvalidDefinitionException($"{where}: Resource is required.");
            var baseResource = resource;
            if (resource.EndsWith(".waitForTaskToken", StringComparison.Ordinal))
            {
                waitForToken = true;
                baseResource = resource[..^".waitForTaskToken".Length];
            }
            if (baseResource == LambdaInvokeArn)
            {
                lambdaInvoke = true;
                var fn = (o["Parameters"] as JsonObject)?["FunctionName"];
                handler = HandlerName(fn is JsonValue fv && fv.TryGetValue<string>(out var f) ? f : null)
                          ?? throw new InvalidDefinitionException($"{where}: {resource} needs Parameters.FunctionName as a ${{NameArn}} placeholder.");
            }
            else
            {
                if (waitForToken) throw new InvalidDefinitionException($"{where}: .waitForTaskToken is supported on {LambdaInvokeArn} only.");
                handler = HandlerName(resource) ?? throw new InvalidDefinitionException($"{where}: Resource '{resource}' is not a ${{NameArn}} placeholder.");
            }
        }

        var parametersNode = o["Parameters"];
        if (parametersNode is not null && type is not (StateType.Task or StateType.Pass or StateType.Parallel))
            throw new InvalidDefinitionException($"{where}: Parameters is not allowed on a {type} state.");

        return Validated(new StateDef
        {
            Name = name,
            Type = type,
            Next = next,
            End = end || type is StateType.Succeed or StateType.Fail,
            InputPath = inputPath,
            DiscardInput = discardInput,
            OutputPath = outputPath,
            DiscardOutput = discardOutput,
            ResultPath = resultPath,
            DiscardResult = discardResult,
            Parameters = parametersNode is null ? null : PayloadTemplate.Compile(parametersNode, $"{where}.Parameters"),
            ResultSelector = o["ResultSelector"] is { } rs ? PayloadTemplate.Compile(rs, $"{where}.ResultSelector") : null,
            Result = o["Result"]?.DeepClone(),
            HasResult = o.ContainsKey("Result"),
            Resource = resource,
            Handler = handler,
            WaitForTaskToken = waitForToken,
            LambdaInvoke = lambdaInvoke,
            TimeoutSeconds = Int(o, "TimeoutSeconds", where),
            TimeoutSecondsPath = Path(o, "TimeoutSecondsPath", where).Path,
            HeartbeatSeconds = Int(o, "HeartbeatSeconds", where),
            HeartbeatSecondsPath = Path(o, "HeartbeatSecondsPath", where).Path,
            Retry = ParseRetry(o, where),
            Catch = ParseCatch(o, where),
            Choices = type == StateType.Choice ? ParseChoices(o, where) : [],
            Default = Str(o, "Default", where),
            Seconds = o["Seconds"] is JsonValue sv ? sv.GetValue<double>() : null,
            SecondsPath = Path(o, "SecondsPath", where).Path,
            Timestamp = o["Timestamp"] is { } ts ? ChoiceRule.AsTimestamp(ts) ?? throw new InvalidDefinitionException($"{where}: Timestamp is not RFC 3339.") : null,
            TimestampPath = Path(o, "TimestampPath", where).Path,
            Error = Str(o, "Error", where),
            ErrorPath = Path(o, "ErrorPath", where).Path,
            Cause = Str(o, "Cause", where),
            CausePath = Path(o, "CausePath", where).Path,
            Branches = type == StateType.Parallel ? ParseBranches(key, name, o, where) : [],
        }, where);
    }

    private static StateDef Validated(StateDef s, string where)
    {
        if (s.Type == StateType.Wait)
        {
            var count = (s.Seconds is null ? 0 : 1) + (s.SecondsPath is null ? 0 : 1) + (s.Timestamp is null ? 0 : 1) + (s.TimestampPath is null ? 0 : 1);
            if (count != 1) throw new InvalidDefinitionException($"{where}: a Wait state has exactly one of Seconds, SecondsPath, Timestamp, TimestampPath.");
        }
        if (s is { TimeoutSeconds: not null, TimeoutSecondsPath: not null } || s is { HeartbeatSeconds: not null, HeartbeatSecondsPath: not null })
            throw new InvalidDefinitionException($"{where}: TimeoutSeconds/HeartbeatSeconds and their Path variants are exclusive.");
        if (s is { TimeoutSeconds: { } t, HeartbeatSeconds: { } h } && h >= t)
            throw new InvalidDefinitionException($"{where}: HeartbeatSeconds must be smaller than TimeoutSeconds.");
        return s;
    }

    /// <summary><c>${CheckConfirmationsArn}</c> -> <c>CheckConfirmations</c>; anything else is not a placeholder.</summary>
    public static string? HandlerName(string? resource)
    {
        if (resource is null || !resource.StartsWith("${", StringComparison.Ordinal) || !resource.EndsWith('}')) return null;
        var name = resource[2..^1];
        if (name.EndsWith("Arn", StringComparison.Ordinal)) name = name[..^3];
        return name.Length > 0 && name.All(char.IsAsciiLetterOrDigit) ? name : null;
    }

    private static IReadOnlyList<ChoiceRule> ParseChoices(JsonObject o, string where)
    {
        if (o["Choices"] is not JsonArray arr || arr.Count == 0) throw new InvalidDefinitionException($"{where}: Choices needs at least one rule.");
        return arr.Select((r, i) => ChoiceRule.Parse(r as JsonObject ?? throw new InvalidDefinitionException($"{where}.Choices[{i}]: not an object."),
            $"{where}.Choices[{i}]", topLevel: true)).ToList();
    }

    private static IReadOnlyList<StateMachine> ParseBranches(string key, string name, JsonObject o, string where)
    {
        if (o["Branches"] is not JsonArray arr || arr.Count == 0) throw new InvalidDefinitionException($"{where}: Branches needs at least one branch.");
        return arr.Select((b, i) => Parse($"{key}/{name}/{i}", b as JsonObject ?? throw new InvalidDefinitionException($"{where}.Branches[{i}]: not an object."))).ToList();
    }

    private static IReadOnlyList<Retrier> ParseRetry(JsonObject o, string where)
    {
        if (o["Retry"] is not JsonArray arr) return [];
        var list = new List<Retrier>();
        for (var i = 0; i < arr.Count; i++)
        {
            var r = arr[i] as JsonObject ?? throw new InvalidDefinitionException($"{where}.Retry[{i}]: not an object.");
            var errors = ErrorEquals(r, $"{where}.Retry[{i}]", i == arr.Count - 1);
            var jitter = Str(r, "JitterStrategy", where) ?? "NONE";
            if (jitter is not ("FULL" or "NONE")) throw new InvalidDefinitionException($"{where}.Retry[{i}]: JitterStrategy is FULL or NONE.");
            var retrier = new Retrier(errors,
                r["IntervalSeconds"]?.GetValue<double>() ?? 1,
                r["MaxAttempts"]?.GetValue<int>() ?? 3,
                r["BackoffRate"]?.GetValue<double>() ?? 2.0,
                r["MaxDelaySeconds"]?.GetValue<double>(),
                jitter == "FULL");
            if (retrier.IntervalSeconds < 1 || retrier.MaxAttempts < 0 || retrier.BackoffRate < 1 || retrier.MaxDelaySeconds is <= 0)
                throw new InvalidDefinitionException($"{where}.Retry[{i}]: IntervalSeconds >= 1, MaxAttempts >= 0, BackoffRate >= 1, MaxDelaySeconds > 0.");
            list.Add(retrier);
        }
        return list;
    }

    private static IReadOnlyList<Catcher> ParseCatch(JsonObject o, string where)
    {
        if (o["Catch"] is not JsonArray arr) return [];
        var list = new List<Catcher>();
        for (var i = 0; i < arr.Count; i++)
        {
            var c = arr[i] as JsonObject ?? throw new InvalidDefinitionException($"{where}.Catch[{i}]: not an object.");
            var (path, discard) = Path(c, "ResultPath", $"{where}.Catch[{i}]");
            list.Add(new Catcher(ErrorEquals(c, $"{where}.Catch[{i}]", i == arr.Count - 1),
                Str(c, "Next", where) ?? throw new InvalidDefinitionException($"{where}.Catch[{i}]: Next is required."), path, discard));
        }
        return list;
    }

    private static IReadOnlyList<string> ErrorEquals(JsonObject o, string where, bool isLast)
    {
        if (o["ErrorEquals"] is not JsonArray arr || arr.Count == 0) throw new InvalidDefinitionException($"{where}: ErrorEquals needs at least one name.");
        var names = arr.Select(x => x?.GetValue<string>() ?? throw new InvalidDefinitionException($"{where}: error names are strings.")).ToList();
        // Spec: States.ALL must appear alone in its ErrorEquals and in the last retrier/catcher.
        if (names.Contains(StatesErrors.All) && (names.Count > 1 || !isLast))
            throw new InvalidDefinitionException($"{where}: States.ALL must be alone and in the last retrier or catcher.");
        return names;
    }

    private static (ReferencePath? Path, bool Discard) Path(JsonObject o, string field, string where)
    {
        if (!o.TryGetPropertyValue(field, out var node)) return (null, false);
        if (node is null) return (null, true);
        var text = node is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new InvalidDefinitionException($"{where}: {field} must be a path string or null.");
        return (ReferencePath.Parse(text), false);
    }

    private static string? Str(JsonObject o, string field, string where) => o[field] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        _ => throw new InvalidDefinitionException($"{where}: {field} must be a string."),
    };

    private static int? Int(JsonObject o, string field, string where) => o[field] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.Number && v.GetValue<double>() is var d && d >= 1 && d == Math.Floor(d) => (int)d,
        _ => throw new InvalidDefinitionException($"{where}: {field} must be a positive integer."),
    };
}
