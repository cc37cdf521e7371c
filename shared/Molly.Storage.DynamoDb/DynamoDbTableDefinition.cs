using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Molly.Storage;

namespace Molly.Storage.DynamoDb;

/// <summary>
/// The single table, in one place. The CDK stack (infra) must declare exactly these names:
/// partition key <c>PK</c> (S), sort key <c>SK</c> (S); global secondary indexes <c>GSI1</c>..<c>GSI3</c> keyed by
/// <c>GSI{n}PK</c> (S) / <c>GSI{n}SK</c> (S), projection ALL; stream NEW_AND_OLD_IMAGES; TTL attribute <c>ttl</c>
/// (epoch seconds); billing PAY_PER_REQUEST.
/// </summary>
public static class DynamoDbTableDefinition
{
    public const string PartitionKey = KeyNames.PK;
    public const string SortKey = KeyNames.SK;
    public const string TimeToLiveAttribute = "ttl";
    public static readonly StreamViewType StreamView = StreamViewType.NEW_AND_OLD_IMAGES;
    public static readonly BillingMode Billing = BillingMode.PAY_PER_REQUEST;

    /// <summary>The index names (GSI1..GSI3), each keyed by <see cref="KeyNames.IndexPK"/> / <see cref="KeyNames.IndexSK"/>.</summary>
    public static IReadOnlyList<string> Indexes => KeyNames.Indexes;

    /// <summary>The CreateTable request for tests and the local run (in AWS the CDK stack creates the table).</summary>
    public static CreateTableRequest CreateTableRequest(string tableName)
    {
        ArgumentException.ThrowIfNullOrEmpty(tableName);
        var attributes = new List<AttributeDefinition>
        {
            new(PartitionKey, ScalarAttributeType.S),
            new(SortKey, ScalarAttributeType.S),
        };
        var indexes = new List<GlobalSecondaryIndex>();
        foreach (var index in Indexes)
        {
            attributes.Add(new AttributeDefinition(KeyNames.IndexPK(index), ScalarAttributeType.S));
            attributes.Add(new AttributeDefinition(KeyNames.IndexSK(index), ScalarAttributeType.S));
            indexes.Add(new GlobalSecondaryIndex
            {
                IndexName = index,
                KeySchema =
                [
                    new KeySchemaElement(KeyNames.IndexPK(index), KeyType.HASH),
                    new KeySchemaElement(KeyNames.IndexSK(index), KeyType.RANGE),
                ],
                Projection = new Projection { ProjectionType = ProjectionType.ALL },
            });
        }

        return new CreateTableRequest
        {
            TableName = tableName,
            AttributeDefinitions = attributes,
            KeySchema =
            [
                new KeySchemaElement(PartitionKey, KeyType.HASH),
                new KeySchemaElement(SortKey, KeyType.RANGE),
            ],
            GlobalSecondaryIndexes = indexes,
            BillingMode = Billing,
            StreamSpecification = new StreamSpecification { StreamEnabled = true, StreamViewType = StreamView },
        };
    }

    /// <summary>The TTL setting that follows table creation.</summary>
    public static UpdateTimeToLiveRequest TimeToLiveRequest(string tableName) => new()
    {
        TableName = tableName,
        TimeToLiveSpecification = new TimeToLiveSpecification { AttributeName = TimeToLiveAttribute, Enabled = true },
    };

    /// <summary>Creates the table, waits until it is ACTIVE and enables TTL (tests and the local run).</summary>
    public static async Task CreateAsync(IAmazonDynamoDB client, string tableName, CancellationToken ct = default)
    {
        await client.CreateTableAsync(CreateTableRequest(tableName), ct).ConfigureAwait(false);
        for (var attempt = 0; ; attempt++)
        {
            var described = await client.DescribeTableAsync(tableName, ct).ConfigureAwait(false);
            if (described.Table.TableStatus == TableStatus.ACTIVE) break;
            if (attempt > 600) throw new TimeoutException($"Table {tableName} did not become ACTIVE.");
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
        await client.UpdateTimeToLiveAsync(TimeToLiveRequest(tableName), ct).ConfigureAwait(false);
    }
}
