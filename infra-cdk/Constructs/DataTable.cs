using Amazon.CDK;
using Amazon.CDK.AWS.DynamoDB;
using Constructs;

namespace Molly.Infra.Constructs;

public sealed class DataTableProps
{
    public required bool DeletionProtection { get; init; }
    public required RemovalPolicy RemovalPolicy { get; init; }
}

/// <summary>
/// The single DynamoDB table. The key names are a contract with DynamoDbItemStore (branch storage-dynamo):
/// PK/SK, GSI1..GSI3 on GSI{n}PK/GSI{n}SK (all strings, projection ALL), TTL attribute <c>ttl</c>,
/// stream NEW_AND_OLD_IMAGES (the change feed), PITR, on-demand.
/// </summary>
public sealed class DataTable : Construct
{
    public const string PartitionKey = "PK";
    public const string SortKey = "SK";
    public const string TimeToLiveAttribute = "ttl";
    public const int IndexCount = 3;

    public static string IndexName(int n) => $"GSI{n}";

    public Table Table { get; }

    public DataTable(Construct scope, string id, DataTableProps props) : base(scope, id)
    {
        Table = new Table(this, "Table", new TableProps
        {
            PartitionKey = new Amazon.CDK.AWS.DynamoDB.Attribute { Name = PartitionKey, Type = AttributeType.STRING },
            SortKey = new Amazon.CDK.AWS.DynamoDB.Attribute { Name = SortKey, Type = AttributeType.STRING },
            BillingMode = BillingMode.PAY_PER_REQUEST,
            Stream = StreamViewType.NEW_AND_OLD_IMAGES,
            PointInTimeRecovery = true,
            TimeToLiveAttribute = TimeToLiveAttribute,
            Encryption = TableEncryption.AWS_MANAGED,
            DeletionProtection = props.DeletionProtection,
            RemovalPolicy = props.RemovalPolicy,
        });
        for (var n = 1; n <= IndexCount; n++)
        {
            Table.AddGlobalSecondaryIndex(new GlobalSecondaryIndexProps
            {
                IndexName = IndexName(n),
                PartitionKey = new Amazon.CDK.AWS.DynamoDB.Attribute { Name = $"GSI{n}PK", Type = AttributeType.STRING },
                SortKey = new Amazon.CDK.AWS.DynamoDB.Attribute { Name = $"GSI{n}SK", Type = AttributeType.STRING },
                ProjectionType = ProjectionType.ALL,
            });
        }
    }
}
