using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Numerics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Molly.Chains.Crypto;
using Molly.Chains.Evm;
using Polly;
using Polly.Retry;

namespace Molly.Chains.Rpc.Evm;

/// <summary>One JSON-RPC call: method and positional params (null for none).</summary>
public sealed record EvmRpcRequest(string Method, JsonArray? Params = null);

/// <summary>One answer of a batch: the result, or the node's error for that request (the others may still have succeeded).</summary>
public sealed record EvmRpcResult(JsonElement Result, EvmRpcErrorException? Error, string Endpoint)
{
    public JsonElement GetResultOrThrow() => Error is null ? Result : throw Error;
}

/// <summary>
/// <see cref="IEvmRpc"/> over HTTP JSON-RPC 2.0. Per call: the endpoints are tried in order (healthy ones first; one that
/// failed is skipped for <see cref="EvmRpcOptions.EndpointCooldown"/>), and when every endpoint failed the round is
/// retried with exponential backoff and jitter (Polly). Transport failures, timeouts, HTTP 408/429/5xx and unreadable
/// envelopes are endpoint failures; a JSON-RPC error object is the node's answer and is thrown as
/// <see cref="EvmRpcErrorException"/> without retry. Thread-safe; share one per chain.
/// </summary>
public sealed class EvmRpcClient : IEvmRpc
{
    private static readonly HashSet<string> BlockTags = new(StringComparer.Ordinal) { "latest", "pending", "earliest", "safe", "finalized" };
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    private readonly HttpClient _http;
    private readonly EvmRpcOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly EndpointState[] _endpoints;
    private readonly ResiliencePipeline _retry;
    private long _nextId;

    public EvmRpcClient(HttpClient http, EvmRpcOptions options, TimeProvider? time = null, ILogger<EvmRpcClient>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        EvmRpcOptionsValidator.ThrowIfInvalid(options);
        _http = http;
        _options = options;
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _endpoints = options.Endpoints.Select(e => new EndpointState(new EvmRpcEndpoint(new Uri(e, UriKind.Absolute)))).ToArray();
        _retry = options.MaxRetryAttempts == 0
            ? ResiliencePipeline.Empty
            : new ResiliencePipelineBuilder { TimeProvider = _time }
                .AddRetry(new RetryStrategyOptions
                {
                    ShouldHandle = new PredicateBuilder().Handle<AllEndpointsFailedException>(),
                    MaxRetryAttempts = options.MaxRetryAttempts,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = options.RetryBaseDelay,
                    MaxDelay = options.MaxRetryDelay,
                })
                .Build();
    }

    public IReadOnlyList<EvmRpcEndpoint> Endpoints => _endpoints.Select(e => e.Endpoint).ToList();

    // ---------------------------------------------------------------- generic calls

    /// <summary>Calls one method and returns its result (JSON null included); a JSON-RPC error is thrown.</summary>
    public async Task<JsonElement> CallAsync(string method, JsonArray? parameters = null, CancellationToken ct = default) =>
        (await SendSingleAsync(new EvmRpcRequest(method, parameters), ct).ConfigureAwait(false)).GetResultOrThrow();

    /// <summary>
    /// Sends the requests as JSON-RPC batches of at most <see cref="EvmRpcOptions.MaxBatchSize"/>; the answers come back in
    /// request order, each with its own result or error.
    /// </summary>
    public async Task<IReadOnlyList<EvmRpcResult>> BatchAsync(IReadOnlyList<EvmRpcRequest> requests, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var results = new List<EvmRpcResult>(requests.Count);
        for (var start = 0; start < requests.Count; start += _options.MaxBatchSize)
        {
            var chunk = requests.Skip(start).Take(_options.MaxBatchSize).ToList();
            results.AddRange(await SendBatchAsync(chunk, ct).ConfigureAwait(false));
        }
        return results;
    }

    // ---------------------------------------------------------------- IEvmRpc

