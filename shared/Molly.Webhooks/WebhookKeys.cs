using System.Security.Cryptography;
using System.Text;
using Molly.Storage;

namespace Molly.Webhooks;

/// <summary>
/// The single-table keys of webhooks. Endpoints: <c>whe#{id}</c>, listed per merchant in GSI1. Deliveries: <c>whd#{id}</c>;
/// GSI1 is the due index (sparse: only pending deliveries, sharded so no partition takes every retry), GSI2 lists a
/// merchant's deliveries by time, GSI3 by status then time.
/// </summary>
public static class WebhookKeys
{
    /// <summary>Fixed: changing it would strand deliveries in shards nobody reads.</summary>
    public const int DueShards = 8;

    public static ItemKey Endpoint(string endpointId) => new($"whe#{endpointId}", "endpoint");

    public static ItemKey Delivery(string deliveryId) => new($"whd#{deliveryId}", "delivery");

    public static string MerchantEndpoints(string merchantId) => $"m#{merchantId}#whe";

    public static string MerchantDeliveries(string merchantId) => $"m#{merchantId}#whd";

    public static string MerchantDeliveriesByStatus(string merchantId, string status) => $"m#{merchantId}#whd#{status}";

    public static string DuePartition(int shard) => $"whdue#{shard}";

    public static int ShardOf(string deliveryId) => (int)(BitConverter.ToUInt32(SHA256.HashData(Encoding.UTF8.GetBytes(deliveryId)), 0) % DueShards);

    /// <summary>Fixed-width ISO-8601 UTC, so text order is time order; the id breaks ties.</summary>
    public static string ByTime(DateTimeOffset at, string id) => $"{Time(at)}#{id}";

    /// <summary>Every sort key of the due index at or before <paramref name="now"/> is less than this ('$' follows '#').</summary>
    public static string DueUpTo(DateTimeOffset now) => Time(now) + "$";

    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Ids: a prefix and 20 characters of lowercase base32 (100 bits), random or derived from a natural key.</summary>
public static class WebhookIds
{
    public const string EndpointPrefix = "we_";
    public const string DeliveryPrefix = "wd_";
    private const int BodyLength = 20;
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

    public static string NewEndpointId() => Format(EndpointPrefix, RandomNumberGenerator.GetBytes(BodyLength));

    public static string NewDeliveryId() => Format(DeliveryPrefix, RandomNumberGenerator.GetBytes(BodyLength));

    /// <summary>The delivery of one event to one endpoint has one id, so the fan-out is idempotent by (endpoint, event).</summary>
    public static string DeliveryFor(string endpointId, string eventId) => Derived(DeliveryPrefix, $"delivery\n{endpointId}\n{eventId}");

    /// <summary>An id derived from a natural key (a client's idempotency key with its scope).</summary>
    public static string Derived(string prefix, string naturalKey) => Format(prefix, SHA256.HashData(Encoding.UTF8.GetBytes(naturalKey)));

    public static bool IsEndpointId(string? text) => IsValid(text, EndpointPrefix);

    public static bool IsDeliveryId(string? text) => IsValid(text, DeliveryPrefix);

    private static string Format(string prefix, ReadOnlySpan<byte> bytes)
    {
        Span<char> chars = stackalloc char[prefix.Length + BodyLength];
        prefix.AsSpan().CopyTo(chars);
        for (var i = 0; i < BodyLength; i++) chars[prefix.Length + i] = Alphabet[bytes[i] & 31];
        return new string(chars);
    }

    private static bool IsValid(string? text, string prefix)
    {
        if (text is null || text.Length != prefix.Length + BodyLength || !text.StartsWith(prefix, StringComparison.Ordinal)) return false;
        foreach (var c in text.AsSpan(prefix.Length))
            if (!Alphabet.Contains(c)) return false;
        return true;
    }
}
