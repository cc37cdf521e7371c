using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Molly.Api.Hosting;
using Molly.Api.Model;
using Molly.Storage;

namespace Molly.Api.Security;

public enum ApiKeyStatus { Active, Revoked }

/// <summary>An API key as stored (the secret stays protected until <see cref="ApiKeys.RevealSecret"/>).</summary>
public sealed record ApiKeyRecord(
    ApiKeyId Id, PrincipalId Principal, IReadOnlyList<string> Roles, ApiKeyStatus Status, string? Label,
    DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt, string? ReplacedBy,
    ReadOnlyMemory<byte> ProtectedSecret)
{
    /// <summary>Why the key cannot be used at <paramref name="now"/>, or null when it can.</summary>
    public string? UnusableReason(DateTimeOffset now) =>
        Status == ApiKeyStatus.Revoked ? AuthFailureReasons.RevokedKey
        : ExpiresAt is { } e && now >= e ? AuthFailureReasons.ExpiredKey
        : null;
}

/// <summary>A freshly generated key: its record (to store) and its secret (to show once).</summary>
public sealed record NewApiKey(ApiKeyRecord Record, string Secret);

/// <summary>
/// Issues, rotates, revokes and reads API keys. Secrets are 32 random bytes shown as <c>msk_</c> + base64url; the store holds
/// them only encrypted by <see cref="ISecretProtector"/> with the key id as associated data. (HMAC verification needs the
/// secret itself, so it cannot be stored as a hash.)
/// </summary>
public sealed class ApiKeys(IItemStore store, ISecretProtector protector, TimeProvider clock, IOptions<MollyOptions> options)
{
    public const string SecretPrefix = "msk_";

    public async Task<ApiKeyRecord?> FindAsync(ApiKeyId id, CancellationToken ct)
    {
        var item = await store.GetAsync(TableKeys.ApiKey(id), ct);
        return item is null ? null : FromItem(id, item);
    }

    public async Task<IReadOnlyList<ApiKeyRecord>> ListAsync(PrincipalId principal, CancellationToken ct)
    {
        var result = new List<ApiKeyRecord>();
        string? cursor = null;
        do
        {
            var page = await store.QueryAsync(new Query(TableKeys.PrincipalKeysPartition(principal))
            {
                Index = "GSI1",
                SortKey = SortKeyCondition.BeginsWith("APIKEY#"),
                Cursor = cursor,
            }, ct);
            foreach (var item in page.Items)
                if (item.PK.StartsWith("APIKEY#", StringComparison.Ordinal) && ApiKeyId.TryParse(item.PK["APIKEY#".Length..], out var id))
                    result.Add(FromItem(id, item));
            cursor = page.Cursor;
        } while (cursor is not null);
        return result;
    }

    /// <summary>Generates a key for <paramref name="principal"/> (not stored yet: put <see cref="ToItem"/> in the caller's transaction).</summary>
    public NewApiKey Generate(PrincipalId principal, IReadOnlyList<string> roles, string? label)
    {
        var id = ApiKeyId.New();
        var secretBytes = RandomNumberGenerator.GetBytes(32);
        var secret = SecretPrefix + Base64Url(secretBytes);
        CryptographicOperations.ZeroMemory(secretBytes);
        return new NewApiKey(Protect(id, principal, roles, label, secret), secret);
    }

    /// <summary>Builds the record of a key whose secret is already known (the admin credential file re-imported).</summary>
    public ApiKeyRecord Protect(ApiKeyId id, PrincipalId principal, IReadOnlyList<string> roles, string? label, string secret)
    {
        var protectedSecret = protector.Protect(Encoding.UTF8.GetBytes(secret), id.Value);
        return new ApiKeyRecord(id, principal, roles, ApiKeyStatus.Active, label, Now(), null, null, null, protectedSecret);
    }

    public byte[] RevealSecret(ApiKeyRecord key) => protector.Unprotect(key.ProtectedSecret.Span, key.Id.Value);

    /// <summary>Issues a key for an existing merchant: the key is written only if the merchant exists (one transaction).</summary>
    public async Task<NewApiKey?> IssueForMerchantAsync(MerchantId merchant, string? label, CancellationToken ct)
    {
        var key = Generate(PrincipalId.For(merchant), [Roles.Merchant], label);
        try
        {
            await store.TransactWriteAsync(
            [
                TransactOp.Check(TableKeys.Merchant(merchant), Condition.ItemExists),
                TransactOp.Put(ToItem(key.Record), Condition.ItemAbsent),
            ], ct);
        }
        catch (ConditionFailedException e) when (e.OperationIndex == 0)
        {
            return null;
        }
        return key;
    }

