using System.Numerics;
using Xunit;

namespace Molly.Storage.Tests;

/// <summary>
/// The ONE contract of <see cref="IItemStore"/>: every implementation subclasses this with a factory for a fresh, empty
/// store per test. Tests are store-agnostic: index queries and the change feed are read by polling up to
/// <see cref="EventualTimeout"/> (they may lag on DynamoDB), never by sleeping for an assumed time.
/// </summary>
public abstract class ItemStoreContractTests : IAsyncLifetime
{
    /// <summary>A fresh, empty store (new file / new table) for each test.</summary>
    protected abstract Task<IItemStore> CreateStoreAsync();

    protected IItemStore Store { get; private set; } = null!;

    /// <summary>How long eventually consistent reads (index queries, change feed) are polled before a test fails.</summary>
    protected virtual TimeSpan EventualTimeout => TimeSpan.FromSeconds(20);

    /// <summary>Operations in the largest transaction tested: <see cref="TransactionLimits.MaxItems"/>, unless the server under
    /// test is an emulator with a lower limit (DynamoDB Local 1.11.478 still has the old limit of 10).</summary>
    protected virtual int LargestTransactionUnderTest => TransactionLimits.MaxItems;

    public virtual async Task InitializeAsync() => Store = await CreateStoreAsync();

    public virtual async Task DisposeAsync()
    {
        switch (Store)
        {
            case IAsyncDisposable a: await a.DisposeAsync(); break;
            case IDisposable d: d.Dispose(); break;
        }
    }

    // =====================================================================================================  basics

    [Fact]
    public async Task Get_of_a_missing_item_is_null()
    {
        Assert.Null(await Store.GetAsync(new ItemKey("nobody", "nothing")));
    }

    [Fact]
    public async Task Every_attribute_kind_round_trips()
    {
        var item = new Item("rt", "1")
        {
            ["text"] = "h\u00e9llo \u2713 \U0001D11E \u4e2d\u6587 \"quoted\" \\ \n",
            ["max"] = AttributeValue.MaxNumber,
            ["min"] = -AttributeValue.MaxNumber,
            ["zero"] = 0L,
            ["negative"] = -42L,
            ["raw"] = new byte[] { 0, 1, 2, 0x7f, 0x80, 0xfe, 0xff },
            ["yes"] = true,
            ["no"] = false,
        };
        await Store.PutAsync(item);

        var read = await Store.GetAsync(item.Key);

        Assert.NotNull(read);
        Assert.True(item.ContentEquals(read), "the item read back differs from the item written");
        Assert.Equal(BigInteger.Parse("99999999999999999999999999999999999999"), read.GetNumber("max"));
        Assert.Equal(BigInteger.Parse("-99999999999999999999999999999999999999"), read.GetNumber("min"));
        Assert.Equal(new byte[] { 0, 1, 2, 0x7f, 0x80, 0xfe, 0xff }, read.GetBinary("raw")!.Value.ToArray());
        Assert.Equal(AttributeKind.Bool, read["no"].Kind);
        Assert.False(read.GetBool("no"));
    }

