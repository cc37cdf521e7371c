using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Molly.Api.Endpoints;
using Molly.Api.Security;
using Xunit;

namespace Molly.Api.Tests;

/// <summary>One body of API tests; each subclass runs it against one store configuration (its name says which).</summary>
public abstract class ApiTests<TFactory> : IClassFixture<TFactory> where TFactory : ApiFactory
{
    private readonly TFactory _factory;
    private readonly HttpClient _http;
    private readonly SignedClient _admin;

    protected ApiTests(TFactory factory)
    {
        _factory = factory;
        _http = factory.CreateClient();
        var cred = factory.AdminCredential();
        _admin = new SignedClient(_http, cred.KeyId, cred.Secret, factory.Clock.GetUtcNow);
    }

    private async Task<MerchantResponse> CreateMerchantAsync(string? name = null)
    {
        var response = await _admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants",
            $$"""{"name":"{{name ?? "Shop " + Guid.NewGuid().ToString("N")}}","contactEmail":"ops@example.test"}""");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.MerchantResponse))!;
    }

    private async Task<(MerchantResponse Merchant, IssuedApiKeyResponse Key, SignedClient Client)> MerchantWithKeyAsync()
    {
        var merchant = await CreateMerchantAsync();
        var response = await _admin.SendAsync(HttpMethod.Post, $"/v1/admin/merchants/{merchant.Id}/api-keys");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var key = (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.IssuedApiKeyResponse))!;
        return (merchant, key, new SignedClient(_http, key.KeyId, key.Secret, _factory.Clock.GetUtcNow));
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? reason = null)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        if (reason is not null) Assert.Equal(reason, problem.GetProperty("reason").GetString());
        return problem;
    }

    [Fact]
    public async Task Health_needs_no_credentials()
    {
        var response = await _http.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"ok\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Admin_credential_file_is_owner_only_and_not_empty()
    {
        var path = Path.Combine(_factory.DataDir, AdminBootstrap.FileName);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.StartsWith(ApiKeys.SecretPrefix, _factory.AdminCredential().Secret);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_factory.DataDir, LocalKeyFileSecretProtector.FileName)));
    }

    [Fact]
    public async Task Merchant_key_authenticates_me()
    {
        var (merchant, key, client) = await MerchantWithKeyAsync();
        var response = await client.SendAsync(HttpMethod.Get, "/v1/me?x=1");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var me = (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.MeResponse))!;
        Assert.Equal(merchant.Id, me.PrincipalId);
        Assert.Equal(key.KeyId, me.KeyId);
        Assert.Equal(["merchant"], me.Roles);
        Assert.Equal(merchant.Name, me.MerchantName);
    }

    [Fact]
    public async Task Missing_credentials_is_401_problem() =>
        await ProblemAsync(await _http.GetAsync("/v1/me"), HttpStatusCode.Unauthorized, AuthFailureReasons.MissingCredentials);

    [Fact]
    public async Task Unknown_key_is_rejected()
    {
        var stranger = new SignedClient(_http, "key_00000000000000000000", "msk_whatever", _factory.Clock.GetUtcNow);
        await ProblemAsync(await stranger.SendAsync(HttpMethod.Get, "/v1/me"), HttpStatusCode.Unauthorized, AuthFailureReasons.UnknownKey);
    }

    [Fact]
    public async Task Wrong_secret_is_a_bad_signature()
    {
        var (_, key, client) = await MerchantWithKeyAsync();
        var request = client.Build(HttpMethod.Get, "/v1/me", secretOverride: key.Secret + "x");
        await ProblemAsync(await _http.SendAsync(request), HttpStatusCode.Unauthorized, AuthFailureReasons.BadSignature);
    }

    [Fact]
    public async Task Tampered_path_is_a_bad_signature()
    {
        var (_, _, client) = await MerchantWithKeyAsync();
        var request = client.Build(HttpMethod.Get, "/v1/me");
        request.RequestUri = new Uri("/v1/me?extra=1", UriKind.Relative);
        await ProblemAsync(await _http.SendAsync(request), HttpStatusCode.Unauthorized, AuthFailureReasons.BadSignature);
    }

    [Theory]
    [InlineData(-301)]
    [InlineData(301)]
    public async Task Timestamp_outside_five_minutes_is_rejected(int offsetSeconds)
    {
        var (_, _, client) = await MerchantWithKeyAsync();
        var ts = _factory.Clock.GetUtcNow().ToUnixTimeSeconds() + offsetSeconds;
        await ProblemAsync(await _http.SendAsync(client.Build(HttpMethod.Get, "/v1/me", timestamp: ts)), HttpStatusCode.Unauthorized,
            AuthFailureReasons.TimestampSkew);
    }

    [Fact]
    public async Task Timestamp_within_window_is_accepted()
    {
        var (_, _, client) = await MerchantWithKeyAsync();
        var ts = _factory.Clock.GetUtcNow().ToUnixTimeSeconds() - 299;
        Assert.Equal(HttpStatusCode.OK, (await _http.SendAsync(client.Build(HttpMethod.Get, "/v1/me", timestamp: ts))).StatusCode);
    }

    [Fact]
    public async Task Replayed_signature_is_rejected()
    {
        var (_, _, client) = await MerchantWithKeyAsync();
        var first = client.Build(HttpMethod.Get, "/v1/me");
        var copy = new HttpRequestMessage(HttpMethod.Get, "/v1/me");
        foreach (var h in first.Headers) copy.Headers.TryAddWithoutValidation(h.Key, h.Value);
        Assert.Equal(HttpStatusCode.OK, (await _http.SendAsync(first)).StatusCode);
        await ProblemAsync(await _http.SendAsync(copy), HttpStatusCode.Unauthorized, AuthFailureReasons.Replayed);
    }

    [Fact]
    public async Task Rotated_key_works_during_overlap_then_expires()
    {
        var (merchant, key, oldClient) = await MerchantWithKeyAsync();
        var response = await _admin.SendAsync(HttpMethod.Post, $"/v1/admin/merchants/{merchant.Id}/api-keys/{key.KeyId}/rotate");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var fresh = (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.IssuedApiKeyResponse))!;
        Assert.Equal(key.KeyId, fresh.Replaces);
        Assert.NotEqual(key.Secret, fresh.Secret);
        var newClient = new SignedClient(_http, fresh.KeyId, fresh.Secret, _factory.Clock.GetUtcNow);

        Assert.Equal(HttpStatusCode.OK, (await oldClient.SendAsync(HttpMethod.Get, "/v1/me")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await newClient.SendAsync(HttpMethod.Get, "/v1/me")).StatusCode);

        // A second rotation of the same key is refused. (The clock moves a second first: the same request signed in the
        // same second has the same signature, and would be refused as a replay.)
        _factory.Clock.Advance(TimeSpan.FromSeconds(1));
        await ProblemAsync(await _admin.SendAsync(HttpMethod.Post, $"/v1/admin/merchants/{merchant.Id}/api-keys/{key.KeyId}/rotate"),
            HttpStatusCode.Conflict);

        _factory.Clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        await ProblemAsync(await oldClient.SendAsync(HttpMethod.Get, "/v1/me"), HttpStatusCode.Unauthorized, AuthFailureReasons.ExpiredKey);
        Assert.Equal(HttpStatusCode.OK, (await newClient.SendAsync(HttpMethod.Get, "/v1/me")).StatusCode);
    }

    [Fact]
    public async Task Revoked_key_is_rejected_at_once()
    {
        var (merchant, key, client) = await MerchantWithKeyAsync();
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(HttpMethod.Get, "/v1/me")).StatusCode);
        var response = await _admin.SendAsync(HttpMethod.Post, $"/v1/admin/merchants/{merchant.Id}/api-keys/{key.KeyId}/revoke");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("revoked", (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.ApiKeyResponse))!.Status);
        await ProblemAsync(await client.SendAsync(HttpMethod.Get, "/v1/me"), HttpStatusCode.Unauthorized, AuthFailureReasons.RevokedKey);
    }

    [Fact]
    public async Task Key_listing_never_shows_secrets()
    {
        var (merchant, key, _) = await MerchantWithKeyAsync();
        var body = await (await _admin.SendAsync(HttpMethod.Get, $"/v1/admin/merchants/{merchant.Id}/api-keys")).Content.ReadAsStringAsync();
        Assert.Contains(key.KeyId, body);
        Assert.DoesNotContain(key.Secret, body);
        Assert.DoesNotContain("secret", body, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Merchant_cannot_use_admin_endpoints_or_diagnostics()
    {
        var (_, _, client) = await MerchantWithKeyAsync();
        await ProblemAsync(await client.SendAsync(HttpMethod.Get, "/v1/diagnostics"), HttpStatusCode.Forbidden);
        await ProblemAsync(await client.SendAsync(HttpMethod.Post, "/v1/admin/merchants", """{"name":"x"}"""), HttpStatusCode.Forbidden);
        await ProblemAsync(await _http.GetAsync("/v1/diagnostics"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task Diagnostics_reports_store_feed_and_build()
    {
        await CreateMerchantAsync();
        var response = await _admin.SendAsync(HttpMethod.Get, "/v1/diagnostics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var d = (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.DiagnosticsResponse))!;
        Assert.True(d.Store.Reachable);
        Assert.Equal(_factory.StoreKind, d.Store.Kind);
        Assert.Equal("Local", d.Mode);
        Assert.False(d.ChangeFeed.CaughtUp); // nothing consumes the feed yet: the oldest change is pending
        Assert.NotNull(d.ChangeFeed.OldestUnprocessedAt);
        Assert.NotEqual("unknown", d.BuildHash);
    }

    [Fact]
    public async Task Created_merchant_reads_back_and_duplicate_name_conflicts()
    {
        var merchant = await CreateMerchantAsync();
        var read = await _admin.SendAsync(HttpMethod.Get, $"/v1/admin/merchants/{merchant.Id}");
        Assert.Equal(merchant, await read.Content.ReadFromJsonAsync(ApiJsonContext.Default.MerchantResponse));
        var again = await _admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants", $$"""{"name":"{{merchant.Name.ToUpperInvariant()}}"}""");
        await ProblemAsync(again, HttpStatusCode.Conflict);
    }

    [Fact]
    public async Task Unknown_field_is_rejected_and_nothing_written()
    {
        var name = "Unknown field shop " + Guid.NewGuid().ToString("N");
        var problem = await ProblemAsync(await _admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants", $$"""{"name":"{{name}}","isAdmin":true}"""),
            HttpStatusCode.BadRequest, "invalid_json");
        Assert.Contains("isAdmin", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.Created,
            (await _admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants", $$"""{"name":"{{name}}"}""")).StatusCode);
    }

    [Theory]
    [InlineData("""{"name":""")]
    [InlineData("""{"name": 12}""")]
    [InlineData("""{"contactEmail":"a@b.c"}""")]
    [InlineData("""{"name": null}""")]
    public async Task Malformed_json_is_400_with_reason(string json)
    {
        var problem = await ProblemAsync(await _admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants", json), HttpStatusCode.BadRequest, "invalid_json");
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
    }

    [Fact]
    public async Task Invalid_name_is_a_validation_problem()
    {
        var problem = await ProblemAsync(await _admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants", """{"name":"   "}"""), HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("name", out _));
    }

    [Fact]
    public async Task Oversized_body_is_413()
    {
        var json = $$"""{"name":"{{new string('a', 70 * 1024)}}"}""";
        await ProblemAsync(await _admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants", json), HttpStatusCode.RequestEntityTooLarge, "body_too_large");
    }

    [Fact]
    public async Task Bad_id_is_400_and_unknown_id_is_404()
    {
        await ProblemAsync(await _admin.SendAsync(HttpMethod.Get, "/v1/admin/merchants/not-an-id"), HttpStatusCode.BadRequest, "invalid_id");
        await ProblemAsync(await _admin.SendAsync(HttpMethod.Get, "/v1/admin/merchants/mch_00000000000000000000"), HttpStatusCode.NotFound);
        await ProblemAsync(await _admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants/mch_00000000000000000000/api-keys"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Unknown_route_and_wrong_method_are_problems()
    {
        await ProblemAsync(await _http.GetAsync("/v1/nothing-here"), HttpStatusCode.NotFound);
        await ProblemAsync(await _http.DeleteAsync("/health"), HttpStatusCode.MethodNotAllowed);
    }
}

public sealed class ApiTests_SqliteStore(SqliteStoreApiFactory factory) : ApiTests<SqliteStoreApiFactory>(factory);

public sealed class ApiTests_DynamoDbLocalStore(DynamoDbLocalStoreApiFactory factory) : ApiTests<DynamoDbLocalStoreApiFactory>(factory);
