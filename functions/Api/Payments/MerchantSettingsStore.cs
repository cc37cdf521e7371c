using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using Molly.Domain;
using Molly.Ledger;
using Molly.Payments;
using Molly.Storage;

namespace Molly.Api.Payments;

/// <summary>
/// Reads and writes merchant settings (<see cref="MerchantSettings"/>, item <c>m#{id}</c> / <c>settings</c>). Reads are cached
/// for a few seconds: the rate limiter consults them on every request. A merchant without settings accepts every asset of the
/// deployment, with no tolerance and no fee. Settlement reads the fee itself, uncached (<see cref="MerchantSettings.ReadFeeAsync"/>).
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
        var item = await store.GetAsync(MerchantSettings.Key(merchantId), ct);
        var settings = item is null
            ? new MerchantSettings(assets.Assets.Select(a => a.Id).ToList(), 0, MerchantPlan.Standard)
            : MerchantSettings.Read(item);
        cached = new Cached(settings,
            new MerchantPaymentSettings(merchantId, settings.AcceptedAssets.ToHashSet(StringComparer.Ordinal), settings.UnderpaymentToleranceBps),
            now + CacheFor);
        _cache[merchantId] = cached;
        return cached;
    }

    private sealed record Cached(MerchantSettings Settings, MerchantPaymentSettings Payments, DateTimeOffset Until);

    /// <summary>Validates and stores the whole settings item in one write (fees left out are no fees); returns field errors,
    /// and then writes nothing, or null.</summary>
    public async Task<Dictionary<string, string[]>?> PutAsync(string merchantId, MerchantSettingsRequest request, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        var known = assets.Assets.Select(a => a.Id).ToHashSet(StringComparer.Ordinal);
        var unknown = request.AcceptedAssets.Where(a => !known.Contains(a)).ToList();
        if (unknown.Count > 0) errors["acceptedAssets"] = [$"Unknown assets: {string.Join(", ", unknown)}. Known: {string.Join(", ", known.Order())}."];
        if (request.AcceptedAssets.Count == 0) errors["acceptedAssets"] = ["Accept at least one asset."];
        if (request.UnderpaymentToleranceBps is < 0 or > 1_000) errors["underpaymentToleranceBps"] = ["The tolerance is 0 to 1,000 basis points (10%)."];
        var plan = request.Plan ?? MerchantPlan.Standard;
        if (plan is not (MerchantPlan.Standard or MerchantPlan.Vip)) errors["plan"] = ["The plan is 'standard' or 'vip'."];

        var fees = new Dictionary<string, MerchantFee>(StringComparer.Ordinal);
        var requested = request.Fees ?? [];
        for (var i = 0; i < requested.Count; i++)
        {
            var f = requested[i];
            var field = $"fees[{i}]";
            if (!known.Contains(f.Asset)) errors[field + ".asset"] = [$"Unknown asset '{f.Asset}'; an asset id such as USDT@ethereum."];
            else if (fees.ContainsKey(f.Asset)) errors[field + ".asset"] = [$"Asset '{f.Asset}' has a fee already in this request."];
            if (f.BasisPoints is < 0 or > 10_000) errors[field + ".basisPoints"] = ["The rate is 0 to 10,000 basis points (100%)."];
            if (!TryParseBaseUnits(f.FixedBaseUnits ?? "0", out var fixedFee))
                errors[field + ".fixedBaseUnits"] = ["A whole number of base units as a string of digits (no sign, no leading zero), at most 36 digits."];
            if (!errors.Keys.Any(k => k.StartsWith(field + ".", StringComparison.Ordinal))) fees[f.Asset] = new MerchantFee(f.BasisPoints, fixedFee);
        }
        if (errors.Count > 0) return errors;

        await store.PutAsync(new MerchantSettings(request.AcceptedAssets, request.UnderpaymentToleranceBps, plan, fees).ToItem(merchantId), ct: ct);
        _cache.TryRemove(merchantId, out _);
        return null;
    }

    private static bool TryParseBaseUnits(string? text, out BigInteger value)
    {
        value = BigInteger.Zero;
        if (string.IsNullOrEmpty(text) || text.Length > 36 || (text.Length > 1 && text[0] == '0') || !text.All(char.IsAsciiDigit)) return false;
        value = BigInteger.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
        return value <= MerchantSettings.MaxFixedFee;
    }
}
