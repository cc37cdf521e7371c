using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Amazon.Runtime;

namespace Molly.Storage.DynamoDb.Streams;

/// <summary>An error answered by the DynamoDB Streams API (its __type short name and message).</summary>
public sealed class StreamsApiException(string errorType, string message, HttpStatusCode status)
    : Exception($"DynamoDB Streams error {errorType} ({(int)status}): {message}")
{
    public string ErrorType { get; } = errorType;
    public HttpStatusCode Status { get; } = status;

    public bool IsTransient => (int)Status >= 500 || ErrorType is "ThrottlingException" or "LimitExceededException"
        or "ProvisionedThroughputExceededException" or "RequestLimitExceeded";
}

/// <summary>
/// A small JSON client of the DynamoDB Streams API (SDK v4 has none): POST / with X-Amz-Target DynamoDBStreams_20120810.*,
/// application/x-amz-json-1.0, signed with SigV4 (signing name <c>dynamodb</c>). Transient errors are retried a few times.
/// </summary>
public sealed class DynamoDbStreamsClient
{
    public const string TargetPrefix = "DynamoDBStreams_20120810.";
    public const string ContentType = "application/x-amz-json-1.0";
    public const string SigningName = "dynamodb";
    private const int MaxAttempts = 4;

    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly string _region;
    private readonly AWSCredentials _credentials;
    private readonly TimeProvider _time;

    public DynamoDbStreamsClient(HttpClient http, Uri endpoint, string region, AWSCredentials credentials, TimeProvider? time = null)
    {
        _http = http ?? throw new ArgumentNullException(nameof(http));
        _endpoint = endpoint ?? throw new ArgumentNullException(nameof(endpoint));
        ArgumentException.ThrowIfNullOrEmpty(region);
        _region = region;
        _credentials = credentials ?? throw new ArgumentNullException(nameof(credentials));
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The regional endpoint of DynamoDB Streams in AWS.</summary>
    public static Uri RegionalEndpoint(string region) => new($"https://streams.dynamodb.{region}.amazonaws.com/");

    public Task<DescribeStreamResponse> DescribeStreamAsync(DescribeStreamRequest request, CancellationToken ct) =>
        SendAsync("DescribeStream", request, StreamsJsonContext.Default.DescribeStreamRequest, StreamsJsonContext.Default.DescribeStreamResponse, ct);

    public Task<GetShardIteratorResponse> GetShardIteratorAsync(GetShardIteratorRequest request, CancellationToken ct) =>
        SendAsync("GetShardIterator", request, StreamsJsonContext.Default.GetShardIteratorRequest, StreamsJsonContext.Default.GetShardIteratorResponse, ct);

    public Task<GetRecordsResponse> GetRecordsAsync(GetRecordsRequest request, CancellationToken ct) =>
        SendAsync("GetRecords", request, StreamsJsonContext.Default.GetRecordsRequest, StreamsJsonContext.Default.GetRecordsResponse, ct);

    /// <summary>Builds the signed request (public so tests can check its shape without a server).</summary>
    public async Task<HttpRequestMessage> CreateRequestAsync(string operation, byte[] body, CancellationToken ct)
    {
        var creds = await _credentials.GetCredentialsAsync().ConfigureAwait(false);
        ct.ThrowIfCancellationRequested();
        var target = TargetPrefix + operation;
        var host = _endpoint.IsDefaultPort ? _endpoint.Host : $"{_endpoint.Host}:{_endpoint.Port}";
        var headers = SigV4.Sign("POST", "/", host,
            [new("content-type", ContentType), new("x-amz-target", target)],
            body, _region, SigningName, new SigV4.Credentials(creds.AccessKey, creds.SecretKey, creds.UseToken ? creds.Token : null),
            _time.GetUtcNow());

        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_endpoint, "/"));
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(ContentType);
        request.Content = content;
        foreach (var (name, value) in headers)
        {
            if (name == "content-type") continue;
            if (name == "authorization") request.Headers.TryAddWithoutValidation("Authorization", value);
            else request.Headers.TryAddWithoutValidation(name, value);
        }
        return request;
    }

    private async Task<TResponse> SendAsync<TRequest, TResponse>(
        string operation, TRequest payload, JsonTypeInfo<TRequest> requestType, JsonTypeInfo<TResponse> responseType, CancellationToken ct)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(payload, requestType);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var request = await CreateRequestAsync(operation, body, ct).ConfigureAwait(false);
                using var response = await _http.SendAsync(request, ct).ConfigureAwait(false);
                var bytes = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                    return JsonSerializer.Deserialize(bytes, responseType)
                           ?? throw new InvalidDataException($"DynamoDB Streams {operation} answered an empty body.");
                throw ParseError(bytes, response.StatusCode);
            }
            catch (StreamsApiException e) when (e.IsTransient && attempt < MaxAttempts)
            {
            }
            catch (HttpRequestException) when (attempt < MaxAttempts)
            {
            }
            await Task.Delay(TimeSpan.FromMilliseconds(50 * (1 << attempt)), _time, ct).ConfigureAwait(false);
        }
    }

    private static StreamsApiException ParseError(byte[] bytes, HttpStatusCode status)
    {
        StreamsError? error = null;
        try { error = JsonSerializer.Deserialize(bytes, StreamsJsonContext.Default.StreamsError); }
        catch (JsonException) { }
        var type = error?.Type ?? "UnknownError";
        var hash = type.LastIndexOf('#');
        if (hash >= 0) type = type[(hash + 1)..];
        return new StreamsApiException(type, error?.Message ?? error?.MessageUpper ?? "(no message)", status);
    }
}
