namespace Molly.Storage;

/// <summary>A write's condition did not hold; nothing was written. For a transaction, <see cref="OperationIndex"/>
/// names the first operation whose condition failed (its position in the list given) and <see cref="Key"/> its item.</summary>
public sealed class ConditionFailedException : Exception
{
    public ConditionFailedException(ItemKey key, int? operationIndex = null, Exception? inner = null)
        : base(operationIndex is null
            ? $"Condition failed on item {key}."
            : $"Transaction cancelled: condition failed on operation {operationIndex} (item {key}).", inner)
    {
        Key = key;
        OperationIndex = operationIndex;
    }

    public ItemKey Key { get; }

    public int? OperationIndex { get; }
}

/// <summary>An item over 400 KB; nothing was written.</summary>
public sealed class ItemTooLargeException(ItemKey key, int size)
    : Exception($"Item {key} is {size} bytes; the limit is {Item.MaxSizeBytes}.")
{
    public ItemKey Key { get; } = key;
    public int Size { get; } = size;
}

/// <summary>The store could not be reached or failed transiently after its own retries; the write may be retried as is
/// (every write in Molly is idempotent by key or condition).</summary>
public sealed class StoreUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
