using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Molly.Workflows;

/// <summary>
/// An intrinsic function call in a <c>.$</c> field (spec, "Intrinsic Functions"), parsed once when the definition loads.
/// Arguments are string literals in single quotes (backslash escapes), numbers, true/false/null, paths and nested calls.
/// </summary>
public abstract class IntrinsicExpr
{
    public static bool LooksLikeCall(string text) => text.StartsWith("States.", StringComparison.Ordinal);

    public static IntrinsicExpr Parse(string text)
    {
        var parser = new Parser(text);
        var expr = parser.ParseCall();
        parser.SkipSpaces();
        if (!parser.AtEnd) throw new InvalidDefinitionException($"Intrinsic '{text}': unexpected text after the call.");
        return expr;
    }

    public abstract JsonNode? Evaluate(JsonNode? input, JsonNode? context);

    private sealed class Literal(JsonNode? value) : IntrinsicExpr
    {
        public override JsonNode? Evaluate(JsonNode? input, JsonNode? context) => value?.DeepClone();
    }

    private sealed class PathArg(ReferencePath path) : IntrinsicExpr
    {
        public override JsonNode? Evaluate(JsonNode? input, JsonNode? context) =>
            path.TryGet(path.IsContext ? context : input, out var v)
                ? v?.DeepClone()
                : throw new WorkflowErrorException(StatesErrors.IntrinsicFailure, $"The path '{path}' matched nothing.");
    }

    private sealed class Call(string name, IReadOnlyList<IntrinsicExpr> args) : IntrinsicExpr
    {
        public override JsonNode? Evaluate(JsonNode? input, JsonNode? context)
        {
            var values = args.Select(a => a.Evaluate(input, context)).ToList();
            try
            {
                return Functions.Invoke(name, values);
            }
            catch (Exception e) when (e is not WorkflowErrorException)
            {
                throw new WorkflowErrorException(StatesErrors.IntrinsicFailure, $"{name}: {e.Message}");
            }
        }
    }

    private sealed class Parser(string text)
    {
        private int _i;

        public bool AtEnd => _i >= text.Length;

        public void SkipSpaces()
        {
            while (_i < text.Length && text[_i] == ' ') _i++;
        }

        public IntrinsicExpr ParseCall()
        {
            SkipSpaces();
            var start = _i;
            while (_i < text.Length && (char.IsAsciiLetterOrDigit(text[_i]) || text[_i] == '.')) _i++;
            var name = text[start.._i];
            if (!Functions.Known.Contains(name)) throw Fail($"unknown intrinsic function '{name}'");
            Expect('(');
            var args = new List<IntrinsicExpr>();
            SkipSpaces();
            if (Peek() == ')') { _i++; return new Call(name, args); }
            while (true)
            {
                args.Add(ParseArg());
                SkipSpaces();
                if (Peek() == ',') { _i++; continue; }
                Expect(')');
                return new Call(name, args);
            }
        }

        private IntrinsicExpr ParseArg()
        {
            SkipSpaces();
            var c = Peek();
            if (c == '\'') return new Literal(JsonValue.Create(ParseString()));
            if (c == '$')
            {
                var start = _i;
                while (_i < text.Length && text[_i] != ',' && text[_i] != ')' && text[_i] != ' ') _i++;
                return new PathArg(ReferencePath.Parse(text[start.._i]));
            }
            if (c == '-' || char.IsAsciiDigit(c))
            {
                var start = _i;
                _i++;
                while (_i < text.Length && (char.IsAsciiDigit(text[_i]) || text[_i] is '.' or 'e' or 'E' or '+' or '-')) _i++;
                return new Literal(JsonNode.Parse(text[start.._i]));
            }
            foreach (var word in new[] { "true", "false", "null" })
                if (string.CompareOrdinal(text, _i, word, 0, word.Length) == 0)
                {
                    _i += word.Length;
                    return new Literal(word == "null" ? null : JsonValue.Create(word == "true"));
                }
            return ParseCall();
        }

