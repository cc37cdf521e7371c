using System.Globalization;
using Molly.Storage;
using Sdk = Amazon.DynamoDBv2.Model;

namespace Molly.Storage.DynamoDb;

/// <summary>
/// Translates typed conditions, updates and key conditions into DynamoDB expressions. Every attribute name becomes a
/// placeholder (#n0, #n1 ...) and every value a placeholder (:v0, :v1 ...): nothing from the caller is spliced into the text.
/// </summary>
public sealed class ExpressionBuilder
{
    private readonly Dictionary<string, string> _namePlaceholders = new(StringComparer.Ordinal);

    public Dictionary<string, string> Names { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, Sdk.AttributeValue> Values { get; } = new(StringComparer.Ordinal);

    /// <summary>Names map for a request, or null when empty (DynamoDB rejects empty maps).</summary>
    public Dictionary<string, string>? NamesOrNull => Names.Count == 0 ? null : Names;

    public Dictionary<string, Sdk.AttributeValue>? ValuesOrNull => Values.Count == 0 ? null : Values;

    public string Name(string attribute)
    {
        if (_namePlaceholders.TryGetValue(attribute, out var placeholder)) return placeholder;
        placeholder = "#n" + _namePlaceholders.Count.ToString(CultureInfo.InvariantCulture);
        _namePlaceholders[attribute] = placeholder;
        Names[placeholder] = attribute;
        return placeholder;
    }

    public string Value(AttributeValue value)
    {
        var placeholder = ":v" + Values.Count.ToString(CultureInfo.InvariantCulture);
        Values[placeholder] = AttributeMapper.ToSdk(value);
        return placeholder;
    }

    /// <summary>The ConditionExpression for <paramref name="condition"/>; null when there is nothing to check.</summary>
    public string? Condition(Condition? condition) => condition switch
    {
        null => null,
        ItemAbsentCondition => $"attribute_not_exists({Name(KeyNames.PK)})",
        ItemExistsCondition => $"attribute_exists({Name(KeyNames.PK)})",
        AttributeEqualsCondition { Value.IsNull: true } c =>
            $"(attribute_exists({Name(KeyNames.PK)}) AND attribute_not_exists({Name(c.Name)}))",
        AttributeEqualsCondition c => $"{Name(c.Name)} = {Value(c.Value)}",
        AttributeAbsentCondition c => $"attribute_not_exists({Name(c.Name)})",
        VersionEqualsCondition { Expected: 0 } c =>
            $"(attribute_not_exists({Name(c.Name)}) OR {Name(c.Name)} = {Value(AttributeValue.Number(0))})",
        VersionEqualsCondition c => $"{Name(c.Name)} = {Value(AttributeValue.Number(c.Expected))}",
        NumberAtLeastCondition c => $"{Name(c.Name)} >= {Value(AttributeValue.Number(c.Minimum))}",
        AndCondition c => And(c.Conditions),
        _ => throw new NotSupportedException($"Condition {condition.GetType().Name} has no DynamoDB translation."),
    };

    private string? And(IReadOnlyList<Condition> conditions)
    {
        var parts = conditions.Select(Condition).Where(p => p is not null).ToList();
        return parts.Count switch
        {
            0 => null,
            1 => parts[0],
            _ => "(" + string.Join(" AND ", parts) + ")",
        };
    }

    /// <summary>The UpdateExpression (SET / ADD / REMOVE clauses); null for an update with no actions.</summary>
    public string? Update(Update update)
    {
        var set = new List<string>();
        var add = new List<string>();
        var remove = new List<string>();
        foreach (var action in update.Actions)
        {
            switch (action.Kind)
            {
                case UpdateActionKind.Set when action.Value.IsNull:
                    remove.Add(Name(action.Name));
                    break;
                case UpdateActionKind.Set:
                    set.Add($"{Name(action.Name)} = {Value(action.Value)}");
                    break;
                case UpdateActionKind.Add:
                    add.Add($"{Name(action.Name)} {Value(action.Value)}");
                    break;
                case UpdateActionKind.Remove:
                    remove.Add(Name(action.Name));
                    break;
            }
        }
        var clauses = new List<string>(3);
        if (set.Count > 0) clauses.Add("SET " + string.Join(", ", set));
        if (add.Count > 0) clauses.Add("ADD " + string.Join(", ", add));
        if (remove.Count > 0) clauses.Add("REMOVE " + string.Join(", ", remove));
        return clauses.Count == 0 ? null : string.Join(" ", clauses);
    }

    /// <summary>The KeyConditionExpression for a partition and an optional sort-key condition.</summary>
    public string KeyCondition(string partitionAttribute, string partitionKey, string sortAttribute, SortKeyCondition? sortKey)
    {
        var expression = $"{Name(partitionAttribute)} = {Value(partitionKey)}";
        return sortKey switch
        {
            null => expression,
            SortKeyBeginsWith c => $"{expression} AND begins_with({Name(sortAttribute)}, {Value(c.Prefix)})",
            SortKeyBetween c => $"{expression} AND {Name(sortAttribute)} BETWEEN {Value(c.From)} AND {Value(c.To)}",
            SortKeyEquals c => $"{expression} AND {Name(sortAttribute)} = {Value(c.Value)}",
            SortKeyGreaterThan c => $"{expression} AND {Name(sortAttribute)} > {Value(c.Value)}",
            SortKeyLessThan c => $"{expression} AND {Name(sortAttribute)} < {Value(c.Value)}",
            _ => throw new NotSupportedException($"Sort-key condition {sortKey.GetType().Name} has no DynamoDB translation."),
        };
    }
}
