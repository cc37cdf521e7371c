using Molly.Testing;
using Xunit;

namespace Molly.Storage.Tests.DynamoDb;

/// <summary>DynamoDB-specific behaviour on DynamoDB Local (the shared semantics are in the contract suite).</summary>
[Trait("Category", "Slow")]
public sealed class DynamoDbLocalStoreTests
{
    [Fact]
    public async Task Checkpointed_feed_read_resumes_without_repeats()
    {
        var store = await DynamoDbLocal.Shared.CreateStoreAsync();
        for (var i = 0; i < 5; i++)
            await store.PutAsync(new Item("feed", $"item-{i}") { ["n"] = i });

        var first = await store.ChangeFeed.ReadAsync(null, maxChanges: 3);
        Assert.Equal(3, first.Changes.Count);

        await store.UpdateAsync(new ItemKey("feed", "item-0"), new Update().Add("n", 10));
        await store.DeleteAsync(new ItemKey("feed", "item-1"));

        var second = await store.ChangeFeed.ReadAsync(first.Checkpoint, maxChanges: 100);
        var third = await store.ChangeFeed.ReadAsync(second.Checkpoint, maxChanges: 100);
        Assert.Empty(third.Changes);

        var all = first.Changes.Concat(second.Changes).ToList();
        Assert.Equal(7, all.Count);
        Assert.Equal(all.Count, all.Select(c => c.Sequence).Distinct().Count());
        Assert.Equal(
            ["item-0", "item-1", "item-2", "item-3", "item-4", "item-0", "item-1"],
            all.Select(c => c.Key.SK));
        Assert.Equal([ChangeKind.Insert, ChangeKind.Insert, ChangeKind.Insert, ChangeKind.Insert, ChangeKind.Insert, ChangeKind.Modify, ChangeKind.Remove],
            all.Select(c => c.Kind));
        Assert.Equal(0, all[5].OldImage!.GetInt64("n"));
        Assert.Equal(10, all[5].NewImage!.GetInt64("n"));
        Assert.Equal(1, all[6].OldImage!.GetInt64("n"));

        // Reading again from the first checkpoint gives the same later changes (the read is stateless).
        var again = await store.ChangeFeed.ReadAsync(first.Checkpoint, maxChanges: 100);
        Assert.Equal(second.Changes.Select(c => c.Sequence), again.Changes.Select(c => c.Sequence));
    }

    [Fact]
    public async Task Query_pages_exactly_and_cursor_is_null_on_the_last_page()
    {
        var store = await DynamoDbLocal.Shared.CreateStoreAsync();
        for (var i = 0; i < 4; i++)
            await store.PutAsync(new Item("q", $"s{i}") { ["GSI1PK"] = "idx", ["GSI1SK"] = $"k{3 - i}" });

        var page1 = await store.QueryAsync(new Query("q") { Limit = 2 });
        Assert.Equal(["s0", "s1"], page1.Items.Select(i => i.SK));
        var page2 = await store.QueryAsync(new Query("q") { Limit = 2, Cursor = page1.Cursor });
        Assert.Equal(["s2", "s3"], page2.Items.Select(i => i.SK));
        Assert.Null(page2.Cursor);

        var byIndex = await store.QueryAsync(new Query("idx") { Index = "GSI1", Limit = 3, Descending = true });
        Assert.Equal(["s0", "s1", "s2"], byIndex.Items.Select(i => i.SK));
        Assert.NotNull(byIndex.Cursor);
        await Assert.ThrowsAsync<ArgumentException>(() => store.QueryAsync(new Query("other") { Limit = 2, Cursor = page1.Cursor }));
    }

    [Fact]
    public async Task Transaction_failure_names_the_first_failed_operation_and_writes_nothing()
    {
        var store = await DynamoDbLocal.Shared.CreateStoreAsync();
        await store.PutAsync(new Item("t", "exists") { ["version"] = 3 });

        var e = await Assert.ThrowsAsync<ConditionFailedException>(() => store.TransactWriteAsync([
            TransactOp.Put(new Item("t", "new") { ["a"] = 1 }, Condition.ItemAbsent),
            TransactOp.Update(new ItemKey("t", "exists"), new Update().Add("version", 1), Condition.VersionEquals(2)),
            TransactOp.Check(new ItemKey("t", "missing"), Condition.ItemExists),
        ]));
        Assert.Equal(1, e.OperationIndex);
        Assert.Equal(new ItemKey("t", "exists"), e.Key);
        Assert.Null(await store.GetAsync(new ItemKey("t", "new")));
        Assert.Equal(3, (await store.GetAsync(new ItemKey("t", "exists")))!.GetInt64("version"));
    }

    [Fact]
    public async Task Table_has_ttl_on_the_ttl_attribute_and_a_new_and_old_images_stream()
    {
        var table = await DynamoDbLocal.Shared.CreateTableAsync();
        using var client = DynamoDbLocal.Shared.CreateClient();
        var described = await client.DescribeTableAsync(table);
        Assert.Equal("NEW_AND_OLD_IMAGES", described.Table.StreamSpecification.StreamViewType.Value);
        Assert.Equal(["GSI1", "GSI2", "GSI3"], described.Table.GlobalSecondaryIndexes.Select(g => g.IndexName).Order());
        var ttl = await client.DescribeTimeToLiveAsync(table);
        Assert.Equal("ttl", ttl.TimeToLiveDescription.AttributeName);
    }
}
