using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Molly.Api.Endpoints;
using Molly.Api.Security;

namespace Molly.Api.Tests;

/// <summary>A clock the tests move by hand (Microsoft.Extensions.TimeProvider.Testing is not on this feed).</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;
    public override DateTimeOffset GetUtcNow() => _now;
    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>The API in-process over a temp data dir, with the store kind given by the subclass.</summary>
public abstract class ApiFactory : WebApplicationFactory<Program>
{
    private readonly IReadOnlyDictionary<string, string> _settings;

    protected ApiFactory(string storeKind, IReadOnlyDictionary<string, string>? settings = null)
    {
        StoreKind = storeKind;
        _settings = settings ?? new Dictionary<string, string>();
        DataDir = Directory.CreateTempSubdirectory("molly-api-tests-").FullName;
    }

    public string StoreKind { get; }
    public string DataDir { get; }
    public ManualClock Clock { get; } = new(DateTimeOffset.UtcNow);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Molly:DataDir", DataDir);
        builder.UseSetting("Molly:Store:Kind", StoreKind);
        builder.UseSetting("Molly:Auth:RotationOverlap", "01:00:00");
        builder.ConfigureServices(s => s.AddSingleton<TimeProvider>(Clock));
        foreach (var (key, value) in _settings) builder.UseSetting(key, value);
        if (StoreKind == "DynamoDb")
        {
            // DynamoDB Local (tests/Molly.Testing) on a fresh table, through the same DynamoDbItemStore as on AWS.
            builder.UseSetting("Molly:Store:TableName", "replaced-by-fixture");
            builder.ConfigureServices(s => s.AddSingleton<Molly.Storage.IItemStore>(
                _ => Molly.Testing.DynamoDbLocal.Shared.CreateStoreAsync(Clock).GetAwaiter().GetResult()));
        }
    }

    public AdminCredentialFile AdminCredential()
    {
        _ = Server; // the host starts (and bootstraps the credential) on first use
        return JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(DataDir, AdminBootstrap.FileName)), ApiJsonContext.Default.AdminCredentialFile)!;
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>The embedded default: SQLite in the data dir.</summary>
public sealed class SqliteStoreApiFactory() : ApiFactory("Sqlite");

/// <summary>DynamoDB Local (tests/Molly.Testing) on a fresh table, through the same DynamoDbItemStore as on AWS.</summary>
public sealed class DynamoDbLocalStoreApiFactory() : ApiFactory("DynamoDb");

/// <summary>Sends requests signed per <see cref="RequestSigning"/>, as a client would.</summary>
public sealed class SignedClient(HttpClient http, string keyId, string secret, Func<DateTimeOffset> now)
{
    public HttpClient Http => http;

    /// <param name="signedIdempotencyKey">Sends this Idempotency-Key and signs it (Molly-Signed-Headers: idempotency-key).</param>
    public HttpRequestMessage Build(HttpMethod method, string pathAndQuery, string? json = null, long? timestamp = null, string? secretOverride = null,
        string? signedIdempotencyKey = null)
    {
        var body = json is null ? [] : Encoding.UTF8.GetBytes(json);
        var ts = timestamp ?? now().ToUnixTimeSeconds();
        var request = new HttpRequestMessage(method, pathAndQuery);
        if (json is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        request.Headers.Add(RequestSigning.KeyIdHeader, keyId);
        request.Headers.Add(RequestSigning.TimestampHeader, ts.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (signedIdempotencyKey is not null)
        {
            request.Headers.Add(RequestSigning.IdempotencyKeyHeader, signedIdempotencyKey);
            request.Headers.Add(RequestSigning.SignedHeadersHeader, RequestSigning.SignedIdempotencyKey);
        }
        request.Headers.Add(RequestSigning.SignatureHeader,
            RequestSigning.SignHex(secretOverride ?? secret, ts, method.Method, pathAndQuery, body, signedIdempotencyKey));
        return request;
    }

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string pathAndQuery, string? json = null) =>
        http.SendAsync(Build(method, pathAndQuery, json));
}
