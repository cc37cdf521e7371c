using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Molly.Api.Endpoints;
using Molly.Api.Model;
using Molly.Api.Payments;
using Molly.Webhooks;

namespace Molly.Api.Webhooks;

public sealed record CreateWebhookEndpointRequest
{
    /// <summary>https URL that receives the POSTs.</summary>
    public required string Url { get; init; }

    /// <summary>Event names (payment.paid ...), <c>payment.*</c>, or <c>*</c> for every event including later ones.</summary>
    public required IReadOnlyList<string> Events { get; init; }

    public string? Description { get; init; }
}

/// <summary>An endpoint. <see cref="Secret"/> is only in the responses of create and rotate-secret.</summary>
public sealed record WebhookEndpointResponse(
    string Id, string Url, IReadOnlyList<string> Events, string? Description, DateTimeOffset CreatedAt,
    DateTimeOffset? PreviousSecretExpiresAt,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] string? Secret);

public sealed record WebhookEndpointListResponse(IReadOnlyList<WebhookEndpointResponse> Items);

public sealed record RotateWebhookSecretRequest
{
    /// <summary>How long the previous secret keeps signing beside the new one (default 24 h, at most 7 days).</summary>
    public int? OverlapSeconds { get; init; }
}

public sealed record WebhookDeliveryListResponse(IReadOnlyList<WebhookDelivery> Items, string? NextCursor);