    public async Task<long> GetChainIdAsync(CancellationToken ct = default)
    {
        var r = await SendSingleAsync(new("eth_chainId"), ct).ConfigureAwait(false);
        var id = Map(r, "eth_chainId", e => HexQuantity.ParseUInt64(RequireString(e), "chain id"));
        return id <= long.MaxValue ? (long)id : throw new EvmRpcMalformedResponseException("eth_chainId", r.Endpoint, $"chain id {id} is too large");
    }

    public async Task<ulong> GetBlockNumberAsync(CancellationToken ct = default)
    {
        var r = await SendSingleAsync(new("eth_blockNumber"), ct).ConfigureAwait(false);
        return Map(r, "eth_blockNumber", e => HexQuantity.ParseUInt64(RequireString(e), "block number"));
    }

    public async Task<EvmBlock?> GetBlockByNumberAsync(ulong number, CancellationToken ct = default)
    {
        var r = await SendSingleAsync(BlockByNumberRequest(number), ct).ConfigureAwait(false);
        var block = Map(r, "eth_getBlockByNumber", ToBlock);
        if (block is not null && block.Number != number)
            throw new EvmRpcMalformedResponseException("eth_getBlockByNumber", r.Endpoint, $"asked for block {number}, got {block.Number}");
        return block;
    }

    public async Task<EvmBlock?> GetBlockByHashAsync(string blockHash, CancellationToken ct = default)
    {
        var hash = HexQuantity.ParseHash(blockHash, nameof(blockHash));
        var r = await SendSingleAsync(new("eth_getBlockByHash", [hash, true]), ct).ConfigureAwait(false);
        var block = Map(r, "eth_getBlockByHash", ToBlock);
        if (block is not null && block.Hash != hash)
            throw new EvmRpcMalformedResponseException("eth_getBlockByHash", r.Endpoint, $"asked for block {hash}, got {block.Hash}");
        return block;
    }

    /// <summary>Several blocks (with transactions) in JSON-RPC batches; null where the node has no block at that height.</summary>
    public async Task<IReadOnlyList<EvmBlock?>> GetBlocksByNumberAsync(IReadOnlyList<ulong> numbers, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(numbers);
        var answers = await BatchAsync(numbers.Select(BlockByNumberRequest).ToList(), ct).ConfigureAwait(false);
        var blocks = new EvmBlock?[numbers.Count];
        for (var i = 0; i < numbers.Count; i++)
        {
            blocks[i] = Map(answers[i], "eth_getBlockByNumber", ToBlock);
            if (blocks[i] is { } b && b.Number != numbers[i])
                throw new EvmRpcMalformedResponseException("eth_getBlockByNumber", answers[i].Endpoint, $"asked for block {numbers[i]}, got {b.Number}");
        }
        return blocks;
    }

    public async Task<IReadOnlyList<EvmLog>> GetLogsAsync(EvmLogFilter filter, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.FromBlock > filter.ToBlock) throw new ArgumentException($"FromBlock {filter.FromBlock} is after ToBlock {filter.ToBlock}.", nameof(filter));
        if (filter.Addresses is { Count: 0 }) return []; // no contract to match (null means any)
        var topics = TopicsJson(filter.Topics);

        // Split by address batches and block ranges; ask in JSON-RPC batches; a chunk the node calls too large is halved.
        var pending = new Queue<LogChunk>();
        var addressBatches = filter.Addresses is null
            ? [null]
            : filter.Addresses.Distinct().Chunk(_options.MaxLogAddresses).Select(a => (IReadOnlyList<EvmAddress>?)a).ToList();
        foreach (var addresses in addressBatches)
            for (var from = filter.FromBlock; ; from += _options.MaxLogBlockRange)
            {
                var to = filter.ToBlock - from < _options.MaxLogBlockRange ? filter.ToBlock : from + _options.MaxLogBlockRange - 1;
                pending.Enqueue(new LogChunk(from, to, addresses));
                if (to == filter.ToBlock) break;
            }

