using Molly.Testing;
using Xunit;

namespace Molly.Storage.Tests;

/// <summary>The contract suite against <see cref="Molly.Storage.DynamoDb.DynamoDbItemStore"/> on DynamoDB Local: a new table per test.</summary>
[Trait("Category", "Slow")]
public sealed class DynamoDbItemStoreContractTests : ItemStoreContractTests
{
    protected override async Task<IItemStore> CreateStoreAsync() => await DynamoDbLocal.Shared.CreateStoreAsync();

    /// <summary>DynamoDB Local 1.11.478 rejects transactions of more than 10 items (AWS itself allows 100).</summary>
    protected override int LargestTransactionUnderTest => 10;
}
