using System.Text.Json;
using System.Text.Json.Serialization;

namespace Molly.Storage.DynamoDb.Streams;

// Wire shapes of the DynamoDB Streams JSON API (DynamoDBStreams_20120810), only the members Molly reads.

public sealed record DescribeStreamRequest(
    [property: JsonPropertyName("StreamArn")] string StreamArn,
    [property: JsonPropertyName("ExclusiveStartShardId"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ExclusiveStartShardId,
    [property: JsonPropertyName("Limit"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Limit);

public sealed record DescribeStreamResponse([property: JsonPropertyName("StreamDescription")] StreamDescription StreamDescription);

public sealed record StreamDescription(
    [property: JsonPropertyName("StreamArn")] string? StreamArn,
    [property: JsonPropertyName("StreamStatus")] string? StreamStatus,
    [property: JsonPropertyName("Shards")] IReadOnlyList<StreamShard>? Shards,
    [property: JsonPropertyName("LastEvaluatedShardId")] string? LastEvaluatedShardId);

public sealed record StreamShard(
    [property: JsonPropertyName("ShardId")] string ShardId,
    [property: JsonPropertyName("ParentShardId")] string? ParentShardId,
    [property: JsonPropertyName("SequenceNumberRange")] SequenceNumberRange? SequenceNumberRange)
{
    /// <summary>A closed shard has an ending sequence number: it receives no new records.</summary>
    [JsonIgnore]
    public bool IsClosed => SequenceNumberRange?.EndingSequenceNumber is not null;
}

public sealed record SequenceNumberRange(
    [property: JsonPropertyName("StartingSequenceNumber")] string? StartingSequenceNumber,
    [property: JsonPropertyName("EndingSequenceNumber")] string? EndingSequenceNumber);

public sealed record GetShardIteratorRequest(
    [property: JsonPropertyName("StreamArn")] string StreamArn,
    [property: JsonPropertyName("ShardId")] string ShardId,
    [property: JsonPropertyName("ShardIteratorType")] string ShardIteratorType,
    [property: JsonPropertyName("SequenceNumber"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? SequenceNumber);

public sealed record GetShardIteratorResponse([property: JsonPropertyName("ShardIterator")] string? ShardIterator);

public sealed record GetRecordsRequest(
    [property: JsonPropertyName("ShardIterator")] string ShardIterator,
    [property: JsonPropertyName("Limit")] int Limit);

public sealed record GetRecordsResponse(
    [property: JsonPropertyName("Records")] IReadOnlyList<StreamRecordEnvelope>? Records,
    [property: JsonPropertyName("NextShardIterator")] string? NextShardIterator);

public sealed record StreamRecordEnvelope(
    [property: JsonPropertyName("eventID")] string? EventId,
    [property: JsonPropertyName("eventName")] string EventName,
    [property: JsonPropertyName("dynamodb")] StreamRecordBody Dynamodb);

public sealed record StreamRecordBody(
    [property: JsonPropertyName("ApproximateCreationDateTime")] double? ApproximateCreationDateTime,
    [property: JsonPropertyName("Keys")] Dictionary<string, WireAttributeValue>? Keys,
    [property: JsonPropertyName("NewImage")] Dictionary<string, WireAttributeValue>? NewImage,
    [property: JsonPropertyName("OldImage")] Dictionary<string, WireAttributeValue>? OldImage,
    [property: JsonPropertyName("SequenceNumber")] string SequenceNumber);

/// <summary>A DynamoDB JSON attribute value; the scalar types Molly stores (B is base64, which System.Text.Json decodes).</summary>
public sealed record WireAttributeValue(
    [property: JsonPropertyName("S"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? S,
    [property: JsonPropertyName("N"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? N,
    [property: JsonPropertyName("B"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] byte[]? B,
    [property: JsonPropertyName("BOOL"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? BOOL,
    [property: JsonPropertyName("NULL"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? NULL);

/// <summary>An error body: {"__type": "...#ExpiredIteratorException", "message": "..."}.</summary>
public sealed record StreamsError(
    [property: JsonPropertyName("__type")] string? Type,
    [property: JsonPropertyName("message")] string? Message,
    [property: JsonPropertyName("Message")] string? MessageUpper);

/// <summary>The change feed's checkpoint: the stream it belongs to, the last sequence read per open shard, the finished shards.</summary>
public sealed record FeedCheckpoint(
    [property: JsonPropertyName("s")] string StreamArn,
    [property: JsonPropertyName("p")] Dictionary<string, string> Positions,
    [property: JsonPropertyName("d")] List<string> Done);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.Unspecified)]
[JsonSerializable(typeof(DescribeStreamRequest))]
[JsonSerializable(typeof(DescribeStreamResponse))]
[JsonSerializable(typeof(GetShardIteratorRequest))]
[JsonSerializable(typeof(GetShardIteratorResponse))]
[JsonSerializable(typeof(GetRecordsRequest))]
[JsonSerializable(typeof(GetRecordsResponse))]
[JsonSerializable(typeof(StreamsError))]
[JsonSerializable(typeof(FeedCheckpoint))]
[JsonSerializable(typeof(Dictionary<string, string>))]
public sealed partial class StreamsJsonContext : JsonSerializerContext;