        var logs = new List<EvmLog>();
        while (pending.Count > 0)
        {
            var round = new List<LogChunk>();
            while (pending.Count > 0 && round.Count < _options.MaxBatchSize) round.Add(pending.Dequeue());
            var answers = round.Count == 1
                ? [await SendSingleAsync(LogRequest(round[0], topics), ct).ConfigureAwait(false)]
                : await SendBatchAsync(round.Select(c => LogRequest(c, topics)).ToList(), ct).ConfigureAwait(false);
            for (var i = 0; i < round.Count; i++)
            {
                var chunk = round[i];
                if (answers[i].Error is { } error)
                {
                    if (!IsRangeError(error) || !TrySplit(chunk, out var a, out var b)) throw error;
                    _logger.LogDebug("eth_getLogs {From}-{To} was too large for {Endpoint}; splitting", chunk.From, chunk.To, answers[i].Endpoint);
                    pending.Enqueue(a);
                    pending.Enqueue(b);
                    continue;
                }
                foreach (var log in Map(answers[i], "eth_getLogs", ToLogs))
                {
                    if (log.BlockNumber < chunk.From || log.BlockNumber > chunk.To || (chunk.Addresses is not null && !chunk.Addresses.Contains(log.Address)))
                        throw new EvmRpcMalformedResponseException("eth_getLogs", answers[i].Endpoint,
                            $"a log of block {log.BlockNumber} from {log.Address} is outside the filter (blocks {chunk.From}-{chunk.To})");
                    logs.Add(log);
                }
            }
        }
        logs.Sort(static (x, y) => x.BlockNumber != y.BlockNumber ? x.BlockNumber.CompareTo(y.BlockNumber) : x.LogIndex.CompareTo(y.LogIndex));
        return logs;
    }

    public async Task<BigInteger> GetBalanceAsync(EvmAddress address, string blockTag = "latest", CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        var r = await SendSingleAsync(new("eth_getBalance", [address.ToLowerHex(), BlockTag(blockTag)]), ct).ConfigureAwait(false);
        return Map(r, "eth_getBalance", e => HexQuantity.Parse(RequireString(e), "balance"));
    }

    public async Task<ulong> GetTransactionCountAsync(EvmAddress address, string blockTag = "pending", CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        var r = await SendSingleAsync(new("eth_getTransactionCount", [address.ToLowerHex(), BlockTag(blockTag)]), ct).ConfigureAwait(false);
        return Map(r, "eth_getTransactionCount", e => HexQuantity.ParseUInt64(RequireString(e), "transaction count"));
    }

    public async Task<EvmFeeHistory> GetFeeHistoryAsync(int blockCount, string newestBlock, IReadOnlyList<double> rewardPercentiles, CancellationToken ct = default)
    {
        if (blockCount is < 1 or > 1024) throw new ArgumentOutOfRangeException(nameof(blockCount), "eth_feeHistory takes 1..1024 blocks.");
        ArgumentNullException.ThrowIfNull(rewardPercentiles);
        for (var i = 0; i < rewardPercentiles.Count; i++)
            if (rewardPercentiles[i] is < 0 or > 100 || (i > 0 && rewardPercentiles[i] < rewardPercentiles[i - 1]))
                throw new ArgumentException("Reward percentiles are 0..100, ascending.", nameof(rewardPercentiles));
        var percentiles = new JsonArray(rewardPercentiles.Select(p => (JsonNode?)JsonValue.Create(p)).ToArray());
        var r = await SendSingleAsync(new("eth_feeHistory", [HexQuantity.Format((ulong)blockCount), BlockTag(newestBlock), percentiles]), ct).ConfigureAwait(false);
        return Map(r, "eth_feeHistory", e => ToFeeHistory(e, rewardPercentiles.Count));
    }

    public async Task<BigInteger> EstimateGasAsync(EvmCall call, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(call);
        var o = new JsonObject();
        if (call.From is not null) o["from"] = call.From.ToLowerHex();
        if (call.To is not null) o["to"] = call.To.ToLowerHex();
        if (!call.Value.IsZero) o["value"] = HexQuantity.Format(call.Value);
        if (call.Data is not null) o["data"] = HexQuantity.ParseData(call.Data, "call data");
        var r = await SendSingleAsync(new("eth_estimateGas", [o]), ct).ConfigureAwait(false);
        return Map(r, "eth_estimateGas", e => HexQuantity.Parse(RequireString(e), "gas"));
    }

    public async Task<string> SendRawTransactionAsync(ReadOnlyMemory<byte> signedTransaction, CancellationToken ct = default)
    {
        if (signedTransaction.IsEmpty) throw new ArgumentException("The signed transaction is empty.", nameof(signedTransaction));
        var localHash = EvmHex.Encode(Keccak256.Compute(signedTransaction.Span));
        var r = await SendSingleAsync(new("eth_sendRawTransaction", [EvmHex.Encode(signedTransaction.Span)]), ct).ConfigureAwait(false);
        if (r.Error is { } error)
        {
            // A re-send of a transaction the node already has (in its pool or mined) is not a failure: nodes word that
            // differently ("already known", "known transaction", "nonce too low"), so ask for the transaction itself.
            var known = await CallAsync("eth_getTransactionByHash", [localHash], ct).ConfigureAwait(false);
            if (known.ValueKind == JsonValueKind.Object) return localHash;
            throw error;
        }
        var hash = Map(r, "eth_sendRawTransaction", e => HexQuantity.ParseHash(RequireString(e), "transaction hash"));
        if (hash != localHash)
            throw new EvmRpcMalformedResponseException("eth_sendRawTransaction", r.Endpoint, $"the node reported hash {hash}, the transaction's hash is {localHash}");
        return hash;
    }

    public async Task<EvmReceipt?> GetTransactionReceiptAsync(string transactionHash, CancellationToken ct = default)
    {
        var hash = HexQuantity.ParseHash(transactionHash, nameof(transactionHash));
        var r = await SendSingleAsync(new("eth_getTransactionReceipt", [hash]), ct).ConfigureAwait(false);
        return Map(r, "eth_getTransactionReceipt", ToReceipt);
    }

    // ---------------------------------------------------------------- transport

    private async Task<EvmRpcResult> SendSingleAsync(EvmRpcRequest request, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Method);
        var id = Interlocked.Increment(ref _nextId);
        var payload = Serialize([request], id, asBatch: false);
        var results = await ExecuteAsync(request.Method, payload, [id], batch: false, ct).ConfigureAwait(false);
        return results[0];
    }

    private async Task<IReadOnlyList<EvmRpcResult>> SendBatchAsync(IReadOnlyList<EvmRpcRequest> requests, CancellationToken ct)
    {
        if (requests.Count == 0) return [];
        foreach (var r in requests) ArgumentException.ThrowIfNullOrWhiteSpace(r.Method);
        var first = Interlocked.Add(ref _nextId, requests.Count) - requests.Count + 1;
        var ids = Enumerable.Range(0, requests.Count).Select(i => first + i).ToArray();
        var payload = Serialize(requests, first, asBatch: true);
        return await ExecuteAsync($"batch of {requests.Count} ({requests[0].Method}...)", payload, ids, batch: true, ct).ConfigureAwait(false);
    }

    private static byte[] Serialize(IReadOnlyList<EvmRpcRequest> requests, long firstId, bool asBatch)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            if (asBatch) w.WriteStartArray();
            for (var i = 0; i < requests.Count; i++)
            {
                w.WriteStartObject();
                w.WriteString("jsonrpc", "2.0");
                w.WriteNumber("id", firstId + i);
                w.WriteString("method", requests[i].Method);
                w.WritePropertyName("params");
                if (requests[i].Params is { } p) p.WriteTo(w);
                else { w.WriteStartArray(); w.WriteEndArray(); }
                w.WriteEndObject();
            }
            if (asBatch) w.WriteEndArray();
        }
        return buffer.ToArray();
    }

    private async Task<IReadOnlyList<EvmRpcResult>> ExecuteAsync(string what, byte[] payload, long[] ids, bool batch, CancellationToken ct)
    {
        try
        {
            return await _retry.ExecuteAsync(async token => await TryEndpointsAsync(what, payload, ids, batch, token).ConfigureAwait(false), ct)
                .ConfigureAwait(false);
        }
        catch (AllEndpointsFailedException e)
        {
            throw new EvmRpcUnavailableException(what,
                $"{what} failed on every endpoint after {_options.MaxRetryAttempts + 1} rounds: {e.Message}", e.InnerException);
        }
    }

    /// <summary>One round: each endpoint once, healthy ones first, until one answers.</summary>
    private async Task<IReadOnlyList<EvmRpcResult>> TryEndpointsAsync(string what, byte[] payload, long[] ids, bool batch, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var order = _endpoints.Where(e => e.DownUntil <= now).Concat(_endpoints.Where(e => e.DownUntil > now).OrderBy(e => e.DownUntil)).ToList();
        var failures = new List<string>();
        Exception? last = null;
        foreach (var endpoint in order)
        {
            try
            {
                var results = await PostAsync(endpoint.Endpoint, what, payload, ids, batch, ct).ConfigureAwait(false);
                endpoint.DownUntil = DateTimeOffset.MinValue;
                return results;
            }
            catch (EndpointFailedException e)
            {
                endpoint.DownUntil = _time.GetUtcNow() + _options.EndpointCooldown;
                failures.Add($"{endpoint.Endpoint.Redacted}: {e.Message}");
                last = e.InnerException ?? e;
                _logger.LogWarning("EVM RPC {Call} failed on {Endpoint}: {Problem}; trying the next endpoint",
                    what, endpoint.Endpoint.Redacted, e.Message);
            }
        }
        throw new AllEndpointsFailedException(string.Join("; ", failures), last);
    }

    private async Task<IReadOnlyList<EvmRpcResult>> PostAsync(EvmRpcEndpoint endpoint, string what, byte[] payload, long[] ids, bool batch, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.RequestTimeout);
        byte[] body;
        HttpStatusCode status;
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var content = new ByteArrayContent(payload);
            content.Headers.ContentType = JsonContentType;
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Uri) { Content = content };
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
            status = response.StatusCode;
            body = await ReadLimitedAsync(response.Content, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new EndpointFailedException($"no answer within {_options.RequestTimeout.TotalSeconds:0.###} s", e);
        }
        catch (HttpRequestException e)
        {
            throw new EndpointFailedException($"HTTP request failed ({e.HttpRequestError}{(e.InnerException is { } inner ? ": " + inner.Message : "")})", e);
        }
        _logger.LogDebug("EVM RPC {Call} on {Endpoint}: HTTP {Status} in {ElapsedMs:0.0} ms",
            what, endpoint.Redacted, (int)status, Stopwatch.GetElapsedTime(started).TotalMilliseconds);

        var code = (int)status;
        if (code is 408 or 429 or >= 500) throw new EndpointFailedException($"HTTP {code}");

        List<RpcResponseDto> envelopes;
        try
        {
            envelopes = ParseEnvelopes(body);
        }
        catch (Exception e) when (e is JsonException or FormatException)
        {
            // Some providers answer 4xx with a plain page (bad key, blocked): an endpoint problem, so fail over.
            throw new EndpointFailedException($"HTTP {code} with a body that is not a JSON-RPC response ({e.Message})", e);
        }

        // A single error object for a batch: the node refuses batches (or the whole request); every request gets it.
        if (batch && envelopes.Count == 1 && ids.Length > 1 && envelopes[0].Id.ValueKind == JsonValueKind.Null && envelopes[0].Error is { } whole)
        {
            var error = ToError(what, endpoint, whole);
            return ids.Select(_ => new EvmRpcResult(default, error, endpoint.Redacted)).ToList();
        }
        if (code is < 200 or > 299 && envelopes.All(e => e.Error is null))
            throw new EndpointFailedException($"HTTP {code}");

        var byId = new Dictionary<long, RpcResponseDto>();
        foreach (var envelope in envelopes)
        {
            if (envelope.JsonRpc != "2.0") throw new EndpointFailedException("a response without jsonrpc \"2.0\"");
            if (envelope.Id.ValueKind != JsonValueKind.Number || !envelope.Id.TryGetInt64(out var id) || !byId.TryAdd(id, envelope))
                throw new EndpointFailedException("a response with a missing, non-numeric or repeated id");
            if (envelope.Error is null && envelope.Result.ValueKind == JsonValueKind.Undefined)
                throw new EndpointFailedException("a response with neither result nor error");
        }
        var results = new EvmRpcResult[ids.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            if (!byId.TryGetValue(ids[i], out var envelope)) throw new EndpointFailedException($"no response for request id {ids[i]}");
            results[i] = envelope.Error is { } e
                ? new EvmRpcResult(default, ToError(what, endpoint, e), endpoint.Redacted)
                : new EvmRpcResult(envelope.Result, null, endpoint.Redacted);
        }
        if (byId.Count != ids.Length) throw new EndpointFailedException("responses for ids that were not asked");
        return results;
    }

    private static EvmRpcErrorException ToError(string what, EvmRpcEndpoint endpoint, RpcErrorDto e) =>
        new(what, endpoint.Redacted, e.Code, e.Message ?? "(no message)", e.Data.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? null : e.Data.GetRawText());

    private static List<RpcResponseDto> ParseEnvelopes(byte[] body)
    {
        var span = body.AsSpan().TrimStart(" \t\r\n"u8);
        if (span.IsEmpty) throw new FormatException("empty body");
        return span[0] == (byte)'['
            ? JsonSerializer.Deserialize(span, EvmRpcJsonContext.Default.ListRpcResponseDto) ?? throw new FormatException("null batch")
            : [JsonSerializer.Deserialize(span, EvmRpcJsonContext.Default.RpcResponseDto) ?? throw new FormatException("null response")];
    }

    private async Task<byte[]> ReadLimitedAsync(HttpContent content, CancellationToken ct)
    {
        if (content.Headers.ContentLength > _options.MaxResponseBytes)
            throw new EndpointFailedException($"response of {content.Headers.ContentLength} bytes is over the {_options.MaxResponseBytes}-byte limit");
        await using var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > _options.MaxResponseBytes)
                throw new EndpointFailedException($"response is over the {_options.MaxResponseBytes}-byte limit");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    // ---------------------------------------------------------------- requests and mapping

    private static EvmRpcRequest BlockByNumberRequest(ulong number) => new("eth_getBlockByNumber", [HexQuantity.Format(number), true]);

    private static EvmRpcRequest LogRequest(LogChunk chunk, JsonArray? topics)
    {
        var filter = new JsonObject
        {
            ["fromBlock"] = HexQuantity.Format(chunk.From),
            ["toBlock"] = HexQuantity.Format(chunk.To),
        };
        if (chunk.Addresses is { } addresses)
            filter["address"] = new JsonArray(addresses.Select(a => (JsonNode?)JsonValue.Create(a.ToLowerHex())).ToArray());
        if (topics is not null) filter["topics"] = topics.DeepClone();
        return new EvmRpcRequest("eth_getLogs", [filter]);
    }

    private static JsonArray? TopicsJson(IReadOnlyList<IReadOnlyList<string>?>? topics)
    {
        if (topics is null) return null;
        if (topics.Count > 4) throw new ArgumentException("A log has at most 4 topics.", nameof(topics));
        var array = new JsonArray();
        foreach (var position in topics)
            array.Add(position is null
                ? null
                : (JsonNode)new JsonArray(position.Select(t => (JsonNode?)JsonValue.Create(HexQuantity.ParseHash(t, "topic"))).ToArray()));
        return array;
    }

    private bool IsRangeError(EvmRpcErrorException error)
    {
        if (error.Code == -32005) return true; // "limit exceeded" (EIP-1474)
        var message = error.RpcMessage.ToLowerInvariant();
        return _options.LogRangeErrorHints.Any(h => message.Contains(h, StringComparison.Ordinal));
    }

    private static bool TrySplit(LogChunk chunk, out LogChunk a, out LogChunk b)
    {
        if (chunk.To > chunk.From)
        {
            var mid = chunk.From + (chunk.To - chunk.From) / 2;
            a = chunk with { To = mid };
            b = chunk with { From = mid + 1 };
            return true;
        }
        if (chunk.Addresses is { Count: > 1 } addresses)
        {
            var half = addresses.Count / 2;
            a = chunk with { Addresses = addresses.Take(half).ToList() };
            b = chunk with { Addresses = addresses.Skip(half).ToList() };
            return true;
        }
        a = b = chunk;
        return false;
    }

    private static string BlockTag(string tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        if (BlockTags.Contains(tag) || HexQuantity.TryParse(tag, out _, out _)) return tag;
        throw new ArgumentException($"'{tag}' is not a block tag (latest, pending, earliest, safe, finalized or a hex block number).", nameof(tag));
    }

    private static T Map<T>(EvmRpcResult result, string method, Func<JsonElement, T> map)
    {
        var element = result.GetResultOrThrow();
        try
        {
            return map(element);
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException or OverflowException)
        {
            throw new EvmRpcMalformedResponseException(method, result.Endpoint, e.Message, e);
        }
    }

    private static string RequireString(JsonElement e) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new FormatException($"expected a string, got {e.ValueKind}");

    private static T Deserialize<T>(JsonElement e, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) where T : class =>
        e.ValueKind == JsonValueKind.Object || e.ValueKind == JsonValueKind.Array
            ? e.Deserialize(type) ?? throw new FormatException("null")
            : throw new FormatException($"expected an object or array, got {e.ValueKind}");

    private static EvmBlock? ToBlock(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Null) return null;
        var b = Deserialize(e, EvmRpcJsonContext.Default.RpcBlockDto);
        var txs = b.Transactions ?? throw new FormatException("block without transactions");
        return new EvmBlock(
            HexQuantity.ParseUInt64(b.Number, "block number"),
            HexQuantity.ParseHash(b.Hash, "block hash"),
            HexQuantity.ParseHash(b.ParentHash, "parent hash"),
            DateTimeOffset.FromUnixTimeSeconds(checked((long)HexQuantity.ParseUInt64(b.Timestamp, "timestamp"))),
            b.BaseFeePerGas is null ? null : HexQuantity.Parse(b.BaseFeePerGas, "base fee"),
            txs.Select(t => new EvmBlockTransaction(
                HexQuantity.ParseHash(t.Hash, "transaction hash"),
                HexQuantity.ParseInt32(t.TransactionIndex, "transaction index"),
                ParseAddress(t.From, "from"),
                t.To is null ? null : ParseAddress(t.To, "to"),
                HexQuantity.Parse(t.Value, "value"),
                HexQuantity.ParseData(t.Input, "input"))).ToList());
    }

    private static IReadOnlyList<EvmLog> ToLogs(JsonElement e) =>
        Deserialize(e, EvmRpcJsonContext.Default.ListRpcLogDto).Select(ToLog).ToList();

    private static EvmLog ToLog(RpcLogDto l) => new(
        ParseAddress(l.Address, "log address"),
        (l.Topics ?? throw new FormatException("log without topics")).Select(t => HexQuantity.ParseHash(t, "topic")).ToList(),
        HexQuantity.ParseData(l.Data, "log data"),
        HexQuantity.ParseUInt64(l.BlockNumber, "log block number"),
        HexQuantity.ParseHash(l.BlockHash, "log block hash"),
        HexQuantity.ParseHash(l.TransactionHash, "log transaction hash"),
        HexQuantity.ParseInt32(l.TransactionIndex, "log transaction index"),
        HexQuantity.ParseInt32(l.LogIndex, "log index"),
        l.Removed ?? false);

    private static EvmReceipt? ToReceipt(JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Null) return null;
        var r = Deserialize(e, EvmRpcJsonContext.Default.RpcReceiptDto);
        var status = HexQuantity.Parse(r.Status, "receipt status");
        if (status > 1) throw new FormatException($"receipt status {status} is neither 0 nor 1");
        return new EvmReceipt(
            HexQuantity.ParseHash(r.TransactionHash, "transaction hash"),
            HexQuantity.ParseUInt64(r.BlockNumber, "block number"),
            HexQuantity.ParseHash(r.BlockHash, "block hash"),
            status == 1,
            HexQuantity.Parse(r.GasUsed, "gas used"),
            HexQuantity.Parse(r.EffectiveGasPrice, "effective gas price"),
            r.ContractAddress is null ? null : ParseAddress(r.ContractAddress, "contract address"),
            (r.Logs ?? throw new FormatException("receipt without logs")).Select(ToLog).ToList());
    }

    private static EvmFeeHistory ToFeeHistory(JsonElement e, int percentiles)
    {
        var h = Deserialize(e, EvmRpcJsonContext.Default.RpcFeeHistoryDto);
        var baseFees = (h.BaseFeePerGas ?? throw new FormatException("no baseFeePerGas")).Select(f => HexQuantity.Parse(f, "base fee")).ToList();
        var ratios = h.GasUsedRatio ?? throw new FormatException("no gasUsedRatio");
        if (baseFees.Count != ratios.Count + 1) throw new FormatException($"{baseFees.Count} base fees for {ratios.Count} blocks (expected one more)");
        if (ratios.Any(r => r is < 0 or > 1 || double.IsNaN(r))) throw new FormatException("a gasUsedRatio outside 0..1");
        var rewards = (h.Reward ?? (percentiles == 0 ? [] : throw new FormatException("no reward")))
            .Select(row => row.Count == percentiles
                ? (IReadOnlyList<BigInteger>)row.Select(x => HexQuantity.Parse(x, "reward")).ToList()
                : throw new FormatException($"a reward row has {row.Count} entries for {percentiles} percentiles"))
            .ToList();
        if (percentiles > 0 && rewards.Count != ratios.Count) throw new FormatException($"{rewards.Count} reward rows for {ratios.Count} blocks");
        return new EvmFeeHistory(HexQuantity.ParseUInt64(h.OldestBlock, "oldest block"), baseFees, ratios, rewards);
    }

    private static EvmAddress ParseAddress(string? text, string what)
    {
        if (text is null) throw new FormatException($"{what} is missing");
        HexQuantity.ParseData(text, what, EvmAddress.Length);
        return EvmAddress.Parse(text);
    }

    private sealed record LogChunk(ulong From, ulong To, IReadOnlyList<EvmAddress>? Addresses);

    private sealed class EndpointState(EvmRpcEndpoint endpoint)
    {
        public EvmRpcEndpoint Endpoint { get; } = endpoint;

        // Read and written by concurrent calls; DateTimeOffset is 16 bytes, so a lock keeps reads from tearing.
        private readonly Lock _gate = new();
        private DateTimeOffset _downUntil = DateTimeOffset.MinValue;

        public DateTimeOffset DownUntil
        {
            get { lock (_gate) return _downUntil; }
            set { lock (_gate) _downUntil = value; }
        }
    }

    /// <summary>This endpoint failed in a way another endpoint (or a later try) may not.</summary>
    private sealed class EndpointFailedException(string message, Exception? inner = null) : Exception(message, inner);

    /// <summary>Every endpoint failed in this round: the retry pipeline backs off and tries a new round.</summary>
    private sealed class AllEndpointsFailedException(string message, Exception? inner) : Exception(message, inner);
}