        private string ParseString()
        {
            _i++; // opening quote
            var sb = new StringBuilder();
            while (_i < text.Length && text[_i] != '\'')
            {
                if (text[_i] == '\\' && _i + 1 < text.Length)
                {
                    // Keep \{ and \} escaped: States.Format needs to tell literal braces from placeholders.
                    if (text[_i + 1] is '{' or '}') sb.Append('\\');
                    sb.Append(text[_i + 1]);
                    _i += 2;
                    continue;
                }
                sb.Append(text[_i++]);
            }
            if (_i >= text.Length) throw Fail("unterminated string");
            _i++;
            return sb.ToString();
        }

        private char Peek() => _i < text.Length ? text[_i] : '\0';

        private void Expect(char c)
        {
            SkipSpaces();
            if (Peek() != c) throw Fail($"expected '{c}' at {_i}");
            _i++;
        }

        private InvalidDefinitionException Fail(string why) => new($"Intrinsic '{text}': {why}.");
    }

    private static class Functions
    {
        public static readonly HashSet<string> Known =
        [
            "States.Format", "States.StringToJson", "States.JsonToString", "States.Array", "States.ArrayPartition",
            "States.ArrayContains", "States.ArrayRange", "States.ArrayGetItem", "States.ArrayLength", "States.ArrayUnique",
            "States.Base64Encode", "States.Base64Decode", "States.Hash", "States.JsonMerge", "States.MathRandom",
            "States.MathAdd", "States.StringSplit", "States.UUID",
        ];

