using System.Buffers.Text;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Molly.Storage;

namespace Molly.Storage.DynamoDb.Streams;

/// <summary>
/// The change feed over DynamoDB Streams. Stateless between reads: the checkpoint (base64url JSON) names the stream, the
/// last sequence number read in each shard and the shards read to their end. A shard is read only once its parent is
/// finished (or has expired from the stream), so the changes of one item come in order across shard splits; an open shard
/// is read up to its current end; a closed shard is finished when GetRecords says it has no next iterator.
/// With no checkpoint every shard starts at TRIM_HORIZON (the oldest retained record).
/// </summary>
public sealed class DynamoDbChangeFeed : IChangeFeed
{
    private const int MaxRecordsPerCall = 1000;
    private const int MaxEmptyPagesOfClosedShard = 50;

    private readonly IAmazonDynamoDB _dynamo;
    private readonly DynamoDbStreamsClient _streams;
    private readonly string _tableName;
    private string? _streamArn;

    public DynamoDbChangeFeed(IAmazonDynamoDB dynamo, DynamoDbStreamsClient streams, string tableName)
    {
        _dynamo = dynamo;
        _streams = streams;
        _tableName = tableName;
    }

    public async Task<ChangeBatch> ReadAsync(string? checkpoint, int maxChanges = 1000, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChanges, 1);
        var streamArn = await StreamArnAsync(ct).ConfigureAwait(false);
        var state = DecodeCheckpoint(checkpoint);
        if (state is null || state.StreamArn != streamArn) state = new FeedCheckpoint(streamArn, [], []);

        var shards = await DescribeShardsAsync(streamArn, ct).ConfigureAwait(false);
        var known = shards.Select(s => s.ShardId).ToHashSet(StringComparer.Ordinal);
        var done = new HashSet<string>(state.Done.Where(known.Contains), StringComparer.Ordinal);
        var positions = state.Positions.Where(p => known.Contains(p.Key)).ToDictionary(StringComparer.Ordinal);
        var changes = new List<Change>();

        // Repeat passes: finishing a parent makes its children readable within the same read.
        var progressed = true;
        while (progressed && changes.Count < maxChanges)
        {
            progressed = false;
            foreach (var shard in OrderByLineage(shards))
            {
                if (changes.Count >= maxChanges) break;
                if (done.Contains(shard.ShardId)) continue;
                if (shard.ParentShardId is { } parent && known.Contains(parent) && !done.Contains(parent)) continue;

                var finished = await ReadShardAsync(streamArn, shard, positions, changes, maxChanges, ct).ConfigureAwait(false);
                if (finished)
                {
                    done.Add(shard.ShardId);
                    positions.Remove(shard.ShardId);
                    progressed = true;
                }
            }
        }

