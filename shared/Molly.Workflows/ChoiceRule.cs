using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Molly.Workflows;

/// <summary>
/// A Choice rule (spec, "Choice Rules"): a comparison of <c>Variable</c> with a literal or, for the <c>...Path</c> variants,
/// with another path's value; the Is* type tests; And/Or/Not. A comparison whose operands have the wrong type is false.
/// A Variable (or ...Path) that matches nothing is an error (States.Runtime), except under IsPresent.
/// </summary>
public sealed class ChoiceRule
{
    private static readonly string[] Operators =
    [
        "StringEquals", "StringLessThan", "StringGreaterThan", "StringLessThanEquals", "StringGreaterThanEquals", "StringMatches",
        "NumericEquals", "NumericLessThan", "NumericGreaterThan", "NumericLessThanEquals", "NumericGreaterThanEquals",
        "BooleanEquals",
        "TimestampEquals", "TimestampLessThan", "TimestampGreaterThan", "TimestampLessThanEquals", "TimestampGreaterThanEquals",
        "IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp",
    ];

    private readonly Func<JsonNode?, bool> _test;

    private ChoiceRule(Func<JsonNode?, bool> test, string? next)
    {
        _test = test;
        Next = next;
    }

    /// <summary>The state to go to when this (top-level) rule matches.</summary>
    public string? Next { get; }

    public bool Matches(JsonNode? input) => _test(input);

    public static ChoiceRule Parse(JsonObject rule, string where, bool topLevel) =>
        new(Compile(rule, where), topLevel
            ? rule["Next"]?.GetValue<string>() ?? throw new InvalidDefinitionException($"{where}: a Choice rule needs Next.")
            : null);

    private static Func<JsonNode?, bool> Compile(JsonObject rule, string where)
    {
        if (rule["And"] is JsonArray and)
        {
            var parts = and.Select((r, i) => Compile(AsObject(r, $"{where}.And[{i}]"), $"{where}.And[{i}]")).ToList();
            if (parts.Count == 0) throw new InvalidDefinitionException($"{where}: And needs rules.");
            return input => parts.All(p => p(input));
        }
        if (rule["Or"] is JsonArray or)
        {
            var parts = or.Select((r, i) => Compile(AsObject(r, $"{where}.Or[{i}]"), $"{where}.Or[{i}]")).ToList();
            if (parts.Count == 0) throw new InvalidDefinitionException($"{where}: Or needs rules.");
            return input => parts.Any(p => p(input));
        }
        if (rule["Not"] is JsonObject not)
        {
            var inner = Compile(not, $"{where}.Not");
            return input => !inner(input);
        }

        var variableText = rule["Variable"]?.GetValue<string>() ?? throw new InvalidDefinitionException($"{where}: no Variable, And, Or or Not.");
        var variable = ReferencePath.Parse(variableText);
        var ops = rule.Select(kv => kv.Key).Where(k => k is not ("Variable" or "Next" or "Comment")).ToList();
        if (ops.Count != 1) throw new InvalidDefinitionException($"{where}: a rule needs exactly one comparison operator, found {string.Join(", ", ops)}.");
        var op = ops[0];
        var isPath = op.EndsWith("Path", StringComparison.Ordinal) && !op.StartsWith("Is", StringComparison.Ordinal);
        var baseOp = isPath ? op[..^4] : op;
        if (!Operators.Contains(baseOp)) throw new InvalidDefinitionException($"{where}: unknown comparison operator '{op}'.");
        var operand = rule[op];

        if (baseOp.StartsWith("Is", StringComparison.Ordinal))
        {
            if (operand is not JsonValue bv || bv.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
                throw new InvalidDefinitionException($"{where}: {op} takes true or false.");
            var expected = bv.GetValue<bool>();
            return input =>
            {
                var present = variable.TryGet(input, out var value);
                if (baseOp == "IsPresent") return present == expected;
                if (!present) throw MissingPath(variable, where);
                return TypeTest(baseOp, value) == expected;
            };
        }

        Func<JsonNode?, JsonNode?> right;
        if (isPath)
        {
            var path = ReferencePath.Parse(operand?.GetValue<string>() ?? throw new InvalidDefinitionException($"{where}: {op} takes a path."));
            right = input => path.TryGet(input, out var v) ? v : throw MissingPath(path, where);
        }
        else
        {
            ValidateLiteral(baseOp, operand, where);
            var literal = operand;
            right = _ => literal;
        }
        var compare = Comparer(baseOp);
        return input =>
        {
            if (!variable.TryGet(input, out var left)) throw MissingPath(variable, where);
            return compare(left, right(input));
        };
    }

    private static Func<JsonNode?, JsonNode?, bool> Comparer(string op)
    {
        if (op.StartsWith("String", StringComparison.Ordinal))
        {
            if (op == "StringMatches")
                return (l, r) => AsString(l) is { } s && AsString(r) is { } p && Wildcard(s, p);
            return (l, r) => AsString(l) is { } a && AsString(r) is { } b && Holds(op, string.CompareOrdinal(a, b));
        }
        if (op.StartsWith("Numeric", StringComparison.Ordinal))
            return (l, r) => AsNumber(l) is { } a && AsNumber(r) is { } b && Holds(op, a.CompareTo(b));
        if (op == "BooleanEquals")
            return (l, r) => AsBool(l) is { } a && AsBool(r) is { } b && a == b;
        return (l, r) => AsTimestamp(l) is { } a && AsTimestamp(r) is { } b && Holds(op, a.CompareTo(b));
    }

    private static bool Holds(string op, int cmp) =>
        op.EndsWith("LessThanEquals", StringComparison.Ordinal) ? cmp <= 0
        : op.EndsWith("GreaterThanEquals", StringComparison.Ordinal) ? cmp >= 0
        : op.EndsWith("LessThan", StringComparison.Ordinal) ? cmp < 0
        : op.EndsWith("GreaterThan", StringComparison.Ordinal) ? cmp > 0
        : cmp == 0;

    private static bool TypeTest(string op, JsonNode? v) => op switch
    {
        "IsNull" => v is null || v.GetValueKind() == JsonValueKind.Null,
        "IsNumeric" => v is JsonValue n && n.GetValueKind() == JsonValueKind.Number,
        "IsString" => AsString(v) is not null,
        "IsBoolean" => AsBool(v) is not null,
        "IsTimestamp" => AsTimestamp(v) is not null,
        _ => false,
    };

    private static void ValidateLiteral(string op, JsonNode? operand, string where)
    {
        var ok = op switch
        {
            _ when op.StartsWith("String", StringComparison.Ordinal) => AsString(operand) is not null,
            _ when op.StartsWith("Numeric", StringComparison.Ordinal) => AsNumber(operand) is not null,
            "BooleanEquals" => AsBool(operand) is not null,
            _ => AsTimestamp(operand) is not null,
        };
        if (!ok) throw new InvalidDefinitionException($"{where}: {op} has an operand of the wrong type.");
    }

    /// <summary>StringMatches: '*' matches any run of characters; '\*' and '\\' are literal.</summary>
    internal static bool Wildcard(string s, string pattern)
    {
        var tokens = new List<(char C, bool Star)>();
        for (var i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '\\' && i + 1 < pattern.Length) tokens.Add((pattern[++i], false));
            else tokens.Add((pattern[i], pattern[i] == '*'));
        }
        int si = 0, ti = 0, starT = -1, starS = 0;
        while (si < s.Length)
        {
            if (ti < tokens.Count && tokens[ti].Star) { starT = ti++; starS = si; }
            else if (ti < tokens.Count && tokens[ti].C == s[si]) { ti++; si++; }
            else if (starT >= 0) { ti = starT + 1; si = ++starS; }
            else return false;
        }
        while (ti < tokens.Count && tokens[ti].Star) ti++;
        return ti == tokens.Count;
    }

