using System.Text.Json;
using System.Text.Json.Serialization;

namespace Molly.Api.Endpoints;

// Request and response bodies. Requests reject unknown fields and nulls in non-nullable members (ApiJson).

public sealed record CreateMerchantRequest
{
    public required string Name { get; init; }
    public string? ContactEmail { get; init; }
}

public sealed record MerchantResponse(string Id, string Name, string? ContactEmail, string Status, DateTimeOffset CreatedAt);

/// <summary>Issue or rotate: the body is optional; when present it may carry a label.</summary>
public sealed record IssueApiKeyRequest
{
    public string? Label { get; init; }
}

/// <summary>A newly issued key. <see cref="Secret"/> is shown in this response only; it is never retrievable again.</summary>
public sealed record IssuedApiKeyResponse(
    string KeyId, string Secret, string PrincipalId, IReadOnlyList<string> Roles, string? Label, DateTimeOffset CreatedAt,
    string? Replaces, DateTimeOffset? ReplacedKeyExpiresAt);

/// <summary>A key without its secret.</summary>
public sealed record ApiKeyResponse(
    string KeyId, string PrincipalId, IReadOnlyList<string> Roles, string Status, string? Label, DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, string? ReplacedBy);

public sealed record ApiKeyListResponse(IReadOnlyList<ApiKeyResponse> Keys);

public sealed record MeResponse(string PrincipalId, string KeyId, IReadOnlyList<string> Roles, string? MerchantName);

public sealed record HealthResponse(string Status);

public sealed record DiagnosticsResponse(
    string Status, string Mode, string Version, string BuildHash, StoreDiagnostics Store, ChangeFeedDiagnostics ChangeFeed,
    DateTimeOffset CheckedAt);

public sealed record StoreDiagnostics(string Kind, bool Reachable, double LatencyMs, string? Error);

/// <summary>How far the change-feed consumer is behind: the age of the oldest change after its checkpoint
/// (zero when it has caught up).</summary>
public sealed record ChangeFeedDiagnostics(
    string Consumer, string? Checkpoint, bool CaughtUp, DateTimeOffset? OldestUnprocessedAt, double LagSeconds, string? Error);

[JsonSourceGenerationOptions(
    JsonSerializerDefaults.Web,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(CreateMerchantRequest))]
[JsonSerializable(typeof(MerchantResponse))]
[JsonSerializable(typeof(IssueApiKeyRequest))]
[JsonSerializable(typeof(IssuedApiKeyResponse))]
[JsonSerializable(typeof(ApiKeyResponse))]
[JsonSerializable(typeof(ApiKeyListResponse))]
[JsonSerializable(typeof(MeResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(DiagnosticsResponse))]
[JsonSerializable(typeof(AdminCredentialFile))]
public sealed partial class ApiJsonContext : JsonSerializerContext;

/// <summary>The content of <c>&lt;DataDir&gt;/admin-credential</c>.</summary>
public sealed record AdminCredentialFile(string KeyId, string Secret, string PrincipalId);
