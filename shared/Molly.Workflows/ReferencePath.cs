using System.Globalization;
using System.Text.Json.Nodes;

namespace Molly.Workflows;

/// <summary>
/// A States Language reference path: <c>$</c> or <c>$$</c> followed by <c>.field</c>, <c>['field']</c> and <c>[index]</c>
/// steps, each naming exactly one node (spec, "Reference Paths"). Operators that select several nodes (<c>*</c>, <c>..</c>,
/// filters, slices) are rejected when the definition is loaded.
/// </summary>
public sealed class ReferencePath
{
    private readonly object[] _steps; // string = field, int = array index

    private ReferencePath(string text, bool context, object[] steps)
    {
        Text = text;
        IsContext = context;
        _steps = steps;
    }

    public string Text { get; }

    /// <summary>True for <c>$$...</c>: the path reads the context object.</summary>
    public bool IsContext { get; }

    public bool IsRoot => _steps.Length == 0;

    public override string ToString() => Text;

    public static ReferencePath Parse(string text) =>
        TryParse(text, out var p, out var error) ? p : throw new InvalidDefinitionException($"Invalid path '{text}': {error}.");

    public static bool TryParse(string text, out ReferencePath path, out string error)
    {
        path = null!;
        error = "";
        if (string.IsNullOrEmpty(text) || text[0] != '$') { error = "a path starts with '$'"; return false; }
        var context = text.StartsWith("$$", StringComparison.Ordinal);
        var i = context ? 2 : 1;
        var steps = new List<object>();
        while (i < text.Length)
        {
            if (text[i] == '.')
            {
                i++;
                var start = i;
                while (i < text.Length && text[i] != '.' && text[i] != '[') i++;
                var name = text[start..i];
                if (name.Length == 0) { error = "empty field name"; return false; }
                if (name == "*") { error = "wildcards are not reference paths"; return false; }
                steps.Add(name);
            }
            else if (text[i] == '[')
            {
                var close = text.IndexOf(']', i);
                if (close < 0) { error = "unclosed '['"; return false; }
                var inner = text[(i + 1)..close].Trim();
                if (inner.Length >= 2 && (inner[0] == '\'' || inner[0] == '"') && inner[^1] == inner[0])
                    steps.Add(inner[1..^1]);
                else if (int.TryParse(inner, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                    steps.Add(index);
                else { error = $"'[{inner}]' selects more than one node"; return false; }
                i = close + 1;
            }
            else { error = $"unexpected '{text[i]}' at {i}"; return false; }
        }
        path = new ReferencePath(text, context, steps.ToArray());
        return true;
    }

    /// <summary>The node at this path, or false when a step is missing (a JSON null value counts as present).</summary>
    public bool TryGet(JsonNode? root, out JsonNode? value)
    {
        var node = root;
        foreach (var step in _steps)
        {
            switch (step)
            {
                case string field when node is JsonObject o && o.TryGetPropertyValue(field, out var child):
                    node = child;
                    break;
                case int index when node is JsonArray a && index < a.Count:
                    node = a[index];
                    break;
                default:
                    value = null;
                    return false;
            }
        }
        value = node;
        return true;
    }

    /// <summary>
    /// ResultPath semantics: a copy of <paramref name="root"/> with <paramref name="value"/> placed at this path, creating
    /// missing objects on the way. A step through a non-object fails with States.ResultPathMatchFailure.
    /// </summary>
    public JsonNode? Set(JsonNode? root, JsonNode? value)
    {
        if (_steps.Length == 0) return value;
        var copy = root?.DeepClone();
        if (copy is not JsonObject && copy is not JsonArray) throw ResultPathFailure();
        JsonNode current = copy;
        for (var s = 0; s < _steps.Length; s++)
        {
            var last = s == _steps.Length - 1;
            switch (_steps[s], current)
            {
                case (string field, JsonObject o):
                    if (last) { o[field] = value; break; }
                    if (!o.TryGetPropertyValue(field, out var next) || next is null)
                    {
                        next = new JsonObject();
                        o[field] = next;
                    }
                    if (next is not JsonObject && next is not JsonArray) throw ResultPathFailure();
                    current = next;
                    break;
                case (int index, JsonArray a) when index < a.Count:
                    if (last) { a[index] = value; break; }
                    current = a[index] ?? throw ResultPathFailure();
                    break;
                default:
                    throw ResultPathFailure();
            }
        }
        return copy;
    }

    private WorkflowErrorException ResultPathFailure() =>
        new(StatesErrors.ResultPathMatchFailure, $"Unable to apply ResultPath '{Text}' to the state input.");
}
