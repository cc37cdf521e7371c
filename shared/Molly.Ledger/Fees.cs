using System.Numerics;
using Molly.Storage;

namespace Molly.Ledger;

/// <summary>
/// A merchant's fee on one asset: <see cref="BasisPoints"/> (0..10,000) of the gross amount plus <see cref="Fixed"/> base units.
/// Rounding: the proportional part is rounded half up to a whole base unit (integer math: (gross * bps + 5,000) / 10,000);
/// the fee never exceeds the gross amount.
/// </summary>
public sealed record MerchantFee(int BasisPoints, BigInteger Fixed)
{
    public static MerchantFee None { get; } = new(0, BigInteger.Zero);

    public BigInteger FeeFor(BigInteger gross)
    {
        if (BasisPoints is < 0 or > 10_000) throw new ArgumentOutOfRangeException(nameof(BasisPoints), "0..10,000 basis points");
        if (Fixed.Sign < 0) throw new ArgumentOutOfRangeException(nameof(Fixed), "A fixed fee is not negative.");
        if (gross.Sign <= 0) throw new ArgumentOutOfRangeException(nameof(gross), "The gross amount is positive.");
        var fee = Fixed + (gross * BasisPoints + 5_000) / 10_000;
        return BigInteger.Min(fee, gross);
    }
}

/// <summary>The outcome of crediting a payment: the batch result per command (net, then fee) and the split.</summary>
public sealed record PaymentCredit(IReadOnlyList<TransferResult> Results, BigInteger Net, BigInteger Fee)
{
    public bool Succeeded => Results.All(r => r is TransferResult.Ok or TransferResult.Exists);
}

public sealed partial class Ledger
{
    public const ushort PaymentCode = 1;
    public const ushort FeeCode = 2;

    /// <summary>
    /// Credits a confirmed payment as one linked batch: deposits_in_flight -> merchant_available (gross - fee) and
    /// deposits_in_flight -> fee_revenue (fee), ids <c>{paymentId}:net</c> and <c>{paymentId}:fee</c>. A zero leg is left out.
    /// The fee is the caller's (merchant settings, see Molly.Payments <c>MerchantSettings</c>): the ledger stores no fee
    /// configuration. A retry with another fee is refused (<c>ExistsWithDifferentAmount</c>), never credited twice.
    /// </summary>
    public Task<PaymentCredit> CreditPaymentAsync(string paymentId, string merchant, string asset,
        BigInteger gross, MerchantFee fee, CancellationToken ct = default) =>
        CreditPaymentAsync(paymentId, merchant, asset, gross, fee, [], ct);

    /// <summary>As the overload without <paramref name="alongside"/>, committing the caller's own writes (the deposit and the
    /// payment moving to their final state, their outbox event) in the same store transaction as the credit; see
    /// <see cref="SubmitAsync(IReadOnlyList{TransferCommand}, IReadOnlyList{TransactOp}, CancellationToken)"/>.</summary>
    public async Task<PaymentCredit> CreditPaymentAsync(string paymentId, string merchant, string asset,
        BigInteger gross, MerchantFee fee, IReadOnlyList<TransactOp> alongside, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(fee);
        if (gross.Sign <= 0) throw new ArgumentOutOfRangeException(nameof(gross), "The gross amount of a payment is positive.");
        var netId = TransferId.Parse(paymentId + ":net");
        var feeId = TransferId.Parse(paymentId + ":fee");
        var feeAmount = fee.FeeFor(gross);
        var net = gross - feeAmount;
        var source = AccountId.Platform(asset, AccountKind.DepositsInFlight);
        var commands = new List<TransferCommand>();
        if (net > 0)
            commands.Add(new CreateTransfer(netId, source, AccountId.Create(merchant, asset, AccountKind.MerchantAvailable), net, asset, PaymentCode, paymentId));
        if (feeAmount > 0)
            commands.Add(new CreateTransfer(feeId, source, AccountId.Platform(asset, AccountKind.FeeRevenue), feeAmount, asset, FeeCode, paymentId));
        var results = await SubmitAsync(commands, alongside, ct).ConfigureAwait(false);
        return new PaymentCredit(results, net, feeAmount);
    }
}
