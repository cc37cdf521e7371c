using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Molly.Api.Hosting;
using Molly.Api.Http;
using Molly.Api.Model;
using Molly.Storage;

namespace Molly.Api.Security;

/// <summary>Machine-readable reasons of a 401, sent as the problem's <c>reason</c> member.</summary>
public static class AuthFailureReasons
{
    public const string MissingCredentials = "missing_credentials";
    public const string MalformedHeader = "malformed_header";
    public const string UnknownKey = "unknown_key";
    public const string RevokedKey = "revoked_key";
    public const string ExpiredKey = "expired_key";
    public const string TimestampSkew = "timestamp_skew";
    public const string BadSignature = "bad_signature";
    public const string Replayed = "replayed_signature";
    public const string UnsignedIdempotencyKey = "unsigned_idempotency_key";
}

public static class MollyClaims
{
    public const string KeyId = "molly:key_id";
}

/// <summary>
/// Authenticates requests signed with an API key (<see cref="RequestSigning"/>). A request without any Molly-* header is
/// anonymous (endpoints that need a principal then answer 401); a request with them either authenticates or fails
/// with one of <see cref="AuthFailureReasons"/>. Checks, in order: headers well-formed, timestamp within the skew window,
/// key known / not revoked / not expired, signature (constant-time), then the signature is recorded once in the store
/// (ItemAbsent, with a ttl past the window) so a replay fails.
/// </summary>
public sealed class SignatureAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions, ILoggerFactory loggerFactory, UrlEncoder encoder,
    ApiKeys keys, IItemStore store, TimeProvider clock, IOptions<MollyOptions> molly, IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, loggerFactory, encoder)
{
    public const string SchemeName = "Molly-HMAC-SHA256";

    private const string FailureReasonKey = "molly:auth-failure";

    internal const string ReplayedDetail = "This signature was already used; sign each request anew.";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (Context.GetEndpoint()?.Metadata.GetMetadata<SkipsSignatureAuthenticationMetadata>() is not null)
            return AuthenticateResult.NoResult();
        var headers = Request.Headers;
        var keyHeader = headers[RequestSigning.KeyIdHeader].ToString();
        var timestampHeader = headers[RequestSigning.TimestampHeader].ToString();
        var signatureHeader = headers[RequestSigning.SignatureHeader].ToString();
        if (keyHeader.Length == 0 && timestampHeader.Length == 0 && signatureHeader.Length == 0)
            return AuthenticateResult.NoResult();

        if (keyHeader.Length == 0 || timestampHeader.Length == 0 || signatureHeader.Length == 0)
            return Fail(AuthFailureReasons.MissingCredentials,
                $"All of {RequestSigning.KeyIdHeader}, {RequestSigning.TimestampHeader} and {RequestSigning.SignatureHeader} are required.");
        if (!ApiKeyId.TryParse(keyHeader, out var keyId))
            return Fail(AuthFailureReasons.UnknownKey, "The API key is not known.");
        if (!long.TryParse(timestampHeader, NumberStyles.None, CultureInfo.InvariantCulture, out var timestamp))
            return Fail(AuthFailureReasons.MalformedHeader, $"{RequestSigning.TimestampHeader} must be unix seconds.");
        if (!RequestSigning.TryParseSignature(signatureHeader, out var presented))
            return Fail(AuthFailureReasons.MalformedHeader, $"{RequestSigning.SignatureHeader} must be 64 hex characters.");
        string? signedIdempotencyKey = null;
        var idempotencyKeys = headers[RequestSigning.IdempotencyKeyHeader];
        if (headers[RequestSigning.SignedHeadersHeader] is { Count: > 0 } signedHeaders)
        {
            if (signedHeaders.Count != 1 || !string.Equals(signedHeaders[0]?.Trim(), RequestSigning.SignedIdempotencyKey, StringComparison.OrdinalIgnoreCase))
                return Fail(AuthFailureReasons.MalformedHeader,
                    $"{RequestSigning.SignedHeadersHeader} can only name {RequestSigning.SignedIdempotencyKey}.");
            if (idempotencyKeys.Count != 1)
                return Fail(AuthFailureReasons.MalformedHeader,
                    $"{RequestSigning.SignedHeadersHeader} names {RequestSigning.SignedIdempotencyKey}: send exactly one {RequestSigning.IdempotencyKeyHeader} header.");
            signedIdempotencyKey = idempotencyKeys[0] ?? "";
        }
        else if (idempotencyKeys.Count > 0 && molly.Value.Auth.RequireSignedIdempotencyKey)
        {
            return Fail(AuthFailureReasons.UnsignedIdempotencyKey,
                $"Sign the {RequestSigning.IdempotencyKeyHeader} header: send {RequestSigning.SignedHeadersHeader}: {RequestSigning.SignedIdempotencyKey}.");
        }

        var now = clock.GetUtcNow();
        var skew = molly.Value.Auth.MaxClockSkew;
        if (Math.Abs(now.ToUnixTimeSeconds() - timestamp) > (long)skew.TotalSeconds)
            return Fail(AuthFailureReasons.TimestampSkew,
                $"{RequestSigning.TimestampHeader} is more than {(long)skew.TotalSeconds} seconds from the server time {now.ToUnixTimeSeconds()}.");

        var ct = Context.RequestAborted;
        var key = await keys.FindAsync(keyId, ct);
        if (key is null) return Fail(AuthFailureReasons.UnknownKey, "The API key is not known.");
        if (key.UnusableReason(now) is { } unusable)
            return Fail(unusable, unusable == AuthFailureReasons.RevokedKey ? "The API key was revoked." : "The API key has expired (it was rotated).");

        var body = RequestBodyBuffer.Buffered(Context);
        var secret = keys.RevealSecret(key);
        byte[] expected;
        try
        {
            expected = RequestSigning.Sign(secret, timestamp, Request.Method, PathAndQuery(), body.Span, signedIdempotencyKey);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }
        if (!CryptographicOperations.FixedTimeEquals(expected, presented))
            return Fail(AuthFailureReasons.BadSignature, "The signature does not match the request.");

        var record = new SignatureRecord(store, new Item(TableKeys.SeenSignature(keyId, Convert.ToHexStringLower(presented)))
        {
            [Attr.Type] = "SeenSignature",
            [Attr.Ttl] = timestamp + (long)skew.TotalSeconds + 60,
        });
        if (Context.GetEndpoint()?.Metadata.GetMetadata<RecordsSignatureInTransactionMetadata>() is not null)
        {
            // The endpoint commits the record with its own writes (one commit per request); the hook covers every way the
            // request can end before the endpoint does (403, 429, a malformed body, an exception).
            Context.Features.Set(record);
            Response.OnStarting(WriteIfPending, (record, Context));
        }
        else if (!await record.WriteAsync(ct))
        {
            return Fail(AuthFailureReasons.Replayed, ReplayedDetail);
        }

        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, key.Principal.Value),
            new(MollyClaims.KeyId, key.Id.Value),
        };
        claims.AddRange(key.Roles.Select(r => new Claim(ClaimTypes.Role, r)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName, ClaimTypes.NameIdentifier, ClaimTypes.Role));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    private static async Task WriteIfPending(object state)
    {
        var (record, context) = ((SignatureRecord, HttpContext))state;
        if (record.IsWritten) return;
        try
        {
            if (!await record.WriteAsync(context.RequestAborted))
                context.RequestServices.GetRequiredService<ILogger<SignatureAuthenticationHandler>>()
                    .LogInformation("A replayed signature ended before its endpoint ran ({Status}); nothing was executed", context.Response.StatusCode);
        }
        catch (Exception e) when (e is StoreUnavailableException or OperationCanceledException)
        {
            // The response is already an error that executed nothing (as when the handler's own put fails): no record, as before.
        }
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        var reason = Context.Items[FailureReasonKey] as string ?? AuthFailureReasons.MissingCredentials;
        var detail = result.Failure?.Message ?? "This endpoint needs a signed request (Molly-Key-Id, Molly-Timestamp, Molly-Signature).";
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = SchemeName;
        await ProblemResponses.WriteAsync(problems, Context, StatusCodes.Status401Unauthorized, "Unauthorized", detail, reason);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ProblemResponses.WriteAsync(problems, Context, StatusCodes.Status403Forbidden, "Forbidden",
            "The credential is valid but its roles do not allow this request.", "forbidden_role");

    private AuthenticateResult Fail(string reason, string detail)
    {
        Context.Items[FailureReasonKey] = reason;
        Logger.LogInformation("Request authentication failed: {Reason} (key {KeyId})", reason,
            ApiKeyId.TryParse(Request.Headers[RequestSigning.KeyIdHeader].ToString(), out var k) ? k.Value : "-");
        return AuthenticateResult.Fail(detail);
    }

    /// <summary>The request target as the client sent it (raw, undecoded), which is what the client signed.</summary>
    private string PathAndQuery()
    {
        var raw = Context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        return string.IsNullOrEmpty(raw) ? Request.PathBase + Request.Path + Request.QueryString : raw;
    }
}
