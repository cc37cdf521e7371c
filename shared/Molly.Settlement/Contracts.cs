using System.Text.Json.Serialization;

namespace Molly.Settlement;

/// <summary>The input of every deposit-confirm task but MarkForReview. Other fields (the execution input) are ignored.</summary>
public sealed record DepositTaskInput(string? DepositId);

/// <summary>MarkForReview's input: the deposit and the error a Catch captured (Step Functions names them Error and Cause).</summary>
public sealed record ReviewTaskInput(string? DepositId, TaskError? Error);

public sealed record TaskError([property: JsonPropertyName("Error")] string? Error, [property: JsonPropertyName("Cause")] string? Cause);

public static class ConfirmationState
{
    public const string Waiting = "waiting";
    public const string Confirmed = "confirmed";
    public const string Orphaned = "orphaned";
}

/// <summary>CheckConfirmations: <see cref="State"/> is <c>waiting</c>, <c>confirmed</c> or <c>orphaned</c>; the workflow waits
/// <see cref="WaitSeconds"/> before asking again.</summary>
public sealed record ConfirmationsResult(string State, long Confirmations, int Required, int WaitSeconds);

public sealed record CanonicalResult(bool Canonical);

/// <summary>CreditPayment: the payment's status after the credit and the id of the merchant's ledger transfer.</summary>
public sealed record CreditResult(string PaymentId, string PaymentStatus, string TransferId);

/// <summary>UndoDetection: the payment's status after the detection was undone (unchanged when another deposit holds it).</summary>
public sealed record UndoResult(string PaymentId, string PaymentStatus);

public sealed record ReviewResult;

/// <summary>
/// The outbox payload of a settled deposit: type <c>PaymentPaidV1</c>, <c>PaymentUnderpaidV1</c>, <c>PaymentOverpaidV1</c> or
/// <c>PaymentPaidLateV1</c> by <see cref="Status"/>. Amounts are base units as decimal strings: <see cref="Received"/> is every
/// credited deposit of the payment together, <see cref="DepositAmount"/> this one, split into <see cref="Net"/> and <see cref="Fee"/>.
/// </summary>
public sealed record PaymentSettledV1(
    string EventId,
    string PaymentId,
    string MerchantId,
    string DepositId,
    string Status,
    long StatusVersion,
    string Amount,
    string Received,
    string DepositAmount,
    string Net,
    string Fee,
    string Asset,
    string Chain,
    string TxHash,
    string TransferId,
    DateTimeOffset OccurredAt);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false,
    PropertyNameCaseInsensitive = false)]
[JsonSerializable(typeof(DepositTaskInput))]
[JsonSerializable(typeof(ReviewTaskInput))]
[JsonSerializable(typeof(ConfirmationsResult))]
[JsonSerializable(typeof(CanonicalResult))]
[JsonSerializable(typeof(CreditResult))]
[JsonSerializable(typeof(UndoResult))]
[JsonSerializable(typeof(ReviewResult))]
[JsonSerializable(typeof(PaymentSettledV1))]
public sealed partial class SettlementJsonContext : JsonSerializerContext;
