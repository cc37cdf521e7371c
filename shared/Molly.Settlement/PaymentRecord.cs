using System.Globalization;
using System.Numerics;
using Molly.Domain.Payments;
using Molly.Payments;
using Molly.Storage;

namespace Molly.Settlement;

/// <summary>The stored payment (item written by <see cref="PaymentService"/>) as the aggregate plus what settlement needs:
/// its merchant, asset, the sum already credited and the version that guards a change.</summary>
internal sealed record PaymentRecord(string PaymentId, string MerchantId, string Chain, string Symbol, Payment Payment, BigInteger Credited,
    string? DetectedBy)
{
    public const string CreditedAttribute = "credited";

    public static PaymentRecord Read(string paymentId, Item item)
    {
        try
        {
            if (!PaymentService.TryParseStatus(item.RequireString("status"), out var status))
                throw new FormatException($"unknown status '{item.GetString("status")}'");
            var payment = Payment.Restore(
                BigInteger.Parse(item.RequireString("amount"), NumberStyles.None, CultureInfo.InvariantCulture),
                ParseTime(item.RequireString("createdAt")),
                ParseTime(item.RequireString("expiresAt")),
                (int)item.RequireNumber("toleranceBps"),
                status,
                item.GetInt64("statusVersion") ?? 0,
                item.GetBool("late") ?? false,
                BigInteger.Parse(item.GetString("received") ?? "0", NumberStyles.None, CultureInfo.InvariantCulture));
            return new PaymentRecord(paymentId, item.RequireString("merchantId"), item.RequireString("chain"), item.RequireString("symbol"),
                payment, item.GetNumber(CreditedAttribute) ?? BigInteger.Zero, item.GetString("detectedBy")) { ReadVersion = payment.StatusVersion };
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException or ArgumentException)
        {
            throw new PermanentTaskException($"Payment {paymentId} is malformed: {e.Message}", e);
        }
    }

    /// <summary>The write that stores the aggregate's new state, guarded by the status version read (and the item existing).</summary>
    /// <param name="detectedBy">The deposit that now holds the payment's detection (the watcher's <c>detectedBy</c>); "" removes it.</param>
    public TransactOp Write(BigInteger creditedDelta, string? detectedBy = null)
    {
        var p = Payment;
        var status = PaymentService.StatusName(p.Status);
        var u = new Update()
            .Set("status", status)
            .Set("statusVersion", p.StatusVersion)
            .Set("received", p.Received.ToString(CultureInfo.InvariantCulture))
            .Set("late", p.Late)
            .Set(KeyNames.IndexPK("GSI2"), Keys.MerchantPaymentsByStatus(MerchantId, status))
            .Add("version", 1);
        if (!creditedDelta.IsZero) u.Add(CreditedAttribute, creditedDelta);
        if (detectedBy == "") u.Remove("detectedBy");
        else if (detectedBy is not null) u.Set("detectedBy", detectedBy);
        return TransactOp.Update(Keys.Payment(PaymentId), u, Condition.And(Condition.ItemExists, Condition.VersionEquals(ReadVersion, "statusVersion")));
    }

    /// <summary>The status version as read (before this call's transitions).</summary>
    public long ReadVersion { get; init; }

    private static DateTimeOffset ParseTime(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
