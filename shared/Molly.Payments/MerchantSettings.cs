using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Molly.Ledger;
using Molly.Storage;

namespace Molly.Payments;

public static class MerchantPlan
{
    public const string Standard = "standard";
    public const string Vip = "vip";
}

/// <summary>
/// A merchant's settings: the assets it accepts, its underpayment tolerance, its throttle plan and its fee per asset (by asset
/// id, e.g. <c>USDT@ethereum</c>; an asset without an entry has no fee). The admin API writes them
/// (<c>PUT /v1/admin/merchants/{id}/settings</c>, the whole item at once); settlement reads the fee when it credits a payment.
/// </summary>
public sealed record MerchantSettings(
    IReadOnlyList<string> AcceptedAssets,
    int UnderpaymentToleranceBps,
    string Plan,
    IReadOnlyDictionary<string, MerchantFee>? Fees = null)
{
    /// <summary>Largest fixed fee: a ledger amount (10^36 - 1 base units).</summary>
    public static readonly BigInteger MaxFixedFee = BigInteger.Pow(10, 36) - 1;

    /// <summary>The item <c>m#{merchant}</c> / <c>settings</c>.</summary>
    public static ItemKey Key(string merchantId) => new($"m#{merchantId}", "settings");

    public MerchantFee FeeFor(string assetId) => Fees is not null && Fees.TryGetValue(assetId, out var fee) ? fee : MerchantFee.None;

    public Item ToItem(string merchantId)
    {
        var fees = (Fees ?? new Dictionary<string, MerchantFee>()).OrderBy(f => f.Key, StringComparer.Ordinal)
            .Select(f => new StoredFee(f.Key, f.Value.BasisPoints, f.Value.Fixed.ToString(CultureInfo.InvariantCulture))).ToList();
        return new Item(Key(merchantId))
        {
            ["acceptedAssets"] = JsonSerializer.Serialize(AcceptedAssets.Distinct().Order(StringComparer.Ordinal).ToList(), MerchantSettingsJson.Default.ListString),
            ["toleranceBps"] = UnderpaymentToleranceBps,
            ["plan"] = Plan,
            ["fees"] = JsonSerializer.Serialize(fees, MerchantSettingsJson.Default.ListStoredFee),
        };
    }

    public static MerchantSettings Read(Item item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var fees = item.GetString("fees") is { } json
            ? JsonSerializer.Deserialize(json, MerchantSettingsJson.Default.ListStoredFee)!
                .ToDictionary(f => f.Asset, f => new MerchantFee(f.Bps, BigInteger.Parse(f.Fixed, NumberStyles.None, CultureInfo.InvariantCulture)), StringComparer.Ordinal)
            : [];
        return new MerchantSettings(
            JsonSerializer.Deserialize(item.RequireString("acceptedAssets"), MerchantSettingsJson.Default.ListString)!,
            (int)(item.GetInt64("toleranceBps") ?? 0), item.GetString("plan") ?? MerchantPlan.Standard, fees);
    }

    /// <summary>The merchant's current fee on <paramref name="assetId"/>, read strongly consistently (no cache): what a credit
    /// uses, so a payment credited after a fee change takes the new fee.</summary>
    public static async Task<MerchantFee> ReadFeeAsync(IItemStore store, string merchantId, string assetId, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(store);
        var item = await store.GetAsync(Key(merchantId), ct).ConfigureAwait(false);
        return item is null ? MerchantFee.None : Read(item).FeeFor(assetId);
    }
}

internal sealed record StoredFee(string Asset, int Bps, string Fixed);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(List<StoredFee>))]
internal sealed partial class MerchantSettingsJson : JsonSerializerContext;