        var next = new FeedCheckpoint(streamArn, positions, [.. done.Order(StringComparer.Ordinal)]);
        return new ChangeBatch(changes, EncodeCheckpoint(next));
    }

    /// <summary>Reads one shard from its position; true when the shard is closed and read to its end.</summary>
    private async Task<bool> ReadShardAsync(
        string streamArn, StreamShard shard, Dictionary<string, string> positions, List<Change> changes, int maxChanges, CancellationToken ct)
    {
        var iterator = await IteratorAsync(streamArn, shard.ShardId, positions.GetValueOrDefault(shard.ShardId), ct).ConfigureAwait(false);
        var emptyPages = 0;
        while (iterator is not null && changes.Count < maxChanges)
        {
            GetRecordsResponse page;
            try
            {
                page = await _streams.GetRecordsAsync(
                    new GetRecordsRequest(iterator, Math.Min(MaxRecordsPerCall, maxChanges - changes.Count)), ct).ConfigureAwait(false);
            }
            catch (StreamsApiException e) when (e.ErrorType is "ResourceNotFoundException")
            {
                return true; // the shard expired from the stream
            }
            catch (StreamsApiException e) when (e.IsTransient)
            {
                throw new StoreUnavailableException("DynamoDB Streams is unavailable.", e);
            }

            var records = page.Records ?? [];
            foreach (var record in records)
            {
                changes.Add(StreamRecordMapper.ToChange(record));
                positions[shard.ShardId] = record.Dynamodb.SequenceNumber;
            }
            if (page.NextShardIterator is null) return true;
            iterator = page.NextShardIterator;
            if (records.Count > 0) { emptyPages = 0; continue; }
            // An open shard with nothing new: stop here. A closed shard may hold sparse records further on.
            if (!shard.IsClosed || ++emptyPages >= MaxEmptyPagesOfClosedShard) return false;
        }
        return false;
    }

    private async Task<string?> IteratorAsync(string streamArn, string shardId, string? afterSequence, CancellationToken ct)
    {
        try
        {
            var response = await _streams.GetShardIteratorAsync(afterSequence is null
                ? new GetShardIteratorRequest(streamArn, shardId, "TRIM_HORIZON", null)
                : new GetShardIteratorRequest(streamArn, shardId, "AFTER_SEQUENCE_NUMBER", afterSequence), ct).ConfigureAwait(false);
            return response.ShardIterator;
        }
        catch (StreamsApiException e) when (e.ErrorType is "TrimmedDataAccessException" && afterSequence is not null)
        {
            // The position fell out of the 24-hour retention: continue from the oldest record still there.
            return await IteratorAsync(streamArn, shardId, null, ct).ConfigureAwait(false);
        }
        catch (StreamsApiException e) when (e.ErrorType is "ResourceNotFoundException")
        {
            return null;
        }
        catch (StreamsApiException e) when (e.IsTransient)
        {
            throw new StoreUnavailableException("DynamoDB Streams is unavailable.", e);
        }
    }

    private async Task<List<StreamShard>> DescribeShardsAsync(string streamArn, CancellationToken ct)
    {
        var shards = new List<StreamShard>();
        string? start = null;
        do
        {
            DescribeStreamResponse response;
            try
            {
                response = await _streams.DescribeStreamAsync(new DescribeStreamRequest(streamArn, start, null), ct).ConfigureAwait(false);
            }
            catch (StreamsApiException e) when (e.IsTransient)
            {
                throw new StoreUnavailableException("DynamoDB Streams is unavailable.", e);
            }
            shards.AddRange(response.StreamDescription.Shards ?? []);
            start = response.StreamDescription.LastEvaluatedShardId;
        } while (start is not null);
        return shards;
    }

    /// <summary>Parents before children, then by starting sequence number (numeric order of decimal strings).</summary>
    public static IReadOnlyList<StreamShard> OrderByLineage(IReadOnlyList<StreamShard> shards)
    {
        var byId = shards.ToDictionary(s => s.ShardId, StringComparer.Ordinal);
        var depth = new Dictionary<string, int>(StringComparer.Ordinal);
        int Depth(StreamShard s)
        {
            if (depth.TryGetValue(s.ShardId, out var d)) return d;
            depth[s.ShardId] = 0; // guards against a malformed cycle
            d = s.ParentShardId is { } p && byId.TryGetValue(p, out var parent) ? Depth(parent) + 1 : 0;
            depth[s.ShardId] = d;
            return d;
        }
        return shards
            .OrderBy(Depth)
            .ThenBy(s => StreamRecordMapper.PadSequence(s.SequenceNumberRange?.StartingSequenceNumber ?? ""), StringComparer.Ordinal)
            .ThenBy(s => s.ShardId, StringComparer.Ordinal)
            .ToList();
    }

    private async Task<string> StreamArnAsync(CancellationToken ct)
    {
        if (_streamArn is not null) return _streamArn;
        var table = await DynamoDbItemStore.CallAsync(() => _dynamo.DescribeTableAsync(_tableName, ct)).ConfigureAwait(false);
        _streamArn = table.Table.LatestStreamArn
                     ?? throw new InvalidOperationException($"Table {_tableName} has no stream; it must be created with NEW_AND_OLD_IMAGES.");
        return _streamArn;
    }

    public static string EncodeCheckpoint(FeedCheckpoint checkpoint) =>
        Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(checkpoint, StreamsJsonContext.Default.FeedCheckpoint));

    public static FeedCheckpoint? DecodeCheckpoint(string? checkpoint)
    {
        if (string.IsNullOrEmpty(checkpoint)) return null;
        try
        {
            var decoded = JsonSerializer.Deserialize(Base64Url.DecodeFromChars(checkpoint), StreamsJsonContext.Default.FeedCheckpoint);
            if (decoded?.StreamArn is null || decoded.Positions is null || decoded.Done is null) throw new FormatException();
            return decoded;
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw new ArgumentException("The change-feed checkpoint is not one this store wrote.", nameof(checkpoint), e);
        }
    }
}
