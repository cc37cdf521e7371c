using System.Buffers.Text;
using System.Net;
using System.Numerics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Molly.Storage;
using Molly.Storage.DynamoDb.Streams;

namespace Molly.Storage.DynamoDb;

/// <summary>
/// The item store on one DynamoDB table (<see cref="DynamoDbTableDefinition"/>), through the low-level SDK client.
/// Conditions and updates become expressions with placeholder names and values; single-item reads are consistent;
/// transactions map cancellation reasons to <see cref="ConditionFailedException"/> and retry conflicts a few times;
/// throttling and server errors are retried by the SDK, then surface as <see cref="StoreUnavailableException"/>.
/// </summary>
public sealed partial class DynamoDbItemStore : IItemStore
{
    /// <summary>Attempts of a transaction cancelled by TransactionConflict before giving up.</summary>
    public const int MaxTransactionAttempts = 6;

    private readonly IAmazonDynamoDB _client;
    private readonly string _table;
    private readonly TimeProvider _time;

    public DynamoDbItemStore(IAmazonDynamoDB client, string tableName, DynamoDbStreamsClient streams, TimeProvider? time = null)
    {
        _client = client ?? throw new ArgumentNullException(nameof(client));
        ArgumentException.ThrowIfNullOrEmpty(tableName);
        _table = tableName;
        _time = time ?? TimeProvider.System;
        ChangeFeed = new DynamoDbChangeFeed(client, streams ?? throw new ArgumentNullException(nameof(streams)), tableName);
    }

    /// <summary>
    /// A store whose change feed talks to the Streams endpoint matching the client: the client's ServiceURL when it has one
    /// (DynamoDB Local serves both APIs on one port), else the regional Streams endpoint.
    /// </summary>
    public static DynamoDbItemStore Create(AmazonDynamoDBClient client, string tableName, AWSCredentials credentials, HttpClient http, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        var config = client.Config;
        var region = config.RegionEndpoint?.SystemName ?? config.AuthenticationRegion
                     ?? throw new ArgumentException("The DynamoDB client has no region.", nameof(client));
        var endpoint = string.IsNullOrEmpty(config.ServiceURL) ? DynamoDbStreamsClient.RegionalEndpoint(region) : new Uri(config.ServiceURL);
        return new DynamoDbItemStore(client, tableName, new DynamoDbStreamsClient(http, endpoint, region, credentials, time), time);
    }

    public string TableName => _table;

    public IChangeFeed ChangeFeed { get; }

    public async Task<Item?> GetAsync(ItemKey key, CancellationToken ct = default)
    {
        var response = await CallAsync(() => _client.GetItemAsync(new GetItemRequest
        {
            TableName = _table,
            Key = AttributeMapper.KeyToSdk(key),
            ConsistentRead = true,
        }, ct)).ConfigureAwait(false);
        return response.IsItemSet ? AttributeMapper.FromSdk(response.Item) : null;
    }

    public async Task PutAsync(Item item, Condition? condition = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(item);
        ItemSize.Ensure(item);
        EnsureIndexKeysAreStrings(item);
        var expressions = new ExpressionBuilder();
        var request = new PutItemRequest
        {
            TableName = _table,
            Item = AttributeMapper.ToSdk(item),
            ConditionExpression = expressions.Condition(condition),
        };
        request.ExpressionAttributeNames = expressions.NamesOrNull;
        request.ExpressionAttributeValues = expressions.ValuesOrNull;
        await WriteAsync(item.Key, () => _client.PutItemAsync(request, ct)).ConfigureAwait(false);
    }

    public async Task<Item> UpdateAsync(ItemKey key, Update update, Condition? condition = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        EnsureIndexKeysAreStrings(update);
        var expressions = new ExpressionBuilder();
        var request = new UpdateItemRequest
        {
            TableName = _table,
            Key = AttributeMapper.KeyToSdk(key),
            UpdateExpression = expressions.Update(update),
            ConditionExpression = expressions.ConditionWithGuards(condition, update),
            ReturnValues = ReturnValue.ALL_NEW,
        };
        request.ExpressionAttributeNames = expressions.NamesOrNull;
        request.ExpressionAttributeValues = expressions.ValuesOrNull;
        try
        {
            var response = await WriteAsync(key, () => _client.UpdateItemAsync(request, ct)).ConfigureAwait(false);
            return AttributeMapper.FromSdk(response.Attributes) ?? new Item(key);
        }
        catch (ConditionFailedException e) when (update.Actions.Any(a => a.Kind == UpdateActionKind.Add))
        {
            await ThrowIfAddIsInvalidAsync(key, update, condition, e, ct).ConfigureAwait(false);
            throw;
        }
    }

