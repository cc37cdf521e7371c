namespace Molly.Payments;

/// <summary>
/// The single-table keys of payments in. Payments are keyed by their own id so a busy merchant's writes spread over partitions;
/// the merchant's listing uses GSI1 (by time) and GSI2 (by status, then time).
/// </summary>
public static class Keys
{
    public const string Item = "payment";

    public static Storage.ItemKey Payment(string paymentId) => new($"pay#{paymentId}", Item);

    public static Storage.ItemKey Order(string merchantId, string orderId) => new($"m#{merchantId}#order#{orderId}", "order");

    public static Storage.ItemKey Idempotency(string merchantId, string key) => new($"m#{merchantId}#idem#{key}", "idem");

    /// <summary>What a chain watcher looks for: a deposit address, or on Solana the payment's reference key (an account key the
    /// payer's transfer carries, found with getSignaturesForAddress like any address).</summary>
    public static Storage.ItemKey WatchedAddress(string chain, string address) => new($"addr#{chain}#{address}", "addr");

    public static Storage.ItemKey Outbox(string eventId) => new($"outbox#{eventId}", "event");

    public static Storage.ItemKey AllocationShard(string chain, string network, long shard) => new($"alloc#{chain}#{network}", $"shard#{shard:D8}");

    public static Storage.ItemKey AllocationPointer(string chain, string network) => new($"alloc#{chain}#{network}", "open");

    public static string MerchantPayments(string merchantId) => $"m#{merchantId}#pay";

    public static string MerchantPaymentsByStatus(string merchantId, string status) => $"m#{merchantId}#pay#{status}";

    /// <summary>The GSI1 partition of a shard's watched addresses; its sort key is <see cref="ByTime"/> of the creation and the
    /// address, so a chain watcher refreshes its index with "created after" queries instead of re-reading the shard.</summary>
    public static string Watch(string chain, long shard) => $"watch#{chain}#{shard:D8}";

    /// <summary>Time-ordered sort key: ISO-8601 UTC with fixed width sorts as text, then the id breaks ties.</summary>
    public static string ByTime(DateTimeOffset at, string paymentId) => $"{at.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffffffZ}#{paymentId}";
}