    [Fact]
    public async Task A_number_of_more_than_38_digits_is_rejected_and_nothing_written()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => AttributeValue.Number(AttributeValue.MaxNumber + 1));
        var key = new ItemKey("big", "1");
        await Store.PutAsync(new Item(key) { ["n"] = AttributeValue.MaxNumber });

        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.UpdateAsync(key, new Update().Add("n", 1).Set("other", "x")));

        var read = await Store.GetAsync(key);
        Assert.Equal(AttributeValue.MaxNumber, read!.GetNumber("n"));
        Assert.False(read.Has("other"));
    }

    [Fact]
    public async Task An_item_over_400_KB_is_rejected_and_nothing_written()
    {
        var key = new ItemKey("large", "1");
        var big = new Item(key) { ["blob"] = new byte[Item.MaxSizeBytes] };

        var error = await Assert.ThrowsAsync<ItemTooLargeException>(() => Store.PutAsync(big));
        Assert.Equal(key, error.Key);
        Assert.Null(await Store.GetAsync(key));

        // Growing an existing item past the limit by an update is rejected too, leaving it as it was.
        await Store.PutAsync(new Item(key) { ["blob"] = new byte[300 * 1024] });
        await Assert.ThrowsAsync<ItemTooLargeException>(() =>
            Store.UpdateAsync(key, new Update().Set("more", AttributeValue.Binary(new byte[200 * 1024]))));
        var read = await Store.GetAsync(key);
        Assert.False(read!.Has("more"));
        Assert.Equal(300 * 1024, read.GetBinary("blob")!.Value.Length);
    }

    [Fact]
    public async Task An_item_just_under_the_limit_is_accepted()
    {
        var item = new Item("large", "2") { ["blob"] = new byte[390 * 1024] };
        await Store.PutAsync(item);
        Assert.True(item.ContentEquals(await Store.GetAsync(item.Key)));
    }

    [Fact]
    public async Task Index_key_attributes_must_be_strings()
    {
        var item = new Item("idx", "1") { ["GSI1PK"] = 5L, ["GSI1SK"] = "x" };
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.PutAsync(item));
        Assert.Null(await Store.GetAsync(item.Key));
    }

    [Fact]
    public async Task Put_replaces_the_whole_item()
    {
        var key = new ItemKey("put", "1");
        await Store.PutAsync(new Item(key) { ["a"] = "1", ["b"] = "2" });
        await Store.PutAsync(new Item(key) { ["c"] = "3" });

        var read = await Store.GetAsync(key);
        Assert.False(read!.Has("a"));
        Assert.False(read.Has("b"));
        Assert.Equal("3", read.GetString("c"));
    }

    // =====================================================================================================  conditions

    /// <summary>Tries an update under <paramref name="condition"/> on an item seeded as <paramref name="seed"/> (null: absent).
    /// Returns whether the write happened; when it did not, asserts the error names the key and nothing changed.</summary>
    private async Task<bool> HoldsAsync(Condition condition, Item? seed)
    {
        var key = seed?.Key ?? new ItemKey("cond", "absent");
        if (seed is not null) await Store.PutAsync(seed);
        try
        {
            var after = await Store.UpdateAsync(key, new Update().Set("touched", true), condition);
            Assert.True(after.GetBool("touched"));
            return true;
        }
        catch (ConditionFailedException e)
        {
            Assert.Equal(key, e.Key);
            Assert.Null(e.OperationIndex);
            var now = await Store.GetAsync(key);
            if (seed is null) Assert.Null(now);
            else Assert.True(seed.ContentEquals(now), "a failed condition changed the item");
            return false;
        }
    }

    private static Item Seed(params (string Name, AttributeValue Value)[] attributes)
    {
        var item = new Item("cond", "present");
        foreach (var (name, value) in attributes) item[name] = value;
        return item;
    }

    [Fact]
    public async Task ItemAbsent_holds_only_for_a_missing_item()
    {
        Assert.True(await HoldsAsync(Condition.ItemAbsent, null));
        await Store.DeleteAsync(new ItemKey("cond", "absent"));
        Assert.False(await HoldsAsync(Condition.ItemAbsent, Seed(("a", "1"))));
    }

    [Fact]
    public async Task ItemExists_holds_only_for_a_present_item()
    {
        Assert.False(await HoldsAsync(Condition.ItemExists, null));
        Assert.True(await HoldsAsync(Condition.ItemExists, Seed(("a", "1"))));
    }

    [Fact]
    public async Task AttributeEquals_compares_kind_and_value()
    {
        Assert.True(await HoldsAsync(Condition.AttributeEquals("status", "open"), Seed(("status", "open"))));
        Assert.False(await HoldsAsync(Condition.AttributeEquals("status", "open"), Seed(("status", "closed"))));
        Assert.False(await HoldsAsync(Condition.AttributeEquals("n", "5"), Seed(("n", 5L))));
        Assert.True(await HoldsAsync(Condition.AttributeEquals("n", 5L), Seed(("n", 5L))));
        Assert.False(await HoldsAsync(Condition.AttributeEquals("status", "open"), Seed()));
        Assert.False(await HoldsAsync(Condition.AttributeEquals("status", "open"), null));
    }

    [Fact]
    public async Task AttributeAbsent_holds_for_a_missing_attribute_or_item()
    {
        Assert.True(await HoldsAsync(Condition.AttributeAbsent("lock"), null));
        await Store.DeleteAsync(new ItemKey("cond", "absent"));
        Assert.True(await HoldsAsync(Condition.AttributeAbsent("lock"), Seed(("other", "x"))));
        Assert.False(await HoldsAsync(Condition.AttributeAbsent("lock"), Seed(("lock", "held"))));
    }

    [Fact]
    public async Task VersionEquals_matches_the_version_and_0_on_a_missing_item()
    {
        Assert.True(await HoldsAsync(Condition.VersionEquals(0), null));
        await Store.DeleteAsync(new ItemKey("cond", "absent"));
        Assert.False(await HoldsAsync(Condition.VersionEquals(1), null));
        Assert.True(await HoldsAsync(Condition.VersionEquals(0), Seed(("other", "x"))));
        Assert.True(await HoldsAsync(Condition.VersionEquals(3), Seed(("version", 3L))));
        Assert.False(await HoldsAsync(Condition.VersionEquals(2), Seed(("version", 3L))));
        Assert.False(await HoldsAsync(Condition.VersionEquals(0), Seed(("version", 3L))));
        Assert.True(await HoldsAsync(Condition.VersionEquals(7, "rev"), Seed(("rev", 7L), ("version", 1L))));
    }

    [Fact]
    public async Task NumberAtLeast_holds_at_and_above_the_minimum()
    {
        Assert.True(await HoldsAsync(Condition.NumberAtLeast("balance", 100), Seed(("balance", 100L))));
        Assert.True(await HoldsAsync(Condition.NumberAtLeast("balance", 100), Seed(("balance", 101L))));
        Assert.False(await HoldsAsync(Condition.NumberAtLeast("balance", 100), Seed(("balance", 99L))));
        Assert.False(await HoldsAsync(Condition.NumberAtLeast("balance", -5), Seed(("balance", -6L))));
        Assert.True(await HoldsAsync(Condition.NumberAtLeast("balance", -5), Seed(("balance", -5L))));
        Assert.True(await HoldsAsync(Condition.NumberAtLeast("balance", AttributeValue.MaxNumber), Seed(("balance", AttributeValue.MaxNumber))));
        Assert.False(await HoldsAsync(Condition.NumberAtLeast("balance", 0), Seed()));
        Assert.False(await HoldsAsync(Condition.NumberAtLeast("balance", 0), null));
    }

    [Fact]
    public async Task And_holds_only_when_all_hold()
    {
        var seed = Seed(("status", "open"), ("balance", 10L));
        Assert.True(await HoldsAsync(Condition.And(Condition.ItemExists, Condition.AttributeEquals("status", "open"), Condition.NumberAtLeast("balance", 10)), seed));
        Assert.False(await HoldsAsync(Condition.And(Condition.AttributeEquals("status", "open"), Condition.NumberAtLeast("balance", 11)), seed));
        Assert.False(await HoldsAsync(Condition.And(Condition.AttributeEquals("status", "shut"), Condition.NumberAtLeast("balance", 10)), seed));
    }

    [Fact]
    public async Task A_conditional_put_checks_the_current_item()
    {
        var key = new ItemKey("cput", "1");
        await Store.PutAsync(new Item(key) { ["v"] = 1L }, Condition.ItemAbsent);
        var e = await Assert.ThrowsAsync<ConditionFailedException>(() => Store.PutAsync(new Item(key) { ["v"] = 2L }, Condition.ItemAbsent));
        Assert.Equal(key, e.Key);
        await Store.PutAsync(new Item(key) { ["v"] = 3L }, Condition.AttributeEquals("v", 1L));
        Assert.Equal(3, (await Store.GetAsync(key))!.GetInt64("v"));
    }

    // =====================================================================================================  updates

    [Fact]
    public async Task Update_sets_adds_and_removes_and_returns_the_new_image()
    {
        var key = new ItemKey("upd", "1");
        await Store.PutAsync(new Item(key) { ["name"] = "old", ["count"] = 5L, ["gone"] = "x" });

        var after = await Store.UpdateAsync(key, new Update().Set("name", "new").Add("count", -7).Remove("gone").Add("fresh", 3));

        Assert.Equal("new", after.GetString("name"));
        Assert.Equal(-2, after.GetInt64("count"));
        Assert.Equal(3, after.GetInt64("fresh"));
        Assert.False(after.Has("gone"));
        Assert.True(after.ContentEquals(await Store.GetAsync(key)));
    }

    [Fact]
    public async Task Update_of_a_missing_item_creates_it()
    {
        var key = new ItemKey("upd", "new");
        var after = await Store.UpdateAsync(key, new Update().Set("a", "b").Add("n", 10));
        Assert.Equal(key, after.Key);
        Assert.Equal(2, after.Count);
        Assert.True(after.ContentEquals(await Store.GetAsync(key)));
    }

    [Fact]
    public async Task Adding_to_a_non_number_fails_and_changes_nothing()
    {
        var key = new ItemKey("upd", "text");
        var seed = new Item(key) { ["n"] = "not a number" };
        await Store.PutAsync(seed);
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.UpdateAsync(key, new Update().Set("x", "y").Add("n", 1)));
        Assert.True(seed.ContentEquals(await Store.GetAsync(key)));
    }

    [Fact]
    public async Task Parallel_increments_sum_exactly_and_each_sees_a_distinct_value()
    {
        var key = new ItemKey("counter", "1");
        const int tasks = 32, each = 10;
        var results = await Task.WhenAll(Enumerable.Range(0, tasks).Select(async _ =>
        {
            var seen = new List<BigInteger>();
            for (var i = 0; i < each; i++) seen.Add(await Store.IncrementAsync(key, "n", 1));
            return seen;
        }));

        var all = results.SelectMany(r => r).OrderBy(v => v).ToList();
        Assert.Equal(Enumerable.Range(1, tasks * each).Select(i => new BigInteger(i)), all);
        Assert.Equal(tasks * each, (await Store.GetAsync(key))!.GetInt64("n"));
        Assert.Equal(tasks * each - 5, await Store.IncrementAsync(key, "n", -5));
    }

    // =====================================================================================================  deletes

    [Fact]
    public async Task Delete_returns_the_old_image_and_a_missing_item_is_a_no_op()
    {
        var item = new Item("del", "1") { ["a"] = "b" };
        await Store.PutAsync(item);

        var old = await Store.DeleteAsync(item.Key);

        Assert.True(item.ContentEquals(old));
        Assert.Null(await Store.GetAsync(item.Key));
        Assert.Null(await Store.DeleteAsync(item.Key));
    }

    [Fact]
    public async Task A_conditional_delete_deletes_only_when_the_condition_holds()
    {
        var item = new Item("del", "2") { ["status"] = "open" };
        await Store.PutAsync(item);

        var e = await Assert.ThrowsAsync<ConditionFailedException>(() => Store.DeleteAsync(item.Key, Condition.AttributeEquals("status", "closed")));
        Assert.Equal(item.Key, e.Key);
        Assert.NotNull(await Store.GetAsync(item.Key));

        Assert.True(item.ContentEquals(await Store.DeleteAsync(item.Key, Condition.AttributeEquals("status", "open"))));
        Assert.Null(await Store.GetAsync(item.Key));
        await Assert.ThrowsAsync<ConditionFailedException>(() => Store.DeleteAsync(item.Key, Condition.ItemExists));
    }

    // =====================================================================================================  queries

    private static readonly string[] SortKeys =
    [
        "a#01", "a#02", "a#03", "a#04", "a#05", "a#06", "a#07", "a#08", "a#09", "a#10",
        "b#01", "b#02", "b#03", "b#04", "b#05",
        // UTF-8 byte order (DynamoDB's): 'z' (7A) < 'é' (C3 A9) < U+FFFD (EF BF BD) < U+1F600 (F0 9F 98 80).
        // UTF-16 order would put U+1F600 (a surrogate pair, D83D) before U+FFFD.
        "c#z", "c#\u00e9", "c#\uFFFD", "c#\U0001F600",
    ];

    private async Task SeedPartitionAsync()
    {
        foreach (var sk in SortKeys) await Store.PutAsync(new Item("P", sk) { ["sk"] = sk });
        await Store.PutAsync(new Item("P-other", "a#01"));
        await Store.PutAsync(new Item("Q", "a#02"));
    }

    private async Task<List<string>> SortKeysOf(Query query)
    {
        var all = await QueryAllAsync(query);
        return all.Select(i => i.SK).ToList();
    }

    /// <summary>Walks every page of a query.</summary>
    protected async Task<List<Item>> QueryAllAsync(Query query)
    {
        var items = new List<Item>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Store.QueryAsync(query with { Cursor = cursor });
            Assert.True(page.Items.Count <= query.Limit, "a page holds more than Limit items");
            items.AddRange(page.Items);
            cursor = page.Cursor;
            Assert.True(++pages < 10_000, "the query never ends");
        } while (cursor is not null);
        return items;
    }

    [Fact]
    public async Task Query_returns_the_partition_in_UTF8_sort_key_order()
    {
        await SeedPartitionAsync();
        Assert.Equal(SortKeys, await SortKeysOf(new Query("P")));
        Assert.Equal(Enumerable.Reverse(SortKeys), await SortKeysOf(new Query("P") { Descending = true }));
    }

    [Fact]
    public async Task Query_begins_with()
    {
        await SeedPartitionAsync();
        Assert.Equal(SortKeys.Where(k => k.StartsWith("a#", StringComparison.Ordinal)), await SortKeysOf(new Query("P") { SortKey = SortKeyCondition.BeginsWith("a#") }));
        Assert.Equal(["a#10"], await SortKeysOf(new Query("P") { SortKey = SortKeyCondition.BeginsWith("a#1") }));
        Assert.Equal(["c#\u00e9"], await SortKeysOf(new Query("P") { SortKey = SortKeyCondition.BeginsWith("c#\u00e9") }));
        Assert.Empty(await SortKeysOf(new Query("P") { SortKey = SortKeyCondition.BeginsWith("d") }));
    }

    [Fact]
    public async Task Query_between_is_inclusive()
    {
        await SeedPartitionAsync();
        Assert.Equal(["a#03", "a#04", "a#05"], await SortKeysOf(new Query("P") { SortKey = SortKeyCondition.Between("a#03", "a#05") }));
        Assert.Equal(["a#10", "b#01"], await SortKeysOf(new Query("P") { SortKey = SortKeyCondition.Between("a#095", "b#01") }));
    }

    [Fact]
    public async Task Query_greater_than_less_than_and_equal_to()
    {
        await SeedPartitionAsync();
        Assert.Equal(["b#04", "b#05", "c#z", "c#\u00e9", "c#\uFFFD", "c#\U0001F600"], await SortKeysOf(new Query("P") { SortKey = SortKeyCondition.GreaterThan("b#03") }));
        Assert.Equal(["a#01", "a#02"], await SortKeysOf(new Query("P") { SortKey = SortKeyCondition.LessThan("a#03") }));
        Assert.Equal(["a#02", "a#01"], await SortKeysOf(new Query("P") { SortKey = SortKeyCondition.LessThan("a#03"), Descending = true }));
        Assert.Equal(["b#02"], await SortKeysOf(new Query("P") { SortKey = SortKeyCondition.EqualTo("b#02") }));
        Assert.Empty(await SortKeysOf(new Query("P") { SortKey = SortKeyCondition.EqualTo("b#2") }));
        Assert.Empty(await SortKeysOf(new Query("nobody")));
    }

    [Fact]
    public async Task Query_descending_with_a_condition()
    {
        await SeedPartitionAsync();
        Assert.Equal(["b#05", "b#04", "b#03", "b#02", "b#01"], await SortKeysOf(new Query("P") { SortKey = SortKeyCondition.BeginsWith("b#"), Descending = true }));
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(3, false)]
    [InlineData(3, true)]
    [InlineData(19, false)]
    [InlineData(20, true)]
    public async Task Limit_and_cursor_walk_every_item_once(int limit, bool descending)
    {
        await SeedPartitionAsync();
        var query = new Query("P") { Limit = limit, Descending = descending };

        var first = await Store.QueryAsync(query);
        Assert.Equal(Math.Min(limit, SortKeys.Length), first.Items.Count);
        var walked = await SortKeysOf(query);

        Assert.Equal(descending ? Enumerable.Reverse(SortKeys) : SortKeys, walked);
    }

    [Fact]
    public async Task Query_of_a_secondary_index_is_sparse_ordered_and_pages_through_ties()
    {
        // Five items share GSI1SK "2024-01-02" so paging must order ties by the table key.
        for (var i = 0; i < 12; i++)
        {
            var item = new Item("order#" + i.ToString("D2", System.Globalization.CultureInfo.InvariantCulture), "meta")
            {
                ["GSI1PK"] = i % 3 == 0 ? "merchant#B" : "merchant#A",
                ["GSI1SK"] = i < 5 ? "2024-01-02" : "2024-01-" + (10 + i).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["GSI2PK"] = "status#open",
                ["GSI2SK"] = "x" + i.ToString("D2", System.Globalization.CultureInfo.InvariantCulture),
            };
            await Store.PutAsync(item);
        }
        await Store.PutAsync(new Item("order#sparse", "meta") { ["GSI1PK"] = "merchant#A" }); // no GSI1SK: not in the index

        var expectedA = Enumerable.Range(0, 12).Where(i => i % 3 != 0)
            .Select(i => (Sk: i < 5 ? "2024-01-02" : "2024-01-" + (10 + i), Pk: "order#" + i.ToString("D2", System.Globalization.CultureInfo.InvariantCulture)))
            .OrderBy(x => x.Sk, StringComparer.Ordinal).ThenBy(x => x.Pk, StringComparer.Ordinal).Select(x => x.Pk).ToList();

        var gsi1 = new Query("merchant#A") { Index = "GSI1", Limit = 1 };
        // Items whose index sort keys tie come in an order each store chooses (DynamoDB does not order ties by the table
        // key), so the walk is checked as: index sort keys in order, every item exactly once.
        var walkedItems = await EventuallyAsync(() => QueryAllAsync(gsi1), r => r.Count >= expectedA.Count);
        var walked = walkedItems.Select(i => i.PK).ToList();
        Assert.Equal(walkedItems.Select(i => i.GetString("GSI1SK")).Order(StringComparer.Ordinal), walkedItems.Select(i => i.GetString("GSI1SK")));
        Assert.Equal(expectedA.Order(StringComparer.Ordinal), walked.Order(StringComparer.Ordinal));
        Assert.Equal(expectedA.Skip(5), walked.Skip(5)); // past the ties the order is fixed

        var walkedDownItems = await QueryAllAsync(gsi1 with { Descending = true, Limit = 2 });
        Assert.Equal(walkedDownItems.Select(i => i.GetString("GSI1SK")).Order(StringComparer.Ordinal).Reverse(), walkedDownItems.Select(i => i.GetString("GSI1SK")));
        Assert.Equal(expectedA.Order(StringComparer.Ordinal), walkedDownItems.Select(i => i.PK).Order(StringComparer.Ordinal));

        var ranged = (await QueryAllAsync(new Query("merchant#A") { Index = "GSI1", SortKey = SortKeyCondition.Between("2024-01-15", "2024-01-18") }))
            .Select(i => i.GetString("GSI1SK")).ToList();
        Assert.Equal(["2024-01-15", "2024-01-17", "2024-01-18"], ranged); // i = 5, 7, 8 (i = 6 is merchant B)

        var gsi2 = await QueryAllAsync(new Query("status#open") { Index = "GSI2", SortKey = SortKeyCondition.BeginsWith("x1"), Limit = 1 });
        Assert.Equal(["order#10", "order#11"], gsi2.Select(i => i.PK));
        Assert.Equal("meta", gsi2[0].SK);
        Assert.Equal("merchant#A", gsi2[0].GetString("GSI1PK"));
    }

    [Fact]
    public async Task An_item_leaves_an_index_when_its_index_key_is_removed()
    {
        var key = new ItemKey("inv", "1");
        await Store.PutAsync(new Item(key) { ["GSI3PK"] = "g", ["GSI3SK"] = "1" });
        await Store.UpdateAsync(key, new Update().Remove("GSI3SK"));
        await Store.PutAsync(new Item("inv", "2") { ["GSI3PK"] = "g", ["GSI3SK"] = "2" });

        var items = await EventuallyAsync(() => QueryAllAsync(new Query("g") { Index = "GSI3" }), r => r.Count == 1 && r[0].SK == "2");
        Assert.Equal(["2"], items.Select(i => i.SK));
    }

    [Fact]
    public async Task Pagination_during_concurrent_inserts_loses_and_repeats_nothing()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        var existing = Enumerable.Range(0, 60).Select(i => "k#" + (i * 10).ToString("D4", inv)).ToList();
        foreach (var sk in existing) await Store.PutAsync(new Item("walk", sk));

        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            // Inserts between and around the existing keys while the walk runs.
            for (var i = 0; !stop.IsCancellationRequested && i < 600; i++)
            {
                await Store.PutAsync(new Item("walk", "k#" + (i + 1 + i / 9).ToString("D4", inv) + "-new"));
            }
        });

        var seen = new List<string>();
        string? cursor = null;
        do
        {
            var page = await Store.QueryAsync(new Query("walk") { Limit = 7, Cursor = cursor });
            seen.AddRange(page.Items.Select(i => i.SK));
            cursor = page.Cursor;
            // Interleave deterministically as well: one insert before and one after the next page's start.
            if (page.Items.Count > 0)
            {
                await Store.PutAsync(new Item("walk", page.Items[^1].SK + "-between"));
                await Store.PutAsync(new Item("walk", page.Items[0].SK + "-behind"));
            }
        } while (cursor is not null);
        await stop.CancelAsync();
        await writer;

        Assert.Equal(seen.Count, seen.Distinct(StringComparer.Ordinal).Count());
        Assert.All(existing, sk => Assert.Contains(sk, seen));
        Assert.Equal(seen.OrderBy(s => s, StringComparer.Ordinal), seen);
    }

    // =====================================================================================================  transactions

    [Fact]
    public async Task A_transaction_is_all_or_nothing_and_names_the_failing_operation()
    {
        var b = new Item("tx", "b") { ["n"] = 1L };
        var c = new Item("tx", "c") { ["keep"] = true };
        var d = new Item("tx", "d") { ["status"] = "open" };
        await Store.PutAsync(b);
        await Store.PutAsync(c);
        await Store.PutAsync(d);

        var e = await Assert.ThrowsAsync<ConditionFailedException>(() => Store.TransactWriteAsync(
        [
            TransactOp.Put(new Item("tx", "a") { ["x"] = "y" }, Condition.ItemAbsent),
            TransactOp.Update(b.Key, new Update().Add("n", 1)),
            TransactOp.Delete(c.Key),
            TransactOp.Update(d.Key, new Update().Set("status", "paid"), Condition.AttributeEquals("status", "pending")),
            TransactOp.Put(new Item("tx", "e"), Condition.ItemAbsent),
        ]));

        Assert.Equal(3, e.OperationIndex);
        Assert.Equal(d.Key, e.Key);
        Assert.Null(await Store.GetAsync(new ItemKey("tx", "a")));
        Assert.True(b.ContentEquals(await Store.GetAsync(b.Key)));
        Assert.True(c.ContentEquals(await Store.GetAsync(c.Key)));
        Assert.True(d.ContentEquals(await Store.GetAsync(d.Key)));
        Assert.Null(await Store.GetAsync(new ItemKey("tx", "e")));
    }

    [Fact]
    public async Task A_transaction_commits_every_operation()
    {
        var b = new Item("tx", "b") { ["n"] = 1L };
        var c = new Item("tx", "c");
        await Store.PutAsync(b);
        await Store.PutAsync(c);

        await Store.TransactWriteAsync(
        [
            TransactOp.Put(new Item("tx", "a") { ["x"] = "y" }, Condition.ItemAbsent),
            TransactOp.Update(b.Key, new Update().Add("n", 41), Condition.VersionEquals(0)),
            TransactOp.Delete(c.Key, Condition.ItemExists),
        ]);

        Assert.Equal("y", (await Store.GetAsync(new ItemKey("tx", "a")))!.GetString("x"));
        Assert.Equal(42, (await Store.GetAsync(b.Key))!.GetInt64("n"));
        Assert.Null(await Store.GetAsync(c.Key));
    }

    [Fact]
    public async Task A_check_operation_guards_a_transaction_without_writing()
    {
        var guard = new Item("tx", "guard") { ["open"] = true };
        await Store.PutAsync(guard);
        var target = new ItemKey("tx", "target");

        var e = await Assert.ThrowsAsync<ConditionFailedException>(() => Store.TransactWriteAsync(
        [
            TransactOp.Put(new Item(target) { ["v"] = 1L }),
            TransactOp.Check(guard.Key, Condition.AttributeEquals("open", false)),
        ]));
        Assert.Equal(1, e.OperationIndex);
        Assert.Equal(guard.Key, e.Key);
        Assert.Null(await Store.GetAsync(target));

        await Store.TransactWriteAsync(
        [
            TransactOp.Put(new Item(target) { ["v"] = 1L }),
            TransactOp.Check(guard.Key, Condition.AttributeEquals("open", true)),
        ]);
        Assert.NotNull(await Store.GetAsync(target));
        Assert.True(guard.ContentEquals(await Store.GetAsync(guard.Key)));
    }

    [Fact]
    public async Task A_transaction_of_100_operations_commits()
    {
        var ops = Enumerable.Range(0, LargestTransactionUnderTest)
            .Select(i => TransactOp.Put(new Item("tx100", i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture)) { ["i"] = (long)i }, Condition.ItemAbsent))
            .ToList();
        await Store.TransactWriteAsync(ops);
        Assert.Equal(LargestTransactionUnderTest, (await QueryAllAsync(new Query("tx100"))).Count);
    }

    [Fact]
    public async Task Transactions_over_100_operations_or_with_a_key_twice_or_empty_are_rejected_before_any_write()
    {
        var tooMany = Enumerable.Range(0, TransactionLimits.MaxItems + 1)
            .Select(i => TransactOp.Put(new Item("txbad", i.ToString("D3", System.Globalization.CultureInfo.InvariantCulture))))
            .ToList();
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.TransactWriteAsync(tooMany));

        var twice = new List<TransactOp>
        {
            TransactOp.Put(new Item("txbad", "000")),
            TransactOp.Update(new ItemKey("txbad", "001"), new Update().Set("a", "b")),
            TransactOp.Check(new ItemKey("txbad", "000"), Condition.ItemAbsent),
        };
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.TransactWriteAsync(twice));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.TransactWriteAsync([]));

        var tooLarge = new List<TransactOp>
        {
            TransactOp.Put(new Item("txbad", "000")),
            TransactOp.Put(new Item("txbad", "big") { ["blob"] = new byte[Item.MaxSizeBytes] }),
        };
        await Assert.ThrowsAsync<ItemTooLargeException>(() => Store.TransactWriteAsync(tooLarge));

        Assert.Empty(await QueryAllAsync(new Query("txbad")));
    }

    [Fact]
    public async Task An_update_that_fails_inside_a_transaction_undoes_the_whole_transaction()
    {
        var text = new Item("txerr", "text") { ["n"] = "abc" };
        await Store.PutAsync(text);
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Store.TransactWriteAsync(
        [
            TransactOp.Put(new Item("txerr", "first")),
            TransactOp.Update(text.Key, new Update().Add("n", 1)),
        ]));
        Assert.Null(await Store.GetAsync(new ItemKey("txerr", "first")));
        Assert.True(text.ContentEquals(await Store.GetAsync(text.Key)));
    }

    // =====================================================================================================  concurrency

    [Fact]
    public async Task Of_concurrent_create_only_puts_on_one_key_exactly_one_wins()
    {
        var key = new ItemKey("race", "1");
        const int writers = 24;
        var outcomes = await Task.WhenAll(Enumerable.Range(0, writers).Select(async i =>
        {
            await Task.Yield();
            try
            {
                await Store.PutAsync(new Item(key) { ["writer"] = (long)i }, Condition.ItemAbsent);
                return i;
            }
            catch (ConditionFailedException)
            {
                return -1;
            }
        }));

        var winners = outcomes.Where(o => o >= 0).ToList();
        Assert.Single(winners);
        Assert.Equal(winners[0], (await Store.GetAsync(key))!.GetInt64("writer"));
    }

    [Fact]
    public async Task Optimistic_concurrency_with_versions_loses_no_update()
    {
        var key = new ItemKey("occ", "1");
        const int workers = 8, each = 5;
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
        {
            for (var done = 0; done < each;)
            {
                var current = await Store.GetAsync(key);
                var version = current?.GetInt64("version") ?? 0;
                var next = new Item(key) { ["version"] = version + 1, ["log"] = (current?.GetString("log") ?? "") + w };
                try
                {
                    await Store.PutAsync(next, Condition.VersionEquals(version));
                    done++;
                }
                catch (ConditionFailedException)
                {
                    // lost the race: re-read and retry
                }
            }
        }));

        var final = await Store.GetAsync(key);
        Assert.Equal(workers * each, final!.GetInt64("version"));
        Assert.Equal(workers * each, final.GetString("log")!.Length);
    }

    // =====================================================================================================  change feed

    /// <summary>Reads the feed from <paramref name="checkpoint"/> until <paramref name="done"/> holds for what was read.</summary>
    protected async Task<(List<Change> Changes, string Checkpoint)> ReadFeedUntilAsync(string? checkpoint, Func<List<Change>, bool> done, int maxChanges = 1000)
    {
        var changes = new List<Change>();
        var deadline = DateTime.UtcNow + EventualTimeout;
        while (true)
        {
            var batch = await Store.ChangeFeed.ReadAsync(checkpoint, maxChanges);
            Assert.True(batch.Changes.Count <= maxChanges, "the feed returned more than maxChanges");
            changes.AddRange(batch.Changes);
            checkpoint = batch.Checkpoint;
            if (done(changes)) return (changes, checkpoint);
            Assert.True(DateTime.UtcNow < deadline, $"the change feed did not deliver the expected changes in {EventualTimeout}; got {changes.Count}");
            if (batch.Changes.Count == 0) await Task.Delay(50);
        }
    }

    private static List<Change> Of(List<Change> changes, ItemKey key) => changes.Where(c => c.Key == key).ToList();

    private static BigInteger SequenceValue(Change c) => BigInteger.Parse(c.Sequence, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task The_feed_carries_insert_modify_and_remove_with_old_and_new_images()
    {
        var key = new ItemKey("feed", "1");
        var v1 = new Item(key) { ["v"] = 1L, ["name"] = "first" };
        var v2 = new Item(key) { ["v"] = 2L };
        await Store.PutAsync(v1);
        await Store.PutAsync(v2);
        await Store.DeleteAsync(key);

        var (changes, _) = await ReadFeedUntilAsync(null, c => Of(c, key).Count >= 3);
        var mine = Of(changes, key);

        Assert.Equal([ChangeKind.Insert, ChangeKind.Modify, ChangeKind.Remove], mine.Select(c => c.Kind));
        Assert.Null(mine[0].OldImage);
        Assert.True(v1.ContentEquals(mine[0].NewImage));
        Assert.True(v1.ContentEquals(mine[1].OldImage));
        Assert.True(v2.ContentEquals(mine[1].NewImage));
        Assert.True(v2.ContentEquals(mine[2].OldImage));
        Assert.Null(mine[2].NewImage);
        Assert.All(mine, c => Assert.Equal(key, c.Key));
        Assert.Equal(3, mine.Select(c => c.Sequence).Distinct().Count());
    }

    [Fact]
    public async Task The_feed_records_updates_and_puts_and_skips_deletes_of_missing_items()
    {
        var key = new ItemKey("feed", "2");
        await Store.DeleteAsync(key);                                    // missing: no change
        await Store.UpdateAsync(key, new Update().Set("a", "1"));         // creates: Insert
        await Store.PutAsync(new Item(key) { ["a"] = "2" });              // Modify (a write that changes nothing may
                                                                          // leave no record on DynamoDB Streams)
        var other = new ItemKey("feed", "2b");
        await Store.DeleteAsync(other, Condition.ItemAbsent);             // missing, condition holds: no change
        await Store.PutAsync(new Item(other) { ["marker"] = true });

        var (changes, _) = await ReadFeedUntilAsync(null, c => Of(c, key).Count >= 2 && Of(c, other).Count >= 1);

        var mine = Of(changes, key);
        Assert.Equal([ChangeKind.Insert, ChangeKind.Modify], mine.Select(c => c.Kind));
        Assert.Equal("1", mine[1].OldImage!.GetString("a"));
        Assert.Equal("2", mine[1].NewImage!.GetString("a"));
        Assert.Equal([ChangeKind.Insert], Of(changes, other).Select(c => c.Kind));
    }

    [Fact]
    public async Task The_feed_keeps_commit_order_per_item()
    {
        var keys = Enumerable.Range(0, 4).Select(i => new ItemKey("order", i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToList();
        const int updates = 15;
        await Task.WhenAll(keys.Select(async k =>
        {
            for (var i = 0; i < updates; i++) await Store.IncrementAsync(k, "n", 1);
        }));

        var (changes, _) = await ReadFeedUntilAsync(null, c => keys.All(k => Of(c, k).Count >= updates));

        foreach (var k in keys)
        {
            var mine = Of(changes, k);
            Assert.Equal(updates, mine.Count);
            for (var i = 0; i < mine.Count; i++)
            {
                Assert.Equal(i + 1, mine[i].NewImage!.GetInt64("n"));
                if (i > 0)
                {
                    Assert.True(mine[i - 1].NewImage!.ContentEquals(mine[i].OldImage), "images do not chain");
                    Assert.True(SequenceValue(mine[i - 1]) < SequenceValue(mine[i]), "sequences do not increase");
                }
            }
        }
    }

    [Fact]
    public async Task Resuming_from_a_checkpoint_gives_no_repeats_and_no_gaps()
    {
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        for (var i = 0; i < 10; i++) await Store.PutAsync(new Item("resume", i.ToString("D2", inv)));

        var seen = new List<Change>();
        string? checkpoint = null;
        var deadline = DateTime.UtcNow + EventualTimeout;
        while (seen.Count < 10)
        {
            var batch = await Store.ChangeFeed.ReadAsync(checkpoint, 3);
            Assert.True(batch.Changes.Count <= 3);
            seen.AddRange(batch.Changes);
            checkpoint = batch.Checkpoint;
            Assert.True(DateTime.UtcNow < deadline, "the feed did not deliver 10 changes");
        }

        for (var i = 10; i < 15; i++) await Store.PutAsync(new Item("resume", i.ToString("D2", inv)));
        var (rest, last) = await ReadFeedUntilAsync(checkpoint, c => c.Count >= 5, 2);
        seen.AddRange(rest);

        Assert.Equal(Enumerable.Range(0, 15).Select(i => i.ToString("D2", inv)), seen.Select(c => c.Key.SK).OrderBy(s => s, StringComparer.Ordinal));
        Assert.Equal(15, seen.Select(c => c.Sequence).Distinct().Count());

        var after = await Store.ChangeFeed.ReadAsync(last, 100);
        Assert.Empty(after.Changes);
    }

    [Fact]
    public async Task Failed_writes_and_transactions_emit_nothing()
    {
        var a = new ItemKey("nofeed", "a");
        var b = new ItemKey("nofeed", "b");
        await Store.PutAsync(new Item(b) { ["v"] = 1L });
        await Assert.ThrowsAsync<ConditionFailedException>(() => Store.TransactWriteAsync(
        [
            TransactOp.Put(new Item(a) { ["from"] = "failed tx" }),
            TransactOp.Update(b, new Update().Set("from", "failed tx"), Condition.AttributeEquals("v", 2L)),
        ]));
        await Assert.ThrowsAsync<ConditionFailedException>(() => Store.PutAsync(new Item(b) { ["from"] = "failed put" }, Condition.ItemAbsent));
        await Assert.ThrowsAsync<ConditionFailedException>(() => Store.DeleteAsync(b, Condition.AttributeEquals("v", 3L)));
        await Assert.ThrowsAsync<ItemTooLargeException>(() => Store.PutAsync(new Item(a) { ["blob"] = new byte[Item.MaxSizeBytes] }));

        // Markers written afterwards on the same items: per-item order means anything the failures emitted would precede them.
        await Store.PutAsync(new Item(a) { ["marker"] = true });
        await Store.PutAsync(new Item(b) { ["marker"] = true });

        var (changes, _) = await ReadFeedUntilAsync(null, c => Of(c, a).Count >= 1 && Of(c, b).Count >= 2);
        var ofA = Of(changes, a);
        var ofB = Of(changes, b);
        Assert.Equal([ChangeKind.Insert], ofA.Select(c => c.Kind));
        Assert.True(ofA[0].NewImage!.GetBool("marker"));
        Assert.Equal([ChangeKind.Insert, ChangeKind.Modify], ofB.Select(c => c.Kind));
        Assert.True(ofB[1].NewImage!.GetBool("marker"));
        Assert.DoesNotContain(changes, c => c.NewImage?.Has("from") == true);
    }

    [Fact]
    public async Task A_transaction_emits_one_change_per_written_item()
    {
        var existing = new Item("txfeed", "existing") { ["v"] = 1L };
        var doomed = new Item("txfeed", "doomed");
        var guard = new Item("txfeed", "guard");
        await Store.PutAsync(existing);
        await Store.PutAsync(doomed);
        await Store.PutAsync(guard);
        var (before, checkpoint) = await ReadFeedUntilAsync(null, c => c.Count(x => x.Key.PK == "txfeed") >= 3);

        await Store.TransactWriteAsync(
        [
            TransactOp.Put(new Item("txfeed", "new") { ["v"] = 1L }),
            TransactOp.Update(existing.Key, new Update().Add("v", 1)),
            TransactOp.Delete(doomed.Key),
            TransactOp.Check(guard.Key, Condition.ItemExists),
            TransactOp.Delete(new ItemKey("txfeed", "never-existed")),
        ]);
        await Store.PutAsync(new Item(guard.Key) { ["marker"] = true });

        var (changes, _) = await ReadFeedUntilAsync(checkpoint, c => Of(c, guard.Key).Count >= 1);
        var tx = changes.Where(c => c.Key.PK == "txfeed" && c.Key != guard.Key).OrderBy(c => c.Key.SK, StringComparer.Ordinal).ToList();
        Assert.Equal(["doomed", "existing", "new"], tx.Select(c => c.Key.SK));
        Assert.Equal([ChangeKind.Remove, ChangeKind.Modify, ChangeKind.Insert], tx.Select(c => c.Kind));
        Assert.Equal(2, tx[1].NewImage!.GetInt64("v"));
        Assert.Equal([ChangeKind.Modify], Of(changes, guard.Key).Select(c => c.Kind)); // the check wrote nothing
    }

    // =====================================================================================================  consumer

    private async Task<List<Change>> ConsumeUntilAsync(ChangeFeedConsumer consumer, List<Change> sink, int atLeast)
    {
        var deadline = DateTime.UtcNow + EventualTimeout;
        while (sink.Count < atLeast)
        {
            await consumer.RunOnceAsync();
            Assert.True(DateTime.UtcNow < deadline, $"the consumer received {sink.Count} of {atLeast} changes");
            if (sink.Count < atLeast) await Task.Delay(50);
        }
        return sink;
    }

    [Fact]
    public async Task The_consumer_persists_its_checkpoint_and_resumes_after_it()
    {
        for (var i = 0; i < 5; i++) await Store.PutAsync(new Item("cons", "a" + i));
        var received = new List<Change>();
        Task Handle(IReadOnlyList<Change> batch, CancellationToken _)
        {
            received.AddRange(batch);
            return Task.CompletedTask;
        }

        var first = new ChangeFeedConsumer(Store, "projector", Handle, new ChangeFeedConsumerOptions { BatchSize = 2 });
        await ConsumeUntilAsync(first, received, 5);
        Assert.Equal(5, received.Count);
        var checkpoint = await Store.GetAsync(new ItemKey(ChangeFeedConsumer.CheckpointPartition, "projector"));
        Assert.NotNull(checkpoint);
        Assert.NotNull(checkpoint.GetString("checkpoint"));

        for (var i = 0; i < 3; i++) await Store.PutAsync(new Item("cons", "b" + i));
        received.Clear();
        var second = new ChangeFeedConsumer(Store, "projector", Handle);
        await ConsumeUntilAsync(second, received, 3);
        Assert.Equal(0, await second.RunOnceAsync());

        Assert.Equal(["b0", "b1", "b2"], received.Select(c => c.Key.SK).OrderBy(s => s, StringComparer.Ordinal));
        Assert.DoesNotContain(received, c => c.Key.PK == ChangeFeedConsumer.CheckpointPartition);
    }

    [Fact]
    public async Task The_consumer_redelivers_a_batch_whose_handler_failed()
    {
        await Store.PutAsync(new Item("cons", "x"));
        var attempts = 0;
        var received = new List<Change>();
        var consumer = new ChangeFeedConsumer(Store, "flaky", (batch, _) =>
        {
            if (++attempts == 1) throw new InvalidOperationException("handler down");
            received.AddRange(batch);
            return Task.CompletedTask;
        });

        await EventuallyAsync(async () =>
        {
            try { await consumer.RunOnceAsync(); } catch (InvalidOperationException) { }
            return attempts;
        }, n => n >= 1);
        Assert.Empty(received);
        Assert.Null(await Store.GetAsync(new ItemKey(ChangeFeedConsumer.CheckpointPartition, "flaky")));

        await ConsumeUntilAsync(new ChangeFeedConsumer(Store, "flaky", (batch, _) => { received.AddRange(batch); return Task.CompletedTask; }), received, 1);
        Assert.Equal([new ItemKey("cons", "x")], received.Select(c => c.Key));
    }

    [Fact]
    public async Task Consumers_with_different_names_each_see_every_change()
    {
        await Store.PutAsync(new Item("cons", "shared"));
        var a = new List<Change>();
        var b = new List<Change>();
        await ConsumeUntilAsync(new ChangeFeedConsumer(Store, "a", (x, _) => { a.AddRange(x); return Task.CompletedTask; }), a, 1);
        await ConsumeUntilAsync(new ChangeFeedConsumer(Store, "b", (x, _) => { b.AddRange(x); return Task.CompletedTask; }), b, 1);
        Assert.Equal(a.Select(c => c.Key), b.Select(c => c.Key));
        Assert.Single(a);
    }

    [Fact]
    public async Task A_consumer_with_key_prefixes_gets_only_those_items_and_moves_past_the_rest()
    {
        for (var i = 0; i < 7; i++) await Store.PutAsync(new Item($"noise#{i}", "x"));
        await Store.PutAsync(new Item("want#a", "x"));
        for (var i = 7; i < 12; i++) await Store.PutAsync(new Item($"noise#{i}", "x"));
        await Store.PutAsync(new Item("wanted", "x")); // starts with "want", not with "want#"
        await Store.PutAsync(new Item("also#b", "x"));
        var received = new List<Change>();
        var consumer = new ChangeFeedConsumer(Store, "prefixed", (x, _) => { received.AddRange(x); return Task.CompletedTask; },
            new ChangeFeedConsumerOptions { BatchSize = 3, KeyPrefixes = ["want#", "also#"] });

        await ConsumeUntilAsync(consumer, received, 2);
        Assert.Equal(["want#a", "also#b"], received.Select(c => c.Key.PK));

        await Store.PutAsync(new Item("noise#z", "x"));
        await Store.PutAsync(new Item("want#c", "x"));
        await ConsumeUntilAsync(consumer, received, 3);
        Assert.Equal(["want#a", "also#b", "want#c"], received.Select(c => c.Key.PK));

        // The stored checkpoint is past what was handed over: a new instance starts after it.
        var restarted = new List<Change>();
        await Store.PutAsync(new Item("also#d", "x"));
        await ConsumeUntilAsync(new ChangeFeedConsumer(Store, "prefixed", (x, _) => { restarted.AddRange(x); return Task.CompletedTask; },
            new ChangeFeedConsumerOptions { KeyPrefixes = ["want#", "also#"] }), restarted, 1);
        Assert.Equal(["also#d"], restarted.Select(c => c.Key.PK));
    }

    [Fact]
    public async Task RunAsync_stops_when_cancelled()
    {
        await Store.PutAsync(new Item("cons", "run"));
        var received = new TaskCompletionSource<Change>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new ChangeFeedConsumer(Store, "runner", (x, _) => { received.TrySetResult(x[0]); return Task.CompletedTask; },
            new ChangeFeedConsumerOptions { PollInterval = TimeSpan.FromMilliseconds(20) });
        using var cts = new CancellationTokenSource();
        var run = consumer.RunAsync(cts.Token);

        var change = await received.Task.WaitAsync(EventualTimeout);
        Assert.Equal(new ItemKey("cons", "run"), change.Key);
        await cts.CancelAsync();
        await run.WaitAsync(EventualTimeout);
        Assert.True(run.IsCompletedSuccessfully);
    }

    // =====================================================================================================  helpers

    /// <summary>Polls <paramref name="read"/> until <paramref name="done"/> holds or <see cref="EventualTimeout"/> passes.</summary>
    protected async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow + EventualTimeout;
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline) return value;
            await Task.Delay(50);
        }
    }
}
