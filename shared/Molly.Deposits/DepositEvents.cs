using System.Text.Json.Serialization;
using Molly.Storage;

namespace Molly.Deposits;

/// <summary>Keys of deposits and of the chain cursors in the single table.</summary>
public static class DepositKeys
{
    public const string Item = "deposit";

    /// <summary>The PK prefix of deposit items (the AWS Pipe's filter and the local starter match it).</summary>
    public const string Prefix = "dep#";

    /// <summary>depositId = <c>{chain}#{txHash}#{index}</c>; the item is <c>dep#{depositId}</c> / <c>deposit</c>.</summary>
    public static string DepositId(string chain, string txHash, string index) => $"{chain}#{txHash}#{index}";

    public static ItemKey Deposit(string depositId) => new(Prefix + depositId, Item);

    /// <summary>GSI1 partition of the deposits recorded at one block height (what a reorg rewind looks up).</summary>
    public static string AtHeight(string chain, string network, ulong blockNumber) => $"depblk#{chain}#{network}#{blockNumber}";

    /// <summary>GSI2 partition of a payment's deposits.</summary>
    public static string OfPayment(string paymentId) => $"pay#{paymentId}#deposits";

    public static ItemKey Cursor(string chain, string network) => new($"cursor#evm#{chain}#{network}", "cursor");
}

public static class DepositStatus
{
    public const string Detected = "detected";
    public const string Orphaned = "orphaned";
    public const string Confirmed = "confirmed";
    public const string Credited = "credited";
    public const string NeedsReview = "needs_review";
}

/// <summary>A deposit to a payment's address was seen in a block; the payment now waits for confirmations.</summary>
public sealed record PaymentDetectedV1(
    string EventId,
    string PaymentId,
    string MerchantId,
    string DepositId,
    string Status,
    long StatusVersion,
    string Amount,
    string Asset,
    string Chain,
    string Network,
    string Address,
    string TxHash,
    ulong BlockNumber,
    bool Late,
    DateTimeOffset OccurredAt);

/// <summary>The block holding a deposit left the canonical chain; the payment's detection is undone (never credited).</summary>
public sealed record DepositOrphanedV1(
    string EventId,
    string PaymentId,
    string MerchantId,
    string DepositId,
    string Status,
    long StatusVersion,
    string TxHash,
    ulong BlockNumber,
    string BlockHash,
    DateTimeOffset OccurredAt);

/// <summary>A deposit the gateway will not settle on its own (another asset than the payment's, a second deposit, a reorg
/// after the credit): an operator decides.</summary>
public sealed record PaymentNeedsReviewV1(
    string EventId,
    string PaymentId,
    string MerchantId,
    string DepositId,
    string Reason,
    string Amount,
    string Asset,
    string TxHash,
    DateTimeOffset OccurredAt);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false)]
[JsonSerializable(typeof(PaymentDetectedV1))]
[JsonSerializable(typeof(DepositOrphanedV1))]
[JsonSerializable(typeof(PaymentNeedsReviewV1))]
public sealed partial class DepositsJsonContext : JsonSerializerContext;
