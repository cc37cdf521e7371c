using System.Numerics;

namespace Molly.Domain.Payments;

/// <summary>
/// Where a payment is. BTCPay's invoice states are the anchor: its PaidPartial, PaidOver and PaidLate are our
/// <see cref="Underpaid"/>, <see cref="Overpaid"/> and <see cref="PaidLate"/>.
/// </summary>
public enum PaymentStatus
{
    /// <summary>Waiting for the payer; nothing seen on chain.</summary>
    Created,
    /// <summary>A deposit to the payment's address was seen on chain (not yet confirmed).</summary>
    Detected,
    /// <summary>The deposit is waiting for its confirmations.</summary>
    Confirming,
    /// <summary>Confirmed, the full amount (within the merchant's underpayment tolerance), before expiry.</summary>
    Paid,
    /// <summary>Confirmed, less than the amount minus the tolerance.</summary>
    Underpaid,
    /// <summary>Confirmed, more than the amount.</summary>
    Overpaid,
    /// <summary>Confirmed, enough, but first seen after the payment expired.</summary>
    PaidLate,
    /// <summary>Expired with nothing seen; a later deposit still moves it to <see cref="Detected"/> (and ends in <see cref="PaidLate"/>).</summary>
    Expired,
}

/// <summary>A transition the payment's state does not allow; nothing changed.</summary>
public sealed class PaymentStateException(string message) : InvalidOperationException(message);

/// <summary>
/// The payment aggregate: it guards its own transitions. Every transition bumps <see cref="StatusVersion"/>, which events carry
/// so receivers can discard stale ones. Amounts are base units of the payment's asset.
/// </summary>
public sealed class Payment
{
    public Payment(BigInteger amount, DateTimeOffset createdAt, DateTimeOffset expiresAt, int underpaymentToleranceBps = 0)
    {
        if (amount.Sign <= 0) throw new ArgumentOutOfRangeException(nameof(amount), "A payment's amount must be positive.");
        if (expiresAt <= createdAt) throw new ArgumentOutOfRangeException(nameof(expiresAt), "A payment must expire after it is created.");
        if (underpaymentToleranceBps is < 0 or > 10_000)
            throw new ArgumentOutOfRangeException(nameof(underpaymentToleranceBps), "The tolerance is 0 to 10,000 basis points.");
        Amount = amount;
        CreatedAt = createdAt;
        ExpiresAt = expiresAt;
        UnderpaymentToleranceBps = underpaymentToleranceBps;
        Status = PaymentStatus.Created;
    }

    private Payment() { }

    public BigInteger Amount { get; private init; }
    public DateTimeOffset CreatedAt { get; private init; }
    public DateTimeOffset ExpiresAt { get; private init; }
    public int UnderpaymentToleranceBps { get; private init; }
    public PaymentStatus Status { get; private set; }
    public long StatusVersion { get; private set; }
    /// <summary>True when the first deposit was seen after <see cref="ExpiresAt"/>.</summary>
    public bool Late { get; private set; }
    /// <summary>The amount seen on chain (detected, not necessarily confirmed).</summary>
    public BigInteger Received { get; private set; }

    public bool IsFinal => Status is PaymentStatus.Paid or PaymentStatus.Underpaid or PaymentStatus.Overpaid or PaymentStatus.PaidLate;

    /// <summary>The least amount that counts as paid: the amount less the merchant's tolerance (rounded in the payer's disfavour).</summary>
    public BigInteger MinimumAccepted => Amount - Amount * UnderpaymentToleranceBps / 10_000;

    /// <summary>Rebuilds a payment from stored state (no transition rules apply to a rehydration).</summary>
    public static Payment Restore(BigInteger amount, DateTimeOffset createdAt, DateTimeOffset expiresAt, int toleranceBps,
        PaymentStatus status, long statusVersion, bool late, BigInteger received) => new()
    {
        Amount = amount, CreatedAt = createdAt, ExpiresAt = expiresAt, UnderpaymentToleranceBps = toleranceBps,
        Status = status, StatusVersion = statusVersion, Late = late, Received = received,
    };