    /// <summary>
    /// Rotates <paramref name="oldKey"/>: a new key is issued and the old one stays valid until now + the overlap window.
    /// Both writes in one transaction; the old key must still be active, un-rotated and belong to <paramref name="principal"/>.
    /// </summary>
    public async Task<RotateOutcome> RotateAsync(PrincipalId principal, ApiKeyId oldKey, string? label, CancellationToken ct)
    {
        var current = await FindAsync(oldKey, ct);
        if (current is null || current.Principal != principal) return new RotateOutcome.NotFound();
        if (current.UnusableReason(Now()) is not null || current.ExpiresAt is not null || current.ReplacedBy is not null)
            return new RotateOutcome.NotRotatable(current.Status == ApiKeyStatus.Revoked ? "the key is revoked" : "the key was already rotated");
        var fresh = Generate(principal, current.Roles, label ?? current.Label);
        var expiresAt = Now() + options.Value.Auth.RotationOverlap;
        var freshItem = ToItem(fresh.Record);
        freshItem[Attr.Replaces] = oldKey.Value;
        try
        {
            await store.TransactWriteAsync(
            [
                TransactOp.Update(TableKeys.ApiKey(oldKey),
                    new Update().Set(Attr.ExpiresAt, expiresAt.ToUnixTimeSeconds()).Set(Attr.ReplacedBy, fresh.Record.Id.Value),
                    Condition.And(
                        Condition.AttributeEquals(Attr.Principal, principal.Value),
                        Condition.AttributeEquals(Attr.Status, StatusText(ApiKeyStatus.Active)),
                        Condition.AttributeAbsent(Attr.ReplacedBy))),
                TransactOp.Put(freshItem, Condition.ItemAbsent),
            ], ct);
        }
        catch (ConditionFailedException)
        {
            return new RotateOutcome.NotRotatable("the key changed while it was being rotated");
        }
        return new RotateOutcome.Rotated(fresh, oldKey, DateTimeOffset.FromUnixTimeSeconds(expiresAt.ToUnixTimeSeconds()));
    }

    /// <summary>Revokes a key of <paramref name="principal"/> at once. Revoking a revoked key is a no-op that returns it.</summary>
    public async Task<ApiKeyRecord?> RevokeAsync(PrincipalId principal, ApiKeyId key, CancellationToken ct)
    {
        try
        {
            var item = await store.UpdateAsync(TableKeys.ApiKey(key),
                new Update().Set(Attr.Status, StatusText(ApiKeyStatus.Revoked)).Set(Attr.RevokedAt, Now().ToString("O", CultureInfo.InvariantCulture)),
                Condition.And(Condition.ItemExists, Condition.AttributeEquals(Attr.Principal, principal.Value),
                    Condition.AttributeEquals(Attr.Status, StatusText(ApiKeyStatus.Active))), ct);
            return FromItem(key, item);
        }
        catch (ConditionFailedException)
        {
            var existing = await FindAsync(key, ct);
            return existing is not null && existing.Principal == principal ? existing : null;
        }
    }

    public Item ToItem(ApiKeyRecord key)
    {
        var item = new Item(TableKeys.ApiKey(key.Id))
        {
            [Attr.Type] = "ApiKey",
            [Attr.Principal] = key.Principal.Value,
            [Attr.Roles] = string.Join(' ', key.Roles),
            [Attr.Status] = StatusText(key.Status),
            [Attr.CreatedAt] = key.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
            [Attr.Secret] = AttributeValue.Binary(key.ProtectedSecret.Span),
            [Attr.SecretProtector] = protector.KeyId,
            [KeyNames.IndexPK("GSI1")] = TableKeys.PrincipalKeysPartition(key.Principal),
            [KeyNames.IndexSK("GSI1")] = $"APIKEY#{key.CreatedAt.ToString("O", CultureInfo.InvariantCulture)}#{key.Id.Value}",
        };
        if (key.Label is not null) item["label"] = key.Label;
        if (key.ExpiresAt is { } e) item[Attr.ExpiresAt] = e.ToUnixTimeSeconds();
        return item;
    }

    private static ApiKeyRecord FromItem(ApiKeyId id, Item item)
    {
        if (!PrincipalId.TryParse(item.GetString(Attr.Principal), out var principal))
            throw new InvalidDataException($"API key {id} has no valid principal.");
        var roles = item.RequireString(Attr.Roles).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return new ApiKeyRecord(
            id, principal, roles,
            item.GetString(Attr.Status) == StatusText(ApiKeyStatus.Revoked) ? ApiKeyStatus.Revoked : ApiKeyStatus.Active,
            item.GetString("label"),
            DateTimeOffset.Parse(item.RequireString(Attr.CreatedAt), CultureInfo.InvariantCulture),
            item.GetInt64(Attr.ExpiresAt) is { } e ? DateTimeOffset.FromUnixTimeSeconds(e) : null,
            item.GetString(Attr.RevokedAt) is { } r ? DateTimeOffset.Parse(r, CultureInfo.InvariantCulture) : null,
            item.GetString(Attr.ReplacedBy),
            item.GetBinary(Attr.Secret) ?? throw new InvalidDataException($"API key {id} has no secret."));
    }

    private static string StatusText(ApiKeyStatus status) => status == ApiKeyStatus.Revoked ? "revoked" : "active";

    private DateTimeOffset Now() => clock.GetUtcNow();

    private static string Base64Url(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}

public abstract record RotateOutcome
{
    public sealed record Rotated(NewApiKey Key, ApiKeyId Replaced, DateTimeOffset ReplacedExpiresAt) : RotateOutcome;
    public sealed record NotFound : RotateOutcome;
    public sealed record NotRotatable(string Reason) : RotateOutcome;
}
