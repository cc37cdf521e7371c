using System.Numerics;

namespace Molly.Storage;

/// <summary>
/// The item store seam (ARCHITECTURE.md): one logical table of items keyed by PK/SK with secondary indexes GSI1..GSI3,
/// conditional writes, transactions of up to 100 items and a change feed. Implemented by <c>SqliteItemStore</c>
/// (one machine) and <c>DynamoDbItemStore</c> (AWS); the contract suite in tests/Molly.Storage.Tests runs against both.
/// Reads of a single item are strongly consistent; index queries may lag on DynamoDB.
/// </summary>
public interface IItemStore
{
    Task<Item?> GetAsync(ItemKey key, CancellationToken ct = default);

    Task<Page<Item>> QueryAsync(Query query, CancellationToken ct = default);

    /// <summary>Writes the whole item (replacing any existing one) if the condition holds; else throws <see cref="ConditionFailedException"/>.</summary>
    Task PutAsync(Item item, Condition? condition = null, CancellationToken ct = default);

    /// <summary>Applies the update if the condition holds and returns the item as it is after the write.</summary>
    Task<Item> UpdateAsync(ItemKey key, Update update, Condition? condition = null, CancellationToken ct = default);

    /// <summary>Deletes the item if the condition holds; deleting a missing item with no condition is a no-op.
    /// Returns the item as it was, or null.</summary>
    Task<Item?> DeleteAsync(ItemKey key, Condition? condition = null, CancellationToken ct = default);

    /// <summary>Atomically adds <paramref name="delta"/> to a numeric attribute (creating item and attribute at 0) and returns the new value.</summary>
    Task<BigInteger> IncrementAsync(ItemKey key, string attribute, BigInteger delta, CancellationToken ct = default);

    /// <summary>Commits all operations or none. A failed condition throws <see cref="ConditionFailedException"/> naming the operation.</summary>
    Task TransactWriteAsync(IReadOnlyList<TransactOp> operations, CancellationToken ct = default);

    /// <summary>Every committed change, once, in commit order per item, with old and new images.</summary>
    IChangeFeed ChangeFeed { get; }
}