    internal static string? AsString(JsonNode? v) => v is JsonValue s && s.TryGetValue<string>(out var text) ? text : null;

    private static bool? AsBool(JsonNode? v) =>
        v is JsonValue b && b.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? b.GetValue<bool>() : null;

    /// <summary>Numbers compare exactly as decimals when they fit (amounts in base units), else as doubles.</summary>
    private static IComparable? AsNumber(JsonNode? v)
    {
        if (v is not JsonValue n || n.GetValueKind() != JsonValueKind.Number) return null;
        var text = n.ToJsonString();
        if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) return new Num(d, (double)d);
        return JsonNumber.TryGetDouble(n, out var approx) ? new Num(null, approx) : null;
    }

    private readonly record struct Num(decimal? Exact, double Approx) : IComparable
    {
        public int CompareTo(object? obj)
        {
            var other = (Num)obj!;
            return Exact is { } a && other.Exact is { } b ? a.CompareTo(b) : Approx.CompareTo(other.Approx);
        }
    }

    /// <summary>An RFC 3339 timestamp with an upper-case T and an offset or Z, as the spec requires.</summary>
    internal static DateTimeOffset? AsTimestamp(JsonNode? v)
    {
        var s = AsString(v);
        if (s is null || s.Length < 20 || s[10] != 'T' || !(s.EndsWith('Z') || s[^6] is '+' or '-')) return null;
        return DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var t) ? t : null;
    }

    private static JsonObject AsObject(JsonNode? node, string where) =>
        node as JsonObject ?? throw new InvalidDefinitionException($"{where}: a rule is an object.");

    private static WorkflowErrorException MissingPath(ReferencePath path, string where) =>
        new(StatesErrors.Runtime, $"{where}: Invalid path '{path}': the choice state's condition path references an invalid value.");
}
