using System.Text.Json;
using Molly.Storage.DynamoDb.Streams;
using Xunit;

namespace Molly.Storage.Tests.DynamoDb;

public sealed class StreamRecordMapperTests
{
    // The shape of a GetRecords answer as documented for DynamoDB Streams (NEW_AND_OLD_IMAGES).
    private const string Page = """
    {
      "NextShardIterator": "next-1",
      "Records": [
        {
          "eventID": "e1", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
          "dynamodb": {
            "ApproximateCreationDateTime": 1700000000.5,
            "Keys": { "PK": { "S": "acct#1" }, "SK": { "S": "bal" } },
            "NewImage": { "PK": { "S": "acct#1" }, "SK": { "S": "bal" }, "amount": { "N": "123456789012345678901234567890" },
                          "raw": { "B": "AQID" }, "ok": { "BOOL": true }, "note": { "S": "héllo" } },
            "SequenceNumber": "111100000000000000001", "SizeBytes": 80, "StreamViewType": "NEW_AND_OLD_IMAGES"
          }
        },
        {
          "eventID": "e2", "eventName": "MODIFY",
          "dynamodb": {
            "ApproximateCreationDateTime": 1700000001,
            "Keys": { "PK": { "S": "acct#1" }, "SK": { "S": "bal" } },
            "OldImage": { "PK": { "S": "acct#1" }, "SK": { "S": "bal" }, "amount": { "N": "1" } },
            "NewImage": { "PK": { "S": "acct#1" }, "SK": { "S": "bal" }, "amount": { "N": "-2" } },
            "SequenceNumber": "111100000000000000002"
          }
        },
        {
          "eventID": "e3", "eventName": "REMOVE",
          "userIdentity": { "type": "Service", "principalId": "dynamodb.amazonaws.com" },
          "dynamodb": {
            "ApproximateCreationDateTime": 1700000002,
            "Keys": { "PK": { "S": "acct#1" }, "SK": { "S": "bal" } },
            "OldImage": { "PK": { "S": "acct#1" }, "SK": { "S": "bal" }, "ttl": { "N": "1700000000" } },
            "SequenceNumber": "9"
          }
        }
      ]
    }
    """;

    private static IReadOnlyList<Change> Changes()
    {
        var page = JsonSerializer.Deserialize(Page, StreamsJsonContext.Default.GetRecordsResponse)!;
        Assert.Equal("next-1", page.NextShardIterator);
        return page.Records!.Select(StreamRecordMapper.ToChange).ToList();
    }

    [Fact]
    public void Insert_maps_key_new_image_and_every_scalar_type()
    {
        var insert = Changes()[0];
        Assert.Equal(ChangeKind.Insert, insert.Kind);
        Assert.Equal(new ItemKey("acct#1", "bal"), insert.Key);
        Assert.Null(insert.OldImage);
        var image = insert.NewImage!;
        Assert.Equal(System.Numerics.BigInteger.Parse("123456789012345678901234567890"), image.GetNumber("amount"));
        Assert.Equal(new byte[] { 1, 2, 3 }, image.GetBinary("raw")!.Value.ToArray());
        Assert.True(image.GetBool("ok"));
        Assert.Equal("héllo", image.GetString("note"));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_500), insert.CommittedAt);
    }

    [Fact]
    public void Modify_and_remove_carry_old_images()
    {
        var changes = Changes();
        Assert.Equal(ChangeKind.Modify, changes[1].Kind);
        Assert.Equal(1, changes[1].OldImage!.GetInt64("amount"));
        Assert.Equal(-2, changes[1].NewImage!.GetInt64("amount"));
        Assert.Equal(ChangeKind.Remove, changes[2].Kind);
        Assert.Null(changes[2].NewImage);
        Assert.Equal(1_700_000_000, changes[2].OldImage!.GetInt64("ttl"));
    }

    [Fact]
    public void Sequences_are_padded_so_ordinal_order_is_numeric_order()
    {
        var changes = Changes();
        Assert.Equal(40, changes[0].Sequence.Length);
        Assert.True(string.CompareOrdinal(changes[2].Sequence, changes[0].Sequence) < 0, "9 sorts before 111100000000000000001");
        Assert.True(string.CompareOrdinal(changes[0].Sequence, changes[1].Sequence) < 0);
    }

    [Fact]
    public void Unknown_event_and_unsupported_types_are_rejected()
    {
        var bad = JsonSerializer.Deserialize("""{"eventName":"UPSERT","dynamodb":{"Keys":{"PK":{"S":"a"},"SK":{"S":"b"}},"SequenceNumber":"1"}}""",
            StreamsJsonContext.Default.StreamRecordEnvelope)!;
        Assert.Throws<InvalidDataException>(() => StreamRecordMapper.ToChange(bad));
        var list = JsonSerializer.Deserialize("""{"eventName":"INSERT","dynamodb":{"NewImage":{"PK":{"S":"a"},"SK":{"S":"b"},"x":{"L":[]}},"SequenceNumber":"1"}}""",
            StreamsJsonContext.Default.StreamRecordEnvelope)!;
        Assert.Throws<InvalidDataException>(() => StreamRecordMapper.ToChange(list));
    }

    [Fact]
    public void Shards_are_ordered_parents_first()
    {
        StreamShard Shard(string id, string? parent, string start, string? end = null) => new(id, parent, new SequenceNumberRange(start, end));
        var ordered = DynamoDbChangeFeed.OrderByLineage([
            Shard("c2", "c1", "300"), Shard("c1", "root", "200", "299"), Shard("root", null, "100", "199"), Shard("other", null, "50"),
        ]);
        Assert.Equal(["other", "root", "c1", "c2"], ordered.Select(s => s.ShardId));
    }

    [Fact]
    public void Checkpoint_round_trips_and_garbage_is_rejected()
    {
        var checkpoint = new FeedCheckpoint("arn:x", new() { ["s1"] = "42" }, ["s0"]);
        var decoded = DynamoDbChangeFeed.DecodeCheckpoint(DynamoDbChangeFeed.EncodeCheckpoint(checkpoint))!;
        Assert.Equal("arn:x", decoded.StreamArn);
        Assert.Equal("42", decoded.Positions["s1"]);
        Assert.Equal(["s0"], decoded.Done);
        Assert.Throws<ArgumentException>(() => DynamoDbChangeFeed.DecodeCheckpoint("not*a*checkpoint"));
    }
}
