using System.Text.Json.Nodes;

namespace Molly.Workflows;

/// <summary>
/// A Parameters / ResultSelector payload template (spec, "Payload Template"): fields whose name ends in <c>.$</c> take the
/// value of a path (<c>$</c> the effective input, <c>$$</c> the context object) or of an intrinsic function call; other
/// fields are copied. Compiled once per definition.
/// </summary>
public sealed class PayloadTemplate
{
    private readonly Func<JsonNode?, JsonNode?, JsonNode?> _build;

    private PayloadTemplate(Func<JsonNode?, JsonNode?, JsonNode?> build, bool usesContext)
    {
        _build = build;
        UsesContext = usesContext;
    }

    /// <summary>True when some field reads the context object (<c>$$</c>): only then does the engine build it.</summary>
    public bool UsesContext { get; }

    public static PayloadTemplate Compile(JsonNode? template, string where) =>
        new(CompileNode(template, where), template?.ToJsonString().Contains("$$", StringComparison.Ordinal) == true);

    /// <summary>Builds the payload; a path that matches nothing raises States.ParameterPathFailure.</summary>
    public JsonNode? Build(JsonNode? input, JsonNode? context) => _build(input, context);

    private static Func<JsonNode?, JsonNode?, JsonNode?> CompileNode(JsonNode? node, string where)
    {
        switch (node)
        {
            case JsonObject obj:
            {
                var fields = new List<(string Name, Func<JsonNode?, JsonNode?, JsonNode?> Value)>();
                foreach (var (key, value) in obj)
                {
                    if (key.EndsWith(".$", StringComparison.Ordinal))
                    {
                        var name = key[..^2];
                        if (value is not JsonValue v || !v.TryGetValue<string>(out var expr))
                            throw new InvalidDefinitionException($"{where}: field '{key}' must be a path or intrinsic function string.");
                        fields.Add((name, CompileExpression(expr, $"{where}.{key}")));
                    }
                    else
                    {
                        fields.Add((key, CompileNode(value, $"{where}.{key}")));
                    }
                }
                return (input, ctx) =>
                {
                    var result = new JsonObject();
                    foreach (var (name, build) in fields) result[name] = build(input, ctx);
                    return result;
                };
            }
            case JsonArray arr:
            {
                var items = arr.Select((x, i) => CompileNode(x, $"{where}[{i}]")).ToList();
                return (input, ctx) => new JsonArray(items.Select(b => b(input, ctx)).ToArray());
            }
            default:
                return (_, _) => node?.DeepClone();
        }
    }

    private static Func<JsonNode?, JsonNode?, JsonNode?> CompileExpression(string expr, string where)
    {
        if (IntrinsicExpr.LooksLikeCall(expr))
        {
            var call = IntrinsicExpr.Parse(expr);
            return call.Evaluate;
        }
        if (!ReferencePath.TryParse(expr, out var path, out var error))
            throw new InvalidDefinitionException($"{where}: '{expr}' is neither a reference path nor an intrinsic function ({error}).");
        return (input, ctx) => path.TryGet(path.IsContext ? ctx : input, out var v)
            ? v?.DeepClone()
            : throw new WorkflowErrorException(StatesErrors.ParameterPathFailure,
                $"{where}: the path '{path}' matched nothing in the {(path.IsContext ? "context object" : "input")}.");
    }
}