    public async Task<Item?> DeleteAsync(ItemKey key, Condition? condition = null, CancellationToken ct = default)
    {
        var expressions = new ExpressionBuilder();
        var request = new DeleteItemRequest
        {
            TableName = _table,
            Key = AttributeMapper.KeyToSdk(key),
            ConditionExpression = expressions.Condition(condition),
            ReturnValues = ReturnValue.ALL_OLD,
        };
        request.ExpressionAttributeNames = expressions.NamesOrNull;
        request.ExpressionAttributeValues = expressions.ValuesOrNull;
        var response = await WriteAsync(key, () => _client.DeleteItemAsync(request, ct)).ConfigureAwait(false);
        return AttributeMapper.FromSdk(response.Attributes);
    }

    public async Task<BigInteger> IncrementAsync(ItemKey key, string attribute, BigInteger delta, CancellationToken ct = default)
    {
        var item = await UpdateAsync(key, new Update().Add(attribute, delta), null, ct).ConfigureAwait(false);
        return item.RequireNumber(attribute);
    }

    public async Task<Page<Item>> QueryAsync(Query query, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentException.ThrowIfNullOrEmpty(query.PartitionKey);
        ArgumentOutOfRangeException.ThrowIfLessThan(query.Limit, 1);
        string partitionAttribute = KeyNames.PK, sortAttribute = KeyNames.SK;
        if (query.Index is not null)
        {
            if (!KeyNames.Indexes.Contains(query.Index))
                throw new ArgumentException($"Unknown index '{query.Index}'; the indexes are {string.Join(", ", KeyNames.Indexes)}.", nameof(query));
            partitionAttribute = KeyNames.IndexPK(query.Index);
            sortAttribute = KeyNames.IndexSK(query.Index);
        }
        // DynamoDB rejects BETWEEN with a lower bound above the upper one; nothing can match it.
        if (query.SortKey is SortKeyBetween b && string.CompareOrdinal(b.From, b.To) > 0) return new Page<Item>([], null);

        var startKey = QueryCursor.Decode(query.Cursor, partitionAttribute, query.PartitionKey);
        var items = new List<Item>();
        // Read one item past the page so the last page has no cursor; keep reading through empty pages DynamoDB may return.
        while (true)
        {
            var expressions = new ExpressionBuilder();
            var request = new QueryRequest
            {
                TableName = _table,
                IndexName = query.Index,
                KeyConditionExpression = expressions.KeyCondition(partitionAttribute, query.PartitionKey, sortAttribute, query.SortKey),
                ScanIndexForward = !query.Descending,
                Limit = query.Limit + 1 - items.Count,
                ExclusiveStartKey = startKey,
                ConsistentRead = query.Index is null,
            };
            request.ExpressionAttributeNames = expressions.NamesOrNull;
            request.ExpressionAttributeValues = expressions.ValuesOrNull;
            var response = await CallAsync(() => _client.QueryAsync(request, ct)).ConfigureAwait(false);
            foreach (var raw in response.Items ?? []) items.Add(AttributeMapper.FromSdk(raw)!);
            startKey = response.LastEvaluatedKey is { Count: > 0 } last ? last : null;
            if (items.Count > query.Limit || startKey is null) break;
        }

        if (items.Count <= query.Limit) return new Page<Item>(items, null);
        items.RemoveRange(query.Limit, items.Count - query.Limit);
        return new Page<Item>(items, QueryCursor.Encode(items[^1], query.Index));
    }

