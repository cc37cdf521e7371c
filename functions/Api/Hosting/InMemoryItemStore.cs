using System.Globalization;
using System.Numerics;
using Molly.Storage;

namespace Molly.Api.Hosting;

/// <summary>
/// STOPGAP until <c>SqliteItemStore</c> (branch storage-sqlite) is merged: a process-local, NON-durable store with the
/// reference semantics of the seam (conditions and updates evaluated by their own IsSatisfiedBy/ApplyTo, transactions
/// all-or-nothing under one lock, a change feed). Selected by <c>Molly:Store:Kind=Memory</c>; start-up logs a warning.
/// </summary>
public sealed class InMemoryItemStore : IItemStore, IChangeFeed
{
    private readonly Lock _lock = new();
    private readonly Dictionary<ItemKey, Item> _items = [];
    private readonly List<Change> _changes = [];
    private readonly TimeProvider _clock;

    public InMemoryItemStore(TimeProvider clock) => _clock = clock;

    public IChangeFeed ChangeFeed => this;

    public Task<Item?> GetAsync(ItemKey key, CancellationToken ct = default)
    {
        lock (_lock) return Task.FromResult(_items.TryGetValue(key, out var i) ? i.Clone() : null);
    }

    public Task<Page<Item>> QueryAsync(Query query, CancellationToken ct = default)
    {
        lock (_lock)
        {
            var pkName = query.Index is null ? KeyNames.PK : KeyNames.IndexPK(query.Index);
            var skName = query.Index is null ? KeyNames.SK : KeyNames.IndexSK(query.Index);
            var matches = _items.Values
                .Where(i => i.GetString(pkName) == query.PartitionKey && i.GetString(skName) is { } sk && (query.SortKey?.Matches(sk) ?? true))
                .OrderBy(i => i.GetString(skName), StringComparer.Ordinal).ThenBy(i => i.Key.ToString(), StringComparer.Ordinal)
                .ToList();
            if (query.Descending) matches.Reverse();
            var skip = query.Cursor is null ? 0 : int.Parse(query.Cursor, CultureInfo.InvariantCulture);
            var page = matches.Skip(skip).Take(query.Limit).Select(i => i.Clone()).ToList();
            var next = skip + page.Count < matches.Count ? (skip + page.Count).ToString(CultureInfo.InvariantCulture) : null;
            return Task.FromResult(new Page<Item>(page, next));
        }
    }

    public Task PutAsync(Item item, Condition? condition = null, CancellationToken ct = default) =>
        TransactWriteAsync([TransactOp.Put(item, condition)], ct);

    public async Task<Item> UpdateAsync(ItemKey key, Update update, Condition? condition = null, CancellationToken ct = default)
    {
        await TransactWriteAsync([TransactOp.Update(key, update, condition)], ct);
        return (await GetAsync(key, ct))!;
    }

    public async Task<Item?> DeleteAsync(ItemKey key, Condition? condition = null, CancellationToken ct = default)
    {
        var before = await GetAsync(key, ct);
        await TransactWriteAsync([TransactOp.Delete(key, condition)], ct);
        return before;
    }

    public async Task<BigInteger> IncrementAsync(ItemKey key, string attribute, BigInteger delta, CancellationToken ct = default) =>
        (await UpdateAsync(key, new Update().Add(attribute, delta), null, ct)).RequireNumber(attribute);

    public Task TransactWriteAsync(IReadOnlyList<TransactOp> operations, CancellationToken ct = default)
    {
        TransactionLimits.Validate(operations);
        lock (_lock)
        {
            for (var i = 0; i < operations.Count; i++)
            {
                var op = operations[i];
                _items.TryGetValue(op.Key, out var current);
                if (op.Condition is { } c && !c.IsSatisfiedBy(current))
                    throw new ConditionFailedException(op.Key, operations.Count > 1 ? i : null);
            }
            var now = _clock.GetUtcNow();
            foreach (var op in operations)
            {
                _items.TryGetValue(op.Key, out var old);
                Item? next = op switch
                {
                    PutOp p => p.Item.Clone(),
                    UpdateOp u => u.Changes.ApplyTo(u.Key, old),
                    DeleteOp => null,
                    _ => old,
                };
                if (op is CheckOp || (old is null && next is null)) continue;
                if (next is null) _items.Remove(op.Key);
                else _items[op.Key] = next;
                var kind = old is null ? ChangeKind.Insert : next is null ? ChangeKind.Remove : ChangeKind.Modify;
                _changes.Add(new Change(_changes.Count.ToString("D20", CultureInfo.InvariantCulture), kind, op.Key, old, next?.Clone(), now));
            }
        }
        return Task.CompletedTask;
    }

    public Task<ChangeBatch> ReadAsync(string? checkpoint, int maxChanges = 1000, CancellationToken ct = default)
    {
        lock (_lock)
        {
            var start = checkpoint is null ? 0 : int.Parse(checkpoint, CultureInfo.InvariantCulture) + 1;
            var batch = _changes.Skip(start).Take(maxChanges).ToList();
            var next = batch.Count == 0 ? checkpoint ?? "-1" : batch[^1].Sequence;
            return Task.FromResult(new ChangeBatch(batch, next));
        }
    }
}