/// <summary>Merchant webhooks: endpoints (with their signing secrets), deliveries, redelivery.</summary>
public static class WebhooksApi
{
    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1").RequireAuthorization(Policies.Merchant)
            .RequireRateLimiting(PaymentsSetup.MerchantRateLimit).WithTags("Webhooks")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        group.MapPost("/webhook-endpoints", CreateEndpoint).WithName("CreateWebhookEndpoint")
            .WithSummary("Registers a webhook endpoint; the signing secret is in this response only. Idempotent with an Idempotency-Key header.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/webhook-endpoints", ListEndpoints).WithName("ListWebhookEndpoints").WithSummary("The merchant's webhook endpoints.");
        group.MapGet("/webhook-endpoints/{id}", GetEndpoint).WithName("GetWebhookEndpoint").WithSummary("One webhook endpoint.");
        group.MapDelete("/webhook-endpoints/{id}", DeleteEndpoint).WithName("DeleteWebhookEndpoint")
            .WithSummary("Deletes an endpoint; its pending deliveries end as failed (endpoint_deleted).");
        group.MapPost("/webhook-endpoints/{id}/rotate-secret", RotateSecret).WithName("RotateWebhookSecret")
            .WithSummary("A new signing secret; the previous one keeps signing (a second v1= in Molly-Signature) during the overlap.");
        group.MapGet("/webhook-deliveries", ListDeliveries).WithName("ListWebhookDeliveries")
            .WithSummary("Deliveries, newest first, filtered by endpoint, status (pending, succeeded, failed, dead) and event.");
        group.MapGet("/webhook-deliveries/{id}", GetDelivery).WithName("GetWebhookDelivery").WithSummary("One delivery with its attempts.");
        group.MapPost("/webhook-deliveries/{id}/redeliver", Redeliver).WithName("RedeliverWebhook")
            .WithSummary("Sends the delivery's event again as a new delivery (isRedelivery true). Idempotent with an Idempotency-Key header.");
        return app;
    }

    private static async Task<Results<Created<WebhookEndpointResponse>, ValidationProblem, ProblemHttpResult>> CreateEndpoint(
        CreateWebhookEndpointRequest request, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey, ClaimsPrincipal user,
        HttpContext http, WebhookEndpoints endpoints, CancellationToken ct)
    {
        switch (await endpoints.CreateAsync(Merchant(user), request.Url, request.Events, request.Description, idempotencyKey, ct))
        {
            case EndpointOutcome.Created c:
                if (c.Replayed) http.Response.Headers["Idempotent-Replayed"] = "true";
                return TypedResults.Created($"/v1/webhook-endpoints/{c.Endpoint.Id}", ToResponse(c.Endpoint, c.Secret));
            case EndpointOutcome.Invalid i:
                return TypedResults.ValidationProblem(i.Errors, title: "The webhook endpoint is invalid.",
                    extensions: new Dictionary<string, object?> { ["reason"] = "invalid_webhook_endpoint" });
            case EndpointOutcome.Conflict c:
                return TypedResults.Problem(c.Reason, statusCode: StatusCodes.Status409Conflict, title: "Conflict");
            default:
                throw new InvalidOperationException("Unexpected outcome.");
        }
    }

    private static async Task<Ok<WebhookEndpointListResponse>> ListEndpoints(ClaimsPrincipal user, WebhookEndpoints endpoints, CancellationToken ct) =>
        TypedResults.Ok(new WebhookEndpointListResponse((await endpoints.ListAsync(Merchant(user), ct)).Select(e => ToResponse(e, null)).ToList()));

    private static async Task<Results<Ok<WebhookEndpointResponse>, ProblemHttpResult>> GetEndpoint(
        string id, ClaimsPrincipal user, WebhookEndpoints endpoints, CancellationToken ct)
    {
        if (!WebhookIds.IsEndpointId(id)) return AdminApi.BadId("webhook endpoint", id);
        return await endpoints.FindAsync(Merchant(user), id, ct) is { } e ? TypedResults.Ok(ToResponse(e, null)) : AdminApi.NotFound("webhook endpoint", id);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteEndpoint(
        string id, ClaimsPrincipal user, WebhookEndpoints endpoints, CancellationToken ct)
    {
        if (!WebhookIds.IsEndpointId(id)) return AdminApi.BadId("webhook endpoint", id);
        return await endpoints.DeleteAsync(Merchant(user), id, ct) ? TypedResults.NoContent() : AdminApi.NotFound("webhook endpoint", id);
    }

    private static async Task<Results<Ok<WebhookEndpointResponse>, ValidationProblem, ProblemHttpResult>> RotateSecret(
        string id, RotateWebhookSecretRequest? request, ClaimsPrincipal user, WebhookEndpoints endpoints,
        Microsoft.Extensions.Options.IOptions<WebhookOptions> options, CancellationToken ct)
    {
        if (!WebhookIds.IsEndpointId(id)) return AdminApi.BadId("webhook endpoint", id);
        var max = options.Value.MaxSecretRotationOverlap;
        var overlap = request?.OverlapSeconds is { } s ? TimeSpan.FromSeconds(s) : options.Value.SecretRotationOverlap;
        if (overlap < TimeSpan.Zero || overlap > max)
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["overlapSeconds"] = [$"0 to {(long)max.TotalSeconds} seconds."],
            });
        var rotated = await endpoints.RotateSecretAsync(Merchant(user), id, overlap, ct);
        return rotated is { } r ? TypedResults.Ok(ToResponse(r.Endpoint, r.Secret)) : AdminApi.NotFound("webhook endpoint", id);
    }

    private static async Task<Results<Ok<WebhookDeliveryListResponse>, ValidationProblem>> ListDeliveries(
        ClaimsPrincipal user, WebhookDeliveries deliveries, string? endpoint, string? status, string? @event, int? limit, string? cursor,
        CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>();
        if (endpoint is not null && !WebhookIds.IsEndpointId(endpoint)) errors["endpoint"] = ["Not a webhook endpoint id."];
        if (status is not null && !DeliveryStatus.All.Contains(status)) errors["status"] = ["One of pending, succeeded, failed, dead."];
        if (@event is not null && !WebhookEvents.Known.Contains(@event)) errors["event"] = ["Not a known event name (e.g. payment.paid)."];
        if (limit is < 1 or > 100) errors["limit"] = ["The limit is 1 to 100."];
        if (errors.Count > 0) return TypedResults.ValidationProblem(errors);
        try
        {
            var page = await deliveries.ListAsync(Merchant(user), endpoint, status, @event, limit ?? 20, cursor, ct);
            return TypedResults.Ok(new WebhookDeliveryListResponse(page.Items, page.NextCursor));
        }
        catch (ArgumentException)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["cursor"] = ["The cursor is not one this list gave out."] });
        }
    }

    private static async Task<Results<Ok<WebhookDelivery>, ProblemHttpResult>> GetDelivery(
        string id, ClaimsPrincipal user, WebhookDeliveries deliveries, CancellationToken ct)
    {
        if (!WebhookIds.IsDeliveryId(id)) return AdminApi.BadId("webhook delivery", id);
        return await deliveries.GetAsync(Merchant(user), id, ct) is { } d ? TypedResults.Ok(d) : AdminApi.NotFound("webhook delivery", id);
    }

    private static async Task<Results<Created<WebhookDelivery>, ProblemHttpResult>> Redeliver(
        string id, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey, ClaimsPrincipal user, WebhookDeliveries deliveries,
        CancellationToken ct)
    {
        if (!WebhookIds.IsDeliveryId(id)) return AdminApi.BadId("webhook delivery", id);
        if (idempotencyKey is { Length: 0 or > 200 })
            return TypedResults.Problem("Idempotency-Key is 1 to 200 characters.", statusCode: StatusCodes.Status400BadRequest, title: "Bad request");
        var fresh = await deliveries.RedeliverAsync(Merchant(user), id, idempotencyKey, ct);
        return fresh is null ? AdminApi.NotFound("webhook delivery", id) : TypedResults.Created($"/v1/webhook-deliveries/{fresh.Id}", fresh);
    }

    private static string Merchant(ClaimsPrincipal user) => user.Identity!.Name!;

    private static WebhookEndpointResponse ToResponse(WebhookEndpoint e, string? secret) =>
        new(e.Id, e.Url, e.Events, e.Description, e.CreatedAt, e.PreviousSecretExpiresAt, secret);
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web,
    DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
[System.Text.Json.Serialization.JsonSerializable(typeof(CreateWebhookEndpointRequest))]
[System.Text.Json.Serialization.JsonSerializable(typeof(WebhookEndpointResponse))]
[System.Text.Json.Serialization.JsonSerializable(typeof(WebhookEndpointListResponse))]
[System.Text.Json.Serialization.JsonSerializable(typeof(RotateWebhookSecretRequest))]
[System.Text.Json.Serialization.JsonSerializable(typeof(WebhookDelivery))]
[System.Text.Json.Serialization.JsonSerializable(typeof(WebhookDeliveryListResponse))]
internal sealed partial class WebhooksApiJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
