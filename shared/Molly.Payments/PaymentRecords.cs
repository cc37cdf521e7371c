using System.Globalization;
using System.Numerics;
using Molly.Domain.Payments;
using Molly.Storage;

namespace Molly.Payments;

/// <summary>
/// The payment item as the aggregate sees it: <see cref="Restore"/> rebuilds a <see cref="Payment"/> from the stored item and
/// <see cref="TransitionUpdate"/> writes a transition back (status, its GSI2 listing partition, statusVersion, received, late),
/// guarded by the item's <c>version</c> so two writers cannot both apply a transition to the same state.
/// </summary>
public static class PaymentRecords
{
    public static Payment Restore(Item item)
    {
        if (!PaymentService.TryParseStatus(item.GetString("status"), out var status))
            throw new InvalidOperationException($"Payment {item.Key} has an unknown status '{item.GetString("status")}'.");
        return Payment.Restore(
            BigInteger.Parse(item.RequireString("amount"), CultureInfo.InvariantCulture),
            DateTimeOffset.Parse(item.RequireString("createdAt"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
            DateTimeOffset.Parse(item.RequireString("expiresAt"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
            (int)(item.GetInt64("toleranceBps") ?? 0),
            status,
            item.GetInt64("statusVersion") ?? 0,
            item.GetBool("late") ?? false,
            BigInteger.Parse(item.GetString("received") ?? "0", CultureInfo.InvariantCulture));
    }

    public static string PaymentId(Item item) => item.PK["pay#".Length..];

    /// <summary>The key of a payment item.</summary>
    public static ItemKey Key(string paymentId) => Keys.Payment(paymentId);

    /// <summary>A transaction operation writing <paramref name="after"/>'s state onto <paramref name="before"/> (the item it was
    /// restored from), conditioned on the item's version being unchanged. <paramref name="extra"/> adds attributes.</summary>
    public static TransactOp TransitionUpdate(Item before, Payment after, DateTimeOffset now, Action<Update>? extra = null)
    {
        var version = before.GetInt64("version") ?? 0;
        var status = PaymentService.StatusName(after.Status);
        var update = new Update()
            .Set("status", status)
            .Set("statusVersion", after.StatusVersion)
            .Set("received", after.Received.ToString(CultureInfo.InvariantCulture))
            .Set("late", after.Late)
            .Set("updatedAt", now.UtcDateTime.ToString("O", CultureInfo.InvariantCulture))
            .Set("version", version + 1);
        if (before.GetString(KeyNames.IndexSK("GSI2")) is not null)
            update.Set(KeyNames.IndexPK("GSI2"), Keys.MerchantPaymentsByStatus(before.RequireString("merchantId"), status));
        extra?.Invoke(update);
        return TransactOp.Update(before.Key, update, Condition.VersionEquals(version));
    }
}
