using System.Text.Json.Serialization;

namespace Molly.Payments;

/// <summary>What a merchant asks for. Amount is a decimal string in the asset's units ("12.50"), never a JSON number.</summary>
public sealed record CreatePaymentCommand(
    string? MerchantOrderId,
    string? Amount,
    string? Asset,
    string? Chain,
    int? ExpiresInSeconds = null,
    IReadOnlyDictionary<string, string>? Metadata = null,
    string? RedirectUrl = null);

/// <summary>A payment as the API shows it. Amounts are decimal strings in the asset's units.</summary>
public sealed record PaymentView(
    string Id,
    string MerchantOrderId,
    string Status,
    long StatusVersion,
    string Amount,
    string AmountReceived,
    string Asset,
    string Chain,
    string Network,
    string Address,
    string PaymentUri,
    string? Reference,
    string CheckoutUrl,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    IReadOnlyDictionary<string, string>? Metadata,
    string? RedirectUrl);

/// <summary>The outbox event written in the same transaction as a new payment.</summary>
public sealed record PaymentCreatedV1(
    string EventId,
    string PaymentId,
    string MerchantId,
    string MerchantOrderId,
    string Status,
    long StatusVersion,
    string Amount,
    string Asset,
    string Chain,
    string Address,
    DateTimeOffset OccurredAt);

/// <summary>What a merchant's account allows: the assets it accepts ("USDT@tron") and its underpayment tolerance.</summary>
public sealed record MerchantPaymentSettings(string MerchantId, IReadOnlySet<string> AcceptedAssets, int UnderpaymentToleranceBps = 0);

public abstract record CreatePaymentOutcome
{
    /// <summary>A new payment (201).</summary>
    public sealed record Created(PaymentView Payment) : CreatePaymentOutcome;

    /// <summary>The same idempotency key and the same request: the original response, unchanged.</summary>
    public sealed record Replayed(PaymentView Payment) : CreatePaymentOutcome;

    /// <summary>The request is invalid; field -> reasons.</summary>
    public sealed record Invalid(IReadOnlyDictionary<string, string[]> Errors) : CreatePaymentOutcome;

    /// <summary>The request conflicts with an earlier one (an idempotency key reused with another request, an order id taken).</summary>
    public sealed record Conflict(string Reason) : CreatePaymentOutcome;

    /// <summary>The caller's companion write was refused by its condition; nothing was written.</summary>
    public sealed record CompanionRejected : CreatePaymentOutcome;
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = false)]
[JsonSerializable(typeof(PaymentView))]
[JsonSerializable(typeof(PaymentCreatedV1))]
[JsonSerializable(typeof(CreatePaymentCommand))]
[JsonSerializable(typeof(Dictionary<string, string>))]
public sealed partial class PaymentsJsonContext : JsonSerializerContext;
