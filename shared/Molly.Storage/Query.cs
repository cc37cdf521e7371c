namespace Molly.Storage;

/// <summary>A condition on the sort key of a query (the table's SK or an index's SK). Comparison is ordinal (UTF-8 byte order).</summary>
public abstract record SortKeyCondition
{
    public static SortKeyCondition BeginsWith(string prefix) => new SortKeyBeginsWith(prefix);
    public static SortKeyCondition Between(string fromInclusive, string toInclusive) => new SortKeyBetween(fromInclusive, toInclusive);
    public static SortKeyCondition EqualTo(string value) => new SortKeyEquals(value);
    public static SortKeyCondition GreaterThan(string value) => new SortKeyGreaterThan(value);
    public static SortKeyCondition LessThan(string value) => new SortKeyLessThan(value);

    public abstract bool Matches(string sortKey);
}

public sealed record SortKeyBeginsWith(string Prefix) : SortKeyCondition
{
    public override bool Matches(string sortKey) => sortKey.StartsWith(Prefix, StringComparison.Ordinal);
}

public sealed record SortKeyBetween(string From, string To) : SortKeyCondition
{
    public override bool Matches(string sortKey) =>
        string.CompareOrdinal(sortKey, From) >= 0 && string.CompareOrdinal(sortKey, To) <= 0;
}

public sealed record SortKeyEquals(string Value) : SortKeyCondition
{
    public override bool Matches(string sortKey) => string.Equals(sortKey, Value, StringComparison.Ordinal);
}

public sealed record SortKeyGreaterThan(string Value) : SortKeyCondition
{
    public override bool Matches(string sortKey) => string.CompareOrdinal(sortKey, Value) > 0;
}

public sealed record SortKeyLessThan(string Value) : SortKeyCondition
{
    public override bool Matches(string sortKey) => string.CompareOrdinal(sortKey, Value) < 0;
}

/// <summary>
/// A query of one partition: of the table (<see cref="Index"/> null) or of a secondary index (GSI1..GSI3), optionally
/// narrowed by a sort-key condition, in sort-key order, at most <see cref="Limit"/> items a page.
/// Pass the previous page's <see cref="Page{T}.Cursor"/> to continue. Index queries are eventually consistent on DynamoDB.
/// </summary>
public sealed record Query(string PartitionKey)
{
    public string? Index { get; init; }
    public SortKeyCondition? SortKey { get; init; }
    public bool Descending { get; init; }
    public int Limit { get; init; } = 100;
    public string? Cursor { get; init; }
}

/// <summary>A page of results; <see cref="Cursor"/> is null on the last page. A cursor is opaque and specific to its store.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? Cursor);