    public async Task TransactWriteAsync(IReadOnlyList<TransactOp> operations, CancellationToken ct = default)
    {
        TransactionLimits.Validate(operations);
        foreach (var op in operations)
        {
            if (op is PutOp p) EnsureIndexKeysAreStrings(p.Item);
            else if (op is UpdateOp u) EnsureIndexKeysAreStrings(u.Changes);
        }
        var request = new TransactWriteItemsRequest { TransactItems = operations.Select(ToTransactItem).ToList() };
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await CallAsync(() => _client.TransactWriteItemsAsync(request, ct)).ConfigureAwait(false);
                return;
            }
            catch (TransactionCanceledException e)
            {
                var codes = CancellationCodes(e, operations.Count);
                var failed = codes.IndexOf("ConditionalCheckFailed");
                if (failed >= 0)
                {
                    var conditionFailed = new ConditionFailedException(operations[failed].Key, failed, e);
                    if (operations[failed] is UpdateOp u && u.Changes.Actions.Any(a => a.Kind == UpdateActionKind.Add))
                        await ThrowIfAddIsInvalidAsync(u.Key, u.Changes, u.Condition, conditionFailed, ct).ConfigureAwait(false);
                    throw conditionFailed;
                }
                var retryable = codes.Any(c => c is "TransactionConflict" or "ThrottlingError" or "ProvisionedThroughputExceeded");
                if (!retryable)
                    throw new InvalidOperationException($"Transaction cancelled: {string.Join(", ", codes)}.", e);
                if (attempt >= MaxTransactionAttempts)
                    throw new StoreUnavailableException($"Transaction kept conflicting after {attempt} attempts.", e);
            }
            catch (TransactionConflictException e) when (attempt < MaxTransactionAttempts)
            {
                _ = e;
            }
            var backoff = TimeSpan.FromMilliseconds(Random.Shared.Next(10, 25) * (1 << attempt));
            await Task.Delay(backoff, _time, ct).ConfigureAwait(false);
        }
    }

    private TransactWriteItem ToTransactItem(TransactOp op)
    {
        var expressions = new ExpressionBuilder();
        var condition = op is UpdateOp guarded
            ? expressions.ConditionWithGuards(op.Condition, guarded.Changes)
            : expressions.Condition(op.Condition);
        switch (op)
        {
            case PutOp put:
                return new TransactWriteItem
                {
                    Put = new Put
                    {
                        TableName = _table, Item = AttributeMapper.ToSdk(put.Item), ConditionExpression = condition,
                        ExpressionAttributeNames = expressions.NamesOrNull, ExpressionAttributeValues = expressions.ValuesOrNull,
                    },
                };
            case UpdateOp update:
                // TransactWriteItems requires an UpdateExpression: an empty update removes an attribute that is never stored.
                var text = expressions.Update(update.Changes) ?? $"REMOVE {expressions.Name(NoOpAttribute)}";
                return new TransactWriteItem
                {
                    Update = new Amazon.DynamoDBv2.Model.Update
                    {
                        TableName = _table, Key = AttributeMapper.KeyToSdk(update.Key), UpdateExpression = text, ConditionExpression = condition,
                        ExpressionAttributeNames = expressions.NamesOrNull, ExpressionAttributeValues = expressions.ValuesOrNull,
                    },
                };
            case DeleteOp delete:
                return new TransactWriteItem
                {
                    Delete = new Delete
                    {
                        TableName = _table, Key = AttributeMapper.KeyToSdk(delete.Key), ConditionExpression = condition,
                        ExpressionAttributeNames = expressions.NamesOrNull, ExpressionAttributeValues = expressions.ValuesOrNull,
                    },
                };
            case CheckOp check:
                return new TransactWriteItem
                {
                    ConditionCheck = new ConditionCheck
                    {
                        TableName = _table, Key = AttributeMapper.KeyToSdk(check.Key),
                        // A condition with nothing to check (an empty And) always holds.
                        ConditionExpression = condition ?? $"attribute_not_exists({expressions.Name(NoOpAttribute)})",
                        ExpressionAttributeNames = expressions.NamesOrNull, ExpressionAttributeValues = expressions.ValuesOrNull,
                    },
                };
            default:
                throw new NotSupportedException($"Transaction operation {op.GetType().Name} is not supported.");
        }
    }

    /// <summary>
    /// After a failed guarded update: if the caller's condition holds on the current item, the failure came from an ADD guard
    /// (a non-numeric attribute, or a sum over 38 digits): that is bad input, not a lost race.
    /// </summary>
    private async Task ThrowIfAddIsInvalidAsync(ItemKey key, Update update, Condition? condition, Exception failure, CancellationToken ct)
    {
        var current = await GetAsync(key, ct).ConfigureAwait(false);
        if (condition is not null && !condition.IsSatisfiedBy(current)) return;
        foreach (var action in update.Actions.Where(a => a.Kind == UpdateActionKind.Add))
        {
            var existing = current?[action.Name] ?? AttributeValue.Null;
            if (!existing.IsNull && existing.Kind != AttributeKind.Number)
                throw new ArgumentException($"Cannot add to attribute '{action.Name}' of item {key}: it holds {existing.Kind}, not a number.", nameof(update), failure);
            var sum = (existing.IsNull ? BigInteger.Zero : existing.AsNumber()) + action.Value.AsNumber();
            if (BigInteger.Abs(sum) > AttributeValue.MaxNumber)
                throw new ArgumentException($"Adding to attribute '{action.Name}' of item {key} would exceed 38 digits.", nameof(update), failure);
        }
    }

    private static void EnsureIndexKeysAreStrings(Item item)
    {
        foreach (var index in KeyNames.Indexes)
            foreach (var name in (string[])[KeyNames.IndexPK(index), KeyNames.IndexSK(index)])
                if (item.TryGet(name, out var v) && v.Kind != AttributeKind.String)
                    throw new ArgumentException($"Index key attribute '{name}' of item {item.Key} must be a string, not {v.Kind}.", nameof(item));
    }

    private static void EnsureIndexKeysAreStrings(Update update)
    {
        foreach (var action in update.Actions)
        {
            if (action.Kind == UpdateActionKind.Remove || !IsIndexKey(action.Name)) continue;
            if (action.Kind == UpdateActionKind.Add || (!action.Value.IsNull && action.Value.Kind != AttributeKind.String))
                throw new ArgumentException($"Index key attribute '{action.Name}' must be a string.", nameof(update));
        }
    }

    private static bool IsIndexKey(string name) =>
        KeyNames.Indexes.Any(i => name == KeyNames.IndexPK(i) || name == KeyNames.IndexSK(i));

    /// <summary>An attribute name no Molly item uses: target of otherwise empty transaction expressions.</summary>
    private const string NoOpAttribute = "__molly_none";

    /// <summary>One code per operation: from CancellationReasons, else from the message "[Code, None, ...]" (DynamoDB Local).</summary>
    internal static List<string> CancellationCodes(TransactionCanceledException e, int count)
    {
        if (e.CancellationReasons is { Count: > 0 } reasons) return reasons.Select(r => r.Code ?? "None").ToList();
        var match = ReasonsPattern().Match(e.Message ?? "");
        if (match.Success)
            return match.Groups[1].Value.Split(',').Select(s => s.Trim()).ToList();
        return Enumerable.Repeat("Unknown", count).ToList();
    }

    [GeneratedRegex(@"\[([A-Za-z, ]+)\]\s*$")]
    private static partial Regex ReasonsPattern();

    private static async Task<T> WriteAsync<T>(ItemKey key, Func<Task<T>> call)
    {
        try
        {
            return await CallAsync(call).ConfigureAwait(false);
        }
        catch (ConditionalCheckFailedException e)
        {
            throw new ConditionFailedException(key, null, e);
        }
        catch (AmazonDynamoDBException e) when (e.ErrorCode == "ValidationException" && e.Message.Contains("size", StringComparison.OrdinalIgnoreCase)
                                                 && e.Message.Contains("exceeded", StringComparison.OrdinalIgnoreCase))
        {
            throw new ItemTooLargeException(key, Item.MaxSizeBytes + 1);
        }
        catch (AmazonDynamoDBException e) when (e.ErrorCode == "ValidationException" && e.Message.Contains("incorrect data type", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Cannot update item {key}: an operand has the wrong type ({e.Message}).", e);
        }
    }

    /// <summary>Runs an SDK call (which has already retried throttling and 5xx) and maps what remains transient.</summary>
    internal static async Task<T> CallAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (IsTransient(e))
        {
            throw new StoreUnavailableException($"DynamoDB is unavailable: {e.GetType().Name}.", e);
        }
    }

    private static bool IsTransient(Exception e) => e switch
    {
        ProvisionedThroughputExceededException or RequestLimitExceededException or ThrottlingException
            or InternalServerErrorException or LimitExceededException => true,
        AmazonServiceException s => (int)s.StatusCode >= 500 || s.StatusCode == HttpStatusCode.TooManyRequests
                                    || s.ErrorCode is "ThrottlingException" or "RequestLimitExceeded",
        HttpRequestException or IOException => true,
        TaskCanceledException t => t.InnerException is TimeoutException,
        _ => false,
    };
}

