namespace Molly.Storage;

/// <summary>One operation of a transaction. A transaction holds 1..100 operations on distinct items.</summary>
public abstract record TransactOp(ItemKey Key, Condition? Condition)
{
    public static TransactOp Put(Item item, Condition? condition = null) => new PutOp(item, condition);
    public static TransactOp Update(ItemKey key, Update update, Condition? condition = null) => new UpdateOp(key, update, condition);
    public static TransactOp Delete(ItemKey key, Condition? condition = null) => new DeleteOp(key, condition);
    public static TransactOp Check(ItemKey key, Condition condition) => new CheckOp(key, condition);
}

public sealed record PutOp(Item Item, Condition? Condition) : TransactOp(Item.Key, Condition);

public sealed record UpdateOp(ItemKey Key, Update Changes, Condition? Condition) : TransactOp(Key, Condition);

public sealed record DeleteOp(ItemKey Key, Condition? Condition) : TransactOp(Key, Condition);

public sealed record CheckOp(ItemKey Key, Condition Condition) : TransactOp(Key, Condition);

public static class TransactionLimits
{
    public const int MaxItems = 100;

    /// <summary>Validates the shape both stores require: 1..100 operations, no item twice, items within size.</summary>
    public static void Validate(IReadOnlyList<TransactOp> ops)
    {
        ArgumentNullException.ThrowIfNull(ops);
        if (ops.Count is 0 or > MaxItems)
            throw new ArgumentException($"A transaction holds 1 to {MaxItems} operations, not {ops.Count}.", nameof(ops));
        var seen = new HashSet<ItemKey>();
        foreach (var op in ops)
        {
            if (!seen.Add(op.Key))
                throw new ArgumentException($"Item {op.Key} appears twice in one transaction.", nameof(ops));
            if (op is PutOp p) ItemSize.Ensure(p.Item);
        }
    }
}

public static class ItemSize
{
    public static void Ensure(Item item)
    {
        if (item.SizeUpperBound <= Item.MaxSizeBytes) return; // the common case: clearly small, nothing to count exactly
        var size = item.SizeInBytes;
        if (size > Item.MaxSizeBytes)
            throw new ItemTooLargeException(item.Key, size);
    }
}
