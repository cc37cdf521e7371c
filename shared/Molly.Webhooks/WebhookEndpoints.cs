using System.Globalization;
using System.Text;
using Molly.Storage;

namespace Molly.Webhooks;

/// <summary>An endpoint as the API shows it (never a secret).</summary>
public sealed record WebhookEndpoint(
    string Id, string MerchantId, string Url, IReadOnlyList<string> Events, string? Description, DateTimeOffset CreatedAt,
    DateTimeOffset? PreviousSecretExpiresAt);

public abstract record EndpointOutcome
{
    /// <summary>Created (or replayed under the same idempotency key): the secret is shown here and nowhere else.</summary>
    public sealed record Created(WebhookEndpoint Endpoint, string Secret, bool Replayed) : EndpointOutcome;
    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : EndpointOutcome;
    public sealed record Conflict(string Reason) : EndpointOutcome;
}

/// <summary>A secret in use: the current one, and during a rotation overlap the previous one.</summary>
public sealed record SigningSecrets(WebhookEndpoint Endpoint, IReadOnlyList<string> Secrets);

/// <summary>
/// Webhook endpoints per merchant: URL, subscribed events, and a signing secret (<c>whsec_</c> + 32 random bytes) shown once
/// and stored encrypted by <see cref="ISecretProtector"/>, bound to the endpoint id and secret generation. A rotation keeps
/// the previous secret signing until the overlap ends.
/// </summary>
public sealed class WebhookEndpoints(IItemStore store, ISecretProtector protector, SsrfGuard guard, WebhookOptions options, TimeProvider clock)
{
    public async Task<EndpointOutcome> CreateAsync(string merchantId, string? url, IReadOnlyList<string>? events, string? description,
        string? idempotencyKey, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (guard.CheckUrl(url) is { } urlError) errors["url"] = [urlError];
        if (events is null || events.Count == 0) errors["events"] = ["Name at least one event (e.g. payment.paid), payment.* or *."];
        else if (events.Count > 50) errors["events"] = ["At most 50 entries."];
        else if (events.Where(e => !WebhookEvents.IsValidSubscription(e)).ToList() is { Count: > 0 } unknown)
            errors["events"] = [$"Unknown event name(s): {string.Join(", ", unknown.Take(5))}. Known: {string.Join(", ", WebhookEvents.Known.Order(StringComparer.Ordinal))}, resource.* or *."];
        if (description is { Length: > 200 }) errors["description"] = ["At most 200 characters."];
        if (idempotencyKey is { Length: 0 or > 200 }) errors["Idempotency-Key"] = ["1 to 200 characters when given."];
        if (errors.Count > 0) return new EndpointOutcome.Invalid(errors);

        var subscribed = events!.Distinct(StringComparer.Ordinal).ToList();
        var existing = await ListAsync(merchantId, ct);
        var id = idempotencyKey is null ? WebhookIds.NewEndpointId() : WebhookIds.Derived(WebhookIds.EndpointPrefix, $"endpoint\n{merchantId}\n{idempotencyKey}");
        if (existing.FirstOrDefault(e => e.Id == id) is { } earlier) return await ReplayAsync(earlier, url!, subscribed, ct);
        if (existing.Count >= options.MaxEndpointsPerMerchant)
            return new EndpointOutcome.Conflict($"A merchant has at most {options.MaxEndpointsPerMerchant} webhook endpoints; delete one first.");

        var now = clock.GetUtcNow();
        var secret = WebhookSignature.NewSecret();
        var item = new Item(WebhookKeys.Endpoint(id))
        {
            ["merchantId"] = merchantId,
            ["url"] = url!,
            ["events"] = string.Join(' ', subscribed),
            ["createdAt"] = now.ToString("O", CultureInfo.InvariantCulture),
            ["secret"] = AttributeValue.Binary(protector.Protect(Encoding.UTF8.GetBytes(secret), SecretContext(id, 1))),
            ["secretGen"] = 1,
            ["secretProtector"] = protector.KeyId,
            ["version"] = 1,
            [KeyNames.IndexPK("GSI1")] = WebhookKeys.MerchantEndpoints(merchantId),
            [KeyNames.IndexSK("GSI1")] = WebhookKeys.ByTime(now, id),
        };
        if (description is not null) item["description"] = description;
        try
        {
            await store.PutAsync(item, Condition.ItemAbsent, ct);
        }
        catch (ConditionFailedException)
        {
            // The same idempotency key raced another create: answer as the earlier one would.
            var raced = await FindAsync(merchantId, id, ct);
            return raced is null ? new EndpointOutcome.Conflict("The endpoint changed while it was being created.") : await ReplayAsync(raced, url!, subscribed, ct);
        }
        return new EndpointOutcome.Created(FromItem(item), secret, Replayed: false);
    }

    /// <summary>The same idempotency key again: the same request gets the original answer (secret included, as it was then
    /// unless rotated since); another request is a conflict.</summary>
    private async Task<EndpointOutcome> ReplayAsync(WebhookEndpoint earlier, string url, List<string> events, CancellationToken ct)
    {
        if (earlier.Url != url || !earlier.Events.SequenceEqual(events))
            return new EndpointOutcome.Conflict("This Idempotency-Key was used for another endpoint request.");
        var secrets = await LoadSecretsAsync(earlier.Id, ct);
        return secrets is null
            ? new EndpointOutcome.Conflict("The endpoint of this Idempotency-Key was deleted.")
            : new EndpointOutcome.Created(earlier, secrets.Secrets[0], Replayed: true);
    }

