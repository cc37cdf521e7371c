using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Molly.Api.Endpoints;
using Molly.Api.Model;
using Molly.Api.Security;
using Molly.Domain.Payments;
using Molly.Payments;

namespace Molly.Api.Payments;

/// <summary>A page of payments; pass <see cref="NextCursor"/> as <c>cursor</c> to continue (null on the last page).</summary>
public sealed record PaymentListResponse(IReadOnlyList<PaymentView> Items, string? NextCursor);

/// <summary>What an admin sets for a merchant's payments. A PUT replaces all of it: fees left out are no fees.</summary>
public sealed record MerchantSettingsRequest
{
    public required IReadOnlyList<string> AcceptedAssets { get; init; }
    public int UnderpaymentToleranceBps { get; init; }
    /// <summary>'standard' (default) or 'vip'. Nullable, not defaulted by an initializer: the source-generated deserializer
    /// sets every init-only property, so an initializer would be overwritten with null when the field is left out.</summary>
    public string? Plan { get; init; }

    /// <summary>The fee per asset, taken when a payment is credited: at most one entry per asset.</summary>
    public IReadOnlyList<MerchantFeeRequest>? Fees { get; init; }
}

/// <summary>A merchant's fee on one asset (id as in acceptedAssets, e.g. <c>USDT@ethereum</c>): <see cref="BasisPoints"/>
/// (0..10,000) of the gross amount, rounded half up to a base unit, plus <see cref="FixedBaseUnits"/> (a string of digits);
/// never more than the payment.</summary>
public sealed record MerchantFeeRequest
{
    public required string Asset { get; init; }
    public required int BasisPoints { get; init; }
    /// <summary>Absent: "0".</summary>
    public string? FixedBaseUnits { get; init; }
}

/// <summary>Merchant payments: create (idempotent), read, list; and the admin endpoint for a merchant's payment settings.</summary>
public static class PaymentsApi
{
    public static IEndpointRouteBuilder MapPaymentsApi(this IEndpointRouteBuilder app)
    {
        var payments = app.MapGroup("/v1/payments").RequireAuthorization(Policies.Merchant)
            .RequireRateLimiting(PaymentsSetup.MerchantRateLimit).WithTags("Payments")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        payments.MapPost("", Create).WithName("CreatePayment").RecordsSignatureInItsTransaction()
            .WithSummary("Creates a payment with its deposit address; idempotent by the Idempotency-Key header.")
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        payments.MapGet("/{id}", Get).WithName("GetPayment").WithSummary("One payment of the calling merchant.");
        payments.MapGet("", List).WithName("ListPayments").WithSummary("The merchant's payments, newest first, by status and creation time.");

        app.MapPut("/v1/admin/merchants/{id}/settings", PutSettings).RequireAuthorization(Policies.Admin).WithTags("Admin")
            .WithName("PutMerchantSettings").WithSummary("Sets the assets a merchant accepts, its underpayment tolerance, its throttle plan and its fees.")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
        return app;
    }