/// <summary>Query cursors: base64url JSON of DynamoDB's LastEvaluatedKey (every key attribute of the table is a string).</summary>
internal static class QueryCursor
{
    public static string Encode(Item last, string? index)
    {
        var key = new Dictionary<string, string>(StringComparer.Ordinal) { [KeyNames.PK] = last.PK, [KeyNames.SK] = last.SK };
        if (index is not null)
        {
            key[KeyNames.IndexPK(index)] = last.RequireString(KeyNames.IndexPK(index));
            key[KeyNames.IndexSK(index)] = last.RequireString(KeyNames.IndexSK(index));
        }
        return Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(key, Streams.StreamsJsonContext.Default.DictionaryStringString));
    }

    public static Dictionary<string, Amazon.DynamoDBv2.Model.AttributeValue>? Decode(string? cursor, string partitionAttribute, string partitionKey)
    {
        if (cursor is null) return null;
        Dictionary<string, string>? key;
        try
        {
            key = JsonSerializer.Deserialize(Base64Url.DecodeFromChars(cursor), Streams.StreamsJsonContext.Default.DictionaryStringString);
        }
        catch (Exception e) when (e is FormatException or JsonException)
        {
            throw new ArgumentException("The query cursor is not one this store wrote.", nameof(cursor), e);
        }
        if (key is null || !key.TryGetValue(partitionAttribute, out var pk) || pk != partitionKey
            || !key.ContainsKey(KeyNames.PK) || !key.ContainsKey(KeyNames.SK))
            throw new ArgumentException("The query cursor belongs to another query.", nameof(cursor));
        return key.ToDictionary(k => k.Key, k => new Amazon.DynamoDBv2.Model.AttributeValue { S = k.Value }, StringComparer.Ordinal);
    }
}