    public async Task<WebhookEndpoint?> FindAsync(string merchantId, string endpointId, CancellationToken ct)
    {
        var item = await store.GetAsync(WebhookKeys.Endpoint(endpointId), ct);
        return item is null || item.GetString("merchantId") != merchantId ? null : FromItem(item);
    }

    public async Task<IReadOnlyList<WebhookEndpoint>> ListAsync(string merchantId, CancellationToken ct)
    {
        var result = new List<WebhookEndpoint>();
        string? cursor = null;
        do
        {
            var page = await store.QueryAsync(new Query(WebhookKeys.MerchantEndpoints(merchantId)) { Index = "GSI1", Cursor = cursor }, ct);
            result.AddRange(page.Items.Select(FromItem));
            cursor = page.Cursor;
        } while (cursor is not null);
        return result;
    }

    /// <summary>Deletes the endpoint; its pending deliveries fail with <c>endpoint_deleted</c> when they come due.</summary>
    public async Task<bool> DeleteAsync(string merchantId, string endpointId, CancellationToken ct)
    {
        try
        {
            return await store.DeleteAsync(WebhookKeys.Endpoint(endpointId), Condition.AttributeEquals("merchantId", merchantId), ct) is not null;
        }
        catch (ConditionFailedException)
        {
            return false;
        }
    }

    /// <summary>A new secret; the old one keeps signing (a second <c>v1=</c>) until now + <paramref name="overlap"/>.</summary>
    public async Task<(WebhookEndpoint Endpoint, string Secret)?> RotateSecretAsync(string merchantId, string endpointId, TimeSpan overlap, CancellationToken ct)
    {
        if (overlap < TimeSpan.Zero || overlap > options.MaxSecretRotationOverlap)
            throw new ArgumentOutOfRangeException(nameof(overlap), overlap, "Overlap out of range.");
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var item = await store.GetAsync(WebhookKeys.Endpoint(endpointId), ct);
            if (item is null || item.GetString("merchantId") != merchantId) return null;
            var gen = item.GetInt64("secretGen") ?? 1;
            var version = item.GetInt64("version") ?? 0;
            var secret = WebhookSignature.NewSecret();
            var expires = DateTimeOffset.FromUnixTimeSeconds((clock.GetUtcNow() + overlap).ToUnixTimeSeconds());
            var update = new Update()
                .Set("secret", AttributeValue.Binary(protector.Protect(Encoding.UTF8.GetBytes(secret), SecretContext(endpointId, gen + 1))))
                .Set("secretGen", gen + 1)
                .Set("prevSecret", item["secret"])
                .Set("prevSecretGen", gen)
                .Set("prevSecretExpiresAt", expires.ToUnixTimeSeconds())
                .Set("version", version + 1);
            try
            {
                var updated = await store.UpdateAsync(WebhookKeys.Endpoint(endpointId), update, Condition.VersionEquals(version), ct);
                return (FromItem(updated), secret);
            }
            catch (ConditionFailedException)
            {
                // Rotated or deleted concurrently: read again.
            }
        }
        throw new InvalidOperationException("The endpoint kept changing during the rotation.");
    }

    /// <summary>The endpoint (any merchant's) and the secrets that sign now: the current one, then the previous one while
    /// its overlap lasts. Null when the endpoint is gone.</summary>
    public async Task<SigningSecrets?> LoadSecretsAsync(string endpointId, CancellationToken ct)
    {
        var item = await store.GetAsync(WebhookKeys.Endpoint(endpointId), ct);
        if (item is null) return null;
        var gen = item.GetInt64("secretGen") ?? 1;
        var secrets = new List<string> { Reveal(item.GetBinary("secret")!.Value, endpointId, gen) };
        if (item.GetInt64("prevSecretExpiresAt") is { } until && clock.GetUtcNow().ToUnixTimeSeconds() < until && item.GetBinary("prevSecret") is { } prev)
            secrets.Add(Reveal(prev, endpointId, item.GetInt64("prevSecretGen") ?? gen - 1));
        return new SigningSecrets(FromItem(item), secrets);
    }

    private string Reveal(ReadOnlyMemory<byte> protectedSecret, string endpointId, long gen) =>
        Encoding.UTF8.GetString(protector.Unprotect(protectedSecret.Span, SecretContext(endpointId, gen)));

    private static string SecretContext(string endpointId, long gen) => $"webhook-secret\n{endpointId}\n{gen}";

    private WebhookEndpoint FromItem(Item item) => new(
        item.PK["whe#".Length..],
        item.RequireString("merchantId"),
        item.RequireString("url"),
        item.RequireString("events").Split(' ', StringSplitOptions.RemoveEmptyEntries),
        item.GetString("description"),
        DateTimeOffset.Parse(item.RequireString("createdAt"), CultureInfo.InvariantCulture),
        item.GetInt64("prevSecretExpiresAt") is { } e && e > clock.GetUtcNow().ToUnixTimeSeconds() ? DateTimeOffset.FromUnixTimeSeconds(e) : null);
}