    /// <remarks>The request signature's once-only record is written in the payment's own transaction (one commit per
    /// create); on every other outcome it is written on its own before answering, and a replayed signature gets 401.</remarks>
    private static async Task<Results<Created<PaymentView>, ValidationProblem, ProblemHttpResult>> Create(
        CreatePaymentCommand request, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
        ClaimsPrincipal user, HttpContext http, PaymentService service, MerchantSettingsStore settings, CancellationToken ct)
    {
        var signature = http.Features.Get<SignatureRecord>();
        var merchant = await settings.GetPaymentSettingsAsync(user.Identity!.Name!, ct);
        CreatePaymentOutcome outcome;
        try
        {
            outcome = await service.CreateAsync(merchant, idempotencyKey, request, signature?.Operation, ct);
        }
        catch (NotSupportedException e)
        {
            return signature is not null && !await signature.WriteAsync(ct)
                ? SignatureRecord.Rejected(http)
                : TypedResults.Problem(e.Message, statusCode: StatusCodes.Status422UnprocessableEntity, title: "Not supported");
        }

        if (outcome is CreatePaymentOutcome.Created) signature?.MarkWritten();
        else if (outcome is CreatePaymentOutcome.CompanionRejected || (signature is not null && !await signature.WriteAsync(ct)))
            return SignatureRecord.Rejected(http);

        switch (outcome)
        {
            case CreatePaymentOutcome.Created c:
                return TypedResults.Created($"/v1/payments/{c.Payment.Id}", c.Payment);
            case CreatePaymentOutcome.Replayed r:
                http.Response.Headers["Idempotent-Replayed"] = "true";
                return TypedResults.Created($"/v1/payments/{r.Payment.Id}", r.Payment);
            case CreatePaymentOutcome.Invalid i:
                return TypedResults.ValidationProblem(i.Errors, title: "The payment request is invalid.");
            case CreatePaymentOutcome.Conflict c:
                return TypedResults.Problem(c.Reason, statusCode: StatusCodes.Status409Conflict, title: "Conflict");
            default:
                throw new InvalidOperationException("Unexpected outcome.");
        }
    }

    private static async Task<Results<Ok<PaymentView>, ProblemHttpResult>> Get(string id, ClaimsPrincipal user, PaymentService service, CancellationToken ct) =>
        await service.GetAsync(user.Identity!.Name!, id, ct) is { } view ? TypedResults.Ok(view) : AdminApi.NotFound("payment", id);

    private static async Task<Results<Ok<PaymentListResponse>, ValidationProblem>> List(
        ClaimsPrincipal user, PaymentService service, string? status, string? from, string? to, int? limit, string? cursor, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        PaymentStatus? wanted = null;
        if (status is not null)
        {
            if (PaymentService.TryParseStatus(status, out var s)) wanted = s;
            else errors["status"] = ["Unknown status; one of created, detected, confirming, paid, underpaid, overpaid, paid_late, expired."];
        }
        var fromTime = ParseTime(from, "from", errors);
        var toTime = ParseTime(to, "to", errors);
        if (limit is < 1 or > 100) errors["limit"] = ["The limit is 1 to 100."];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        try
        {
            var page = await service.ListAsync(user.Identity!.Name!, wanted, fromTime, toTime, limit ?? 20, cursor, ct);
            return TypedResults.Ok(new PaymentListResponse(page.Items, page.Cursor));
        }
        catch (ArgumentException)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["cursor"] = ["The cursor is not one this list gave out."] });
        }
    }

    private static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> PutSettings(
        string id, MerchantSettingsRequest request, Merchants merchants, MerchantSettingsStore settings, CancellationToken ct)
    {
        if (!MerchantId.TryParse(id, out var merchantId)) return AdminApi.BadId("merchant", id);
        if (await merchants.FindAsync(merchantId, ct) is null) return AdminApi.NotFound("merchant", id);
        var errors = await settings.PutAsync(merchantId.Value, request, ct);
        return errors is null ? TypedResults.NoContent() : TypedResults.ValidationProblem(errors);
    }

    private static DateTimeOffset? ParseTime(string? text, string field, Dictionary<string, string[]> errors)
    {
        if (text is null) return null;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)) return t;
        errors[field] = ["An ISO-8601 timestamp, e.g. 2026-11-21T12:00:00Z."];
        return null;
    }
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(CreatePaymentCommand))]
[System.Text.Json.Serialization.JsonSerializable(typeof(PaymentView))]
[System.Text.Json.Serialization.JsonSerializable(typeof(PaymentListResponse))]
[System.Text.Json.Serialization.JsonSerializable(typeof(MerchantSettingsRequest))]
[System.Text.Json.Serialization.JsonSerializable(typeof(BalancesResponse))]
internal sealed partial class PaymentsApiJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
