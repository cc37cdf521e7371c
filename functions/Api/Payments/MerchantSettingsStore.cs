using System.Collections.Concurrent;
using System.Text.Json;
using Molly.Domain;
using Molly.Payments;
using Molly.Storage;

namespace Molly.Api.Payments;

public static class MerchantPlan
{
    public const string Standard = "standard";
    public const string Vip = "vip";
}

/// <summary>A merchant's payment settings: accepted assets, underpayment tolerance and throttle plan.</summary>
public sealed record MerchantSettings(IReadOnlyList<string> AcceptedAssets, int UnderpaymentToleranceBps, string Plan);

/// <summary>
/// Reads and writes merchant settings (item <c>m#{id}</c> / <c>settings</c>). Reads are cached for a few seconds: the rate limiter
/// consults them on every request. A merchant without settings accepts every asset of the deployment, with no tolerance.
/// </summary>
public sealed class MerchantSettingsStore(IItemStore store, AssetRegistry assets, TimeProvider clock)
{
    public const string PlanItem = "molly.plan";
    private static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(10);
    // The payment service's view is cached beside the settings, so a create does not build the accepted-assets set again.
    private readonly ConcurrentDictionary<string, Cached> _cache = new();

    public async Task<MerchantSettings> GetAsync(string merchantId, CancellationToken ct) => (await GetCachedAsync(merchantId, ct)).Settings;

    public async Task<MerchantPaymentSettings> GetPaymentSettingsAsync(string merchantId, CancellationToken ct) =>
        (await GetCachedAsync(merchantId, ct)).Payments;

    private async ValueTask<Cached> GetCachedAsync(string merchantId, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (_cache.TryGetValue(merchantId, out var cached) && cached.Until > now) return cached;
        var item = await store.GetAsync(Key(merchantId), ct);
        var settings = item is null
            ? new MerchantSettings(assets.Assets.Select(a => a.Id).ToList(), 0, MerchantPlan.Standard)
            : new MerchantSettings(
                JsonSerializer.Deserialize(item.RequireString("acceptedAssets"), SettingsJson.Default.ListString)!,
                (int)(item.GetInt64("toleranceBps") ?? 0), item.GetString("plan") ?? MerchantPlan.Standard);
        cached = new Cached(settings,
            new MerchantPaymentSettings(merchantId, settings.AcceptedAssets.ToHashSet(StringComparer.Ordinal), settings.UnderpaymentToleranceBps),
            now + CacheFor);
        _cache[merchantId] = cached;
        return cached;
    }

    private sealed record Cached(MerchantSettings Settings, MerchantPaymentSettings Payments, DateTimeOffset Until);

    /// <summary>Validates and stores; returns field errors or null.</summary>
    public async Task<Dictionary<string, string[]>?> PutAsync(string merchantId, MerchantSettings settings, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var known = assets.Assets.Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
        var unknown = settings.AcceptedAssets.Where(a => !known.Contains(a)).ToList();
        if (unknown.Count > 0) errors["acceptedAssets"] = [$"Unknown assets: {string.Join(", ", unknown)}. Known: {string.Join(", ", known.Order())}."];
        if (settings.AcceptedAssets.Count == 0) errors["acceptedAssets"] = ["Accept at least one asset."];
        if (settings.UnderpaymentToleranceBps is < 0 or > 1_000) errors["underpaymentToleranceBps"] = ["The tolerance is 0 to 1,000 basis points (10%)."];
        if (settings.Plan is not (MerchantPlan.Standard or MerchantPlan.Vip)) errors["plan"] = ["The plan is 'standard' or 'vip'."];
        if (errors.Count > 0) return errors;

        await store.PutAsync(new Item(Key(merchantId))
        {
            ["acceptedAssets"] = JsonSerializer.Serialize(settings.AcceptedAssets.Distinct().Order(StringComparer.Ordinal).ToList(), SettingsJson.Default.ListString),
            ["toleranceBps"] = settings.UnderpaymentToleranceBps,
            ["plan"] = settings.Plan,
        }, ct: ct);
        _cache.TryRemove(merchantId, out _);
        return null;
    }

    private static ItemKey Key(string merchantId) => new($"m#{merchantId}", "settings");
}

[System.Text.Json.Serialization.JsonSerializable(typeof(List<string>))]
internal sealed partial class SettingsJson : System.Text.Json.Serialization.JsonSerializerContext;