        public static JsonNode? Invoke(string name, List<JsonNode?> a)
        {
            switch (name)
            {
                case "States.Format":
                {
                    Arity(name, a, 1, int.MaxValue);
                    var template = Str(a[0]);
                    var sb = new StringBuilder();
                    var next = 1;
                    for (var i = 0; i < template.Length; i++)
                    {
                        if (template[i] == '\\' && i + 1 < template.Length) { sb.Append(template[++i]); continue; }
                        if (template[i] == '{' && i + 1 < template.Length && template[i + 1] == '}')
                        {
                            if (next >= a.Count) throw new ArgumentException("more {} than arguments");
                            sb.Append(FormatArg(a[next++]));
                            i++;
                            continue;
                        }
                        sb.Append(template[i]);
                    }
                    if (next != a.Count) throw new ArgumentException("more arguments than {}");
                    return sb.ToString();
                }
                case "States.StringToJson": Arity(name, a, 1, 1); return JsonNode.Parse(Str(a[0]));
                case "States.JsonToString": Arity(name, a, 1, 1); return a[0]?.ToJsonString() ?? "null";
                case "States.Array": return new JsonArray(a.Select(x => x?.DeepClone()).ToArray());
                case "States.ArrayPartition":
                {
                    Arity(name, a, 2, 2);
                    var arr = Arr(a[0]);
                    var size = Int(a[1]);
                    if (size < 1) throw new ArgumentException("the chunk size must be positive");
                    var result = new JsonArray();
                    for (var i = 0; i < arr.Count; i += size)
                        result.Add(new JsonArray(arr.Skip(i).Take(size).Select(x => x?.DeepClone()).ToArray()));
                    return result;
                }
                case "States.ArrayContains":
                    Arity(name, a, 2, 2);
                    return Arr(a[0]).Any(x => JsonNode.DeepEquals(x, a[1]));
                case "States.ArrayRange":
                {
                    Arity(name, a, 3, 3);
                    int start = Int(a[0]), end = Int(a[1]), step = Int(a[2]);
                    if (step == 0) throw new ArgumentException("step is 0");
                    var result = new JsonArray();
                    for (var v = start; step > 0 ? v <= end : v >= end; v += step)
                    {
                        if (result.Count >= 1000) throw new ArgumentException("more than 1000 items");
                        result.Add(v);
                    }
                    return result;
                }
                case "States.ArrayGetItem":
                {
                    Arity(name, a, 2, 2);
                    var arr = Arr(a[0]);
                    var index = Int(a[1]);
                    if (index < 0 || index >= arr.Count) throw new ArgumentException($"index {index} is outside the array");
                    return arr[index]?.DeepClone();
                }
                case "States.ArrayLength": Arity(name, a, 1, 1); return Arr(a[0]).Count;
                case "States.ArrayUnique":
                {
                    Arity(name, a, 1, 1);
                    var result = new JsonArray();
                    foreach (var x in Arr(a[0]))
                        if (!result.Any(r => JsonNode.DeepEquals(r, x))) result.Add(x?.DeepClone());
                    return result;
                }
                case "States.Base64Encode": Arity(name, a, 1, 1); return Convert.ToBase64String(Encoding.UTF8.GetBytes(Str(a[0])));
                case "States.Base64Decode": Arity(name, a, 1, 1); return Encoding.UTF8.GetString(Convert.FromBase64String(Str(a[0])));
                case "States.Hash":
                {
                    Arity(name, a, 2, 2);
                    var data = Encoding.UTF8.GetBytes(a[0] is JsonValue v && v.TryGetValue<string>(out var s) ? s : a[0]?.ToJsonString() ?? "null");
                    var hash = Str(a[1]) switch
                    {
                        "MD5" => MD5.HashData(data),
                        "SHA-1" => SHA1.HashData(data),
                        "SHA-256" => SHA256.HashData(data),
                        "SHA-384" => SHA384.HashData(data),
                        "SHA-512" => SHA512.HashData(data),
                        var other => throw new ArgumentException($"unknown algorithm '{other}'"),
                    };
                    return Convert.ToHexStringLower(hash);
                }
                case "States.JsonMerge":
                {
                    Arity(name, a, 3, 3);
                    if (a[2] is not JsonValue deep || !deep.TryGetValue<bool>(out var isDeep) || isDeep)
                        throw new ArgumentException("only shallow merge (false) is defined");
                    if (a[0] is not JsonObject left || a[1] is not JsonObject right) throw new ArgumentException("both arguments must be objects");
                    var merged = (JsonObject)left.DeepClone();
                    foreach (var (k, v) in right) merged[k] = v?.DeepClone();
                    return merged;
                }
                case "States.MathRandom":
                {
                    Arity(name, a, 2, 3);
                    int lo = Int(a[0]), hi = Int(a[1]);
                    var random = a.Count == 3 ? new Random(Int(a[2])) : Random.Shared;
                    return random.Next(lo, hi);
                }
                case "States.MathAdd": Arity(name, a, 2, 2); return Int(a[0]) + Int(a[1]);
                case "States.StringSplit":
                {
                    Arity(name, a, 2, 2);
                    var delimiters = Str(a[1]).ToCharArray();
                    return new JsonArray(Str(a[0]).Split(delimiters, StringSplitOptions.RemoveEmptyEntries).Select(x => (JsonNode)x).ToArray());
                }
                case "States.UUID": Arity(name, a, 0, 0); return Guid.NewGuid().ToString();
                default: throw new ArgumentException($"unknown function {name}");
            }
        }

        private static string FormatArg(JsonNode? v) => v switch
        {
            null => "null",
            JsonValue value when value.TryGetValue<string>(out var s) => s,
            JsonValue value => value.ToJsonString(),
            _ => throw new ArgumentException("States.Format takes only strings, numbers, booleans and null"),
        };

        private static void Arity(string name, List<JsonNode?> a, int min, int max)
        {
            if (a.Count < min || a.Count > max) throw new ArgumentException($"{name} takes {min}..{max} arguments, not {a.Count}");
        }

        private static string Str(JsonNode? v) =>
            v is JsonValue value && value.TryGetValue<string>(out var s) ? s : throw new ArgumentException("expected a string");

        private static JsonArray Arr(JsonNode? v) => v as JsonArray ?? throw new ArgumentException("expected an array");

        private static int Int(JsonNode? v)
        {
            if (JsonNumber.TryGetDouble(v, out var d) && d == Math.Floor(d) && d is >= int.MinValue and <= int.MaxValue) return (int)d;
            if (v is JsonValue sv && sv.TryGetValue<string>(out var s) && int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var i)) return i;
            throw new ArgumentException("expected an integer");
        }
    }
}
