using System.Numerics;

namespace Molly.Storage;

/// <summary>
/// A typed write condition, evaluated against the item as it is when the write commits. Both stores translate these
/// (DynamoDB into a ConditionExpression, SQLite into a check inside the write transaction); no expression strings leak out.
/// </summary>
public abstract record Condition
{
    /// <summary>The item does not exist (create-only put; idempotency records).</summary>
    public static Condition ItemAbsent { get; } = new ItemAbsentCondition();

    /// <summary>The item exists.</summary>
    public static Condition ItemExists { get; } = new ItemExistsCondition();

    /// <summary>The item exists and the attribute equals the value.</summary>
    public static Condition AttributeEquals(string name, AttributeValue value) => new AttributeEqualsCondition(name, value);

    /// <summary>The attribute is missing (or the item is).</summary>
    public static Condition AttributeAbsent(string name) => new AttributeAbsentCondition(name);

    /// <summary>Optimistic concurrency: the numeric attribute (default <c>version</c>) equals <paramref name="expected"/>;
    /// an expected version of 0 also matches an item that does not exist yet.</summary>
    public static Condition VersionEquals(long expected, string attribute = "version") => new VersionEqualsCondition(attribute, expected);

    /// <summary>The item exists and the numeric attribute is at least <paramref name="minimum"/> (no-overdraft checks).</summary>
    public static Condition NumberAtLeast(string name, BigInteger minimum) => new NumberAtLeastCondition(name, minimum);

    /// <summary>All of the conditions hold.</summary>
    public static Condition And(params Condition[] conditions) => new AndCondition(conditions);

    /// <summary>Evaluates the condition against the current item (null when absent). Stores that evaluate in-process use this;
    /// it is the reference semantics that the DynamoDB translation must match.</summary>
    public abstract bool IsSatisfiedBy(Item? current);
}

public sealed record ItemAbsentCondition : Condition
{
    public override bool IsSatisfiedBy(Item? current) => current is null;
}

public sealed record ItemExistsCondition : Condition
{
    public override bool IsSatisfiedBy(Item? current) => current is not null;
}

public sealed record AttributeEqualsCondition(string Name, AttributeValue Value) : Condition
{
    public override bool IsSatisfiedBy(Item? current) => current is not null && current[Name] == Value;
}

public sealed record AttributeAbsentCondition(string Name) : Condition
{
    public override bool IsSatisfiedBy(Item? current) => current is null || !current.Has(Name);
}

public sealed record VersionEqualsCondition(string Name, long Expected) : Condition
{
    public override bool IsSatisfiedBy(Item? current)
    {
        if (current is null || !current.TryGet(Name, out var v)) return Expected == 0;
        return v.Kind == AttributeKind.Number && v.AsNumber() == Expected;
    }
}

public sealed record NumberAtLeastCondition(string Name, BigInteger Minimum) : Condition
{
    public override bool IsSatisfiedBy(Item? current) =>
        current is not null && current.TryGet(Name, out var v) && v.Kind == AttributeKind.Number && v.AsNumber() >= Minimum;
}

public sealed record AndCondition(IReadOnlyList<Condition> Conditions) : Condition
{
    public override bool IsSatisfiedBy(Item? current) => Conditions.All(c => c.IsSatisfiedBy(current));
}

/// <summary>
/// A typed update: set, remove, or atomically add to numeric attributes. An update of a missing item creates it
/// (DynamoDB's UpdateItem semantics); guard with <see cref="Condition.ItemExists"/> when that is not wanted.
/// Adding to a missing attribute starts from 0.
/// </summary>
public sealed class Update
{
    private readonly List<UpdateAction> _actions = [];

    public IReadOnlyList<UpdateAction> Actions => _actions;

    public Update Set(string name, AttributeValue value)
    {
        Guard(name);
        _actions.Add(new UpdateAction(UpdateActionKind.Set, name, value));
        return this;
    }

    public Update Add(string name, BigInteger delta)
    {
        Guard(name);
        _actions.Add(new UpdateAction(UpdateActionKind.Add, name, AttributeValue.Number(delta)));
        return this;
    }

    public Update Remove(string name)
    {
        Guard(name);
        _actions.Add(new UpdateAction(UpdateActionKind.Remove, name, AttributeValue.Null));
        return this;
    }

    /// <summary>Applies the update to a copy of <paramref name="current"/> (or a new item); the reference semantics.</summary>
    public Item ApplyTo(ItemKey key, Item? current)
    {
        var next = current?.Clone() ?? new Item(key);
        foreach (var a in _actions)
        {
            switch (a.Kind)
            {
                case UpdateActionKind.Set:
                    next[a.Name] = a.Value;
                    break;
                case UpdateActionKind.Remove:
                    next[a.Name] = AttributeValue.Null;
                    break;
                case UpdateActionKind.Add:
                    var existing = next[a.Name];
                    if (!existing.IsNull && existing.Kind != AttributeKind.Number)
                        throw new ArgumentException($"Cannot add to attribute '{a.Name}' of item {key}: it holds {existing.Kind}, not a number.", nameof(current));
                    var sum = (existing.IsNull ? BigInteger.Zero : existing.AsNumber()) + a.Value.AsNumber();
                    next[a.Name] = AttributeValue.Number(sum);
                    break;
            }
        }
        return next;
    }

    private void Guard(string name)
    {
        if (name is KeyNames.PK or KeyNames.SK) throw new ArgumentException("The key of an item cannot be updated.", nameof(name));
        KeyNames.Validate(name);
        if (_actions.Any(a => a.Name == name))
            throw new ArgumentException($"Attribute '{name}' appears twice in one update.", nameof(name));
    }
}

public enum UpdateActionKind { Set, Add, Remove }

public sealed record UpdateAction(UpdateActionKind Kind, string Name, AttributeValue Value);
