using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Molly.Api.Model;
using Molly.Api.Security;

namespace Molly.Api.Endpoints;

/// <summary>Admin endpoints: merchants and their API keys.</summary>
public static class AdminApi
{
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/v1/admin").RequireAuthorization(Policies.Admin);
        admin.MapPost("/merchants", CreateMerchant);
        admin.MapGet("/merchants/{id}", GetMerchant);
        admin.MapPost("/merchants/{id}/api-keys", IssueKey);
        admin.MapGet("/merchants/{id}/api-keys", ListKeys);
        admin.MapPost("/merchants/{id}/api-keys/{keyId}/rotate", RotateKey);
        admin.MapPost("/merchants/{id}/api-keys/{keyId}/revoke", RevokeKey);
        return app;
    }

    private static async Task<Results<Created<MerchantResponse>, ValidationProblem, ProblemHttpResult>> CreateMerchant(
        CreateMerchantRequest request, Merchants merchants, CancellationToken ct)
    {
        if (Merchants.Validate(request.Name, request.ContactEmail) is { } error)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { [error.Field] = [error.Message] });
        return await merchants.CreateAsync(request.Name, request.ContactEmail, ct) switch
        {
            CreateMerchantOutcome.Created c => TypedResults.Created($"/v1/admin/merchants/{c.Merchant.Id}", ToResponse(c.Merchant)),
            CreateMerchantOutcome.NameTaken t => TypedResults.Problem($"A merchant named '{t.Name}' already exists.",
                statusCode: StatusCodes.Status409Conflict, title: "Conflict"),
            _ => throw new InvalidOperationException("Unexpected outcome."),
        };
    }

    private static async Task<Results<Ok<MerchantResponse>, ProblemHttpResult>> GetMerchant(string id, Merchants merchants, CancellationToken ct)
    {
        if (!MerchantId.TryParse(id, out var merchantId)) return BadId("merchant", id);
        return await merchants.FindAsync(merchantId, ct) is { } m ? TypedResults.Ok(ToResponse(m)) : NotFound("merchant", id);
    }

    private static async Task<Results<Created<IssuedApiKeyResponse>, ProblemHttpResult>> IssueKey(
        string id, IssueApiKeyRequest? request, ApiKeys keys, CancellationToken ct)
    {
        if (!MerchantId.TryParse(id, out var merchantId)) return BadId("merchant", id);
        var key = await keys.IssueForMerchantAsync(merchantId, request?.Label, ct);
        return key is null
            ? NotFound("merchant", id)
            : TypedResults.Created($"/v1/admin/merchants/{id}/api-keys/{key.Record.Id}", Issued(key, null, null));
    }

    private static async Task<Results<Ok<ApiKeyListResponse>, ProblemHttpResult>> ListKeys(
        string id, ApiKeys keys, Merchants merchants, CancellationToken ct)
    {
        if (!MerchantId.TryParse(id, out var merchantId)) return BadId("merchant", id);
        if (await merchants.FindAsync(merchantId, ct) is null) return NotFound("merchant", id);
        var list = await keys.ListAsync(PrincipalId.For(merchantId), ct);
        return TypedResults.Ok(new ApiKeyListResponse(list.Select(ToResponse).ToList()));
    }

    private static async Task<Results<Created<IssuedApiKeyResponse>, ProblemHttpResult>> RotateKey(
        string id, string keyId, IssueApiKeyRequest? request, ApiKeys keys, CancellationToken ct)
    {
        if (!MerchantId.TryParse(id, out var merchantId)) return BadId("merchant", id);
        if (!ApiKeyId.TryParse(keyId, out var key)) return BadId("API key", keyId);
        return await keys.RotateAsync(PrincipalId.For(merchantId), key, request?.Label, ct) switch
        {
            RotateOutcome.Rotated r => TypedResults.Created($"/v1/admin/merchants/{id}/api-keys/{r.Key.Record.Id}",
                Issued(r.Key, r.Replaced.Value, r.ReplacedExpiresAt)),
            RotateOutcome.NotRotatable n => TypedResults.Problem($"API key {keyId} cannot be rotated: {n.Reason}.",
                statusCode: StatusCodes.Status409Conflict, title: "Conflict"),
            _ => NotFound("API key", keyId),
        };
    }

    private static async Task<Results<Ok<ApiKeyResponse>, ProblemHttpResult>> RevokeKey(
        string id, string keyId, ApiKeys keys, CancellationToken ct)
    {
        if (!MerchantId.TryParse(id, out var merchantId)) return BadId("merchant", id);
        if (!ApiKeyId.TryParse(keyId, out var key)) return BadId("API key", keyId);
        var revoked = await keys.RevokeAsync(PrincipalId.For(merchantId), key, ct);
        return revoked is null ? NotFound("API key", keyId) : TypedResults.Ok(ToResponse(revoked));
    }

    internal static ProblemHttpResult BadId(string what, string value) =>
        TypedResults.Problem($"'{Truncate(value)}' is not a valid {what} id.", statusCode: StatusCodes.Status400BadRequest,
            title: "Bad request", extensions: new Dictionary<string, object?> { ["reason"] = "invalid_id" });

    internal static ProblemHttpResult NotFound(string what, string value) =>
        TypedResults.Problem($"No {what} with id '{Truncate(value)}'.", statusCode: StatusCodes.Status404NotFound, title: "Not found");

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "...";

    private static MerchantResponse ToResponse(Merchant m) => new(m.Id.Value, m.Name, m.ContactEmail, m.Status, m.CreatedAt);

    private static IssuedApiKeyResponse Issued(NewApiKey k, string? replaces, DateTimeOffset? replacedExpiresAt) =>
        new(k.Record.Id.Value, k.Secret, k.Record.Principal.Value, k.Record.Roles, k.Record.Label, k.Record.CreatedAt, replaces, replacedExpiresAt);

    internal static ApiKeyResponse ToResponse(ApiKeyRecord k) =>
        new(k.Id.Value, k.Principal.Value, k.Roles, k.Status == ApiKeyStatus.Revoked ? "revoked" : "active", k.Label, k.CreatedAt,
            k.ExpiresAt, k.RevokedAt, k.ReplacedBy);
}

/// <summary>Endpoints for any signed-in principal.</summary>
public static class MeApi
{
    public static IEndpointRouteBuilder MapMeApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/me", GetMe).RequireAuthorization(Policies.AnyPrincipal);
        return app;
    }

    private static async Task<Ok<MeResponse>> GetMe(ClaimsPrincipal user, Merchants merchants, CancellationToken ct)
    {
        var principal = user.FindFirstValue(ClaimTypes.NameIdentifier)!;
        string? merchantName = null;
        if (MerchantId.TryParse(principal, out var merchantId))
            merchantName = (await merchants.FindAsync(merchantId, ct))?.Name;
        return TypedResults.Ok(new MeResponse(principal, user.FindFirstValue(MollyClaims.KeyId)!,
            user.FindAll(ClaimTypes.Role).Select(c => c.Value).ToList(), merchantName));
    }
}