    /// <summary>A deposit of <paramref name="amount"/> was seen at <paramref name="seenAt"/>.</summary>
    public void Detect(BigInteger amount, DateTimeOffset seenAt)
    {
        if (amount.Sign <= 0) throw new ArgumentOutOfRangeException(nameof(amount), "A deposit's amount must be positive.");
        Require(nameof(Detect), PaymentStatus.Created, PaymentStatus.Expired);
        Late = seenAt > ExpiresAt;
        Received = amount;
        Move(PaymentStatus.Detected);
    }

    /// <summary>The deposit is in a block and now waits for its confirmations.</summary>
    public void BeginConfirming() => MoveFrom(nameof(BeginConfirming), PaymentStatus.Confirming, PaymentStatus.Detected);

    /// <summary>The deposit's block left the canonical chain (a reorg): the detection is undone; nothing was credited.</summary>
    public void Orphan(DateTimeOffset now)
    {
        Require(nameof(Orphan), PaymentStatus.Detected, PaymentStatus.Confirming);
        Received = BigInteger.Zero;
        Late = false;
        Move(now >= ExpiresAt ? PaymentStatus.Expired : PaymentStatus.Created);
    }

    /// <summary>The deposit has its confirmations: the payment ends by what was received.</summary>
    public PaymentStatus Settle(BigInteger confirmedAmount)
    {
        if (confirmedAmount.Sign <= 0) throw new ArgumentOutOfRangeException(nameof(confirmedAmount), "A confirmed amount must be positive.");
        Require(nameof(Settle), PaymentStatus.Confirming);
        Received = confirmedAmount;
        var outcome = Outcome(confirmedAmount);
        Move(outcome);
        return outcome;
    }

    private PaymentStatus Outcome(BigInteger confirmed) =>
        confirmed < MinimumAccepted ? PaymentStatus.Underpaid
        : confirmed > Amount ? PaymentStatus.Overpaid
        : Late ? PaymentStatus.PaidLate
        : PaymentStatus.Paid;

    /// <summary>
    /// A further deposit to a payment that has already ended was confirmed: the payment ends again by the total confirmed
    /// (<paramref name="confirmedTotal"/>, every credited deposit together). An underpaid payment topped up to its amount is
    /// paid (late if the top-up was seen after expiry); a paid one that receives more is overpaid. Bumps the version even when
    /// the status stays (the amount received changed).
    /// </summary>
    public PaymentStatus TopUp(BigInteger confirmedTotal, DateTimeOffset seenAt)
    {
        Require(nameof(TopUp), PaymentStatus.Paid, PaymentStatus.Underpaid, PaymentStatus.Overpaid, PaymentStatus.PaidLate);
        if (confirmedTotal <= Received)
            throw new ArgumentOutOfRangeException(nameof(confirmedTotal), "A top-up raises the total received.");
        if (Status == PaymentStatus.Underpaid && seenAt > ExpiresAt) Late = true;
        Received = confirmedTotal;
        var outcome = Outcome(confirmedTotal);
        Move(outcome);
        return outcome;
    }

    /// <summary>Expires a payment nobody paid; a no-op is an error, so callers decide with <see cref="CanExpire"/>.</summary>
    public void Expire(DateTimeOffset now)
    {
        if (now < ExpiresAt) throw new PaymentStateException($"The payment expires at {ExpiresAt:O}, not before.");
        MoveFrom(nameof(Expire), PaymentStatus.Expired, PaymentStatus.Created);
    }

    public bool CanExpire(DateTimeOffset now) => Status == PaymentStatus.Created && now >= ExpiresAt;

    private void MoveFrom(string action, PaymentStatus to, params PaymentStatus[] from)
    {
        Require(action, from);
        Move(to);
    }

    private void Require(string action, params PaymentStatus[] allowed)
    {
        if (!allowed.Contains(Status))
            throw new PaymentStateException($"Cannot {action} a payment that is {Status}; allowed from {string.Join(" or ", allowed)}.");
    }

    private void Move(PaymentStatus to)
    {
        Status = to;
        StatusVersion++;
    }
}
