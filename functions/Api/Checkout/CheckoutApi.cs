using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Molly.Api.Endpoints;
using Molly.Api.Hosting;
using Molly.Api.Payments;
using Molly.Api.Security;
using Molly.Payments;

namespace Molly.Api.Checkout;

/// <summary>The <c>Molly:Checkout</c> section: the per-client-IP throttle of the public checkout routes.</summary>
public sealed class CheckoutOptions
{
    public const string Section = "Molly:Checkout";

    /// <summary>Requests per second per client IP (token bucket); a page polls once every 3 s.</summary>
    public int PermitsPerSecond { get; set; } = 5;

    public int Burst { get; set; } = 30;
}

/// <summary>What the page polls: the status and whether it counts as paid; the redirect URL only once paid.</summary>
public sealed record CheckoutStatusResponse(string Status, DateTimeOffset ExpiresAt, bool Paid, string Amount, string AmountReceived, string? RedirectUrl);

/// <summary>
/// The payer's hosted checkout page, <c>{PublicBaseUrl}/checkout/{id}</c>: public (the unguessable payment id is the only
/// credential, and the routes never run signature authentication), server-rendered, strict CSP with a per-response nonce.
/// </summary>
public static partial class CheckoutApi
{
    public const string RateLimit = "checkout";

    public static IServiceCollection AddMollyCheckout(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<CheckoutOptions>().Bind(configuration.GetSection(CheckoutOptions.Section))
            .Validate(o => o.PermitsPerSecond > 0 && o.Burst > 0, "Molly:Checkout:PermitsPerSecond and Burst must be positive.")
            .ValidateOnStart();
        services.AddRateLimiter(o => o.AddPolicy<string, ClientIpPolicy>(RateLimit));
        return services;
    }

    public static IEndpointRouteBuilder MapCheckout(this IEndpointRouteBuilder app)
    {
        var checkout = app.MapGroup("/checkout").AllowAnonymous().WithoutSignatureAuthentication().RequireRateLimiting(RateLimit)
            .WithTags("Checkout").ProducesProblem(StatusCodes.Status429TooManyRequests);
        checkout.MapGet("/{id}", Page).WithName("CheckoutPage")
            .WithSummary("The payer's checkout page (HTML; ?lang=en|zh|ja|nl, else Accept-Language); an unknown id is a 404 page.")
            .Produces<string>(StatusCodes.Status200OK, "text/html").Produces<string>(StatusCodes.Status404NotFound, "text/html");
        checkout.MapGet("/{id}/status", Status).WithName("CheckoutStatus")
            .WithSummary("The payment's status for the checkout page's polling (public; cacheable for 1 s).")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    private static async Task<ContentHttpResult> Page(string id, string? lang, HttpContext http, PaymentService payments,
        TimeProvider clock, CancellationToken ct)
    {
        var text = CheckoutText.Choose(lang, http.Request.GetTypedHeaders().AcceptLanguage);
        var nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy =
            $"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; " +
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-store";
        headers.Vary = "Accept-Language";

        var payment = IsPaymentId(id) ? await payments.GetForPayerAsync(id, ct) : null;
        return payment is null
            ? TypedResults.Content(CheckoutPage.RenderNotFound(text, nonce, $"/checkout/{WebUtility.UrlEncode(id)}"), "text/html; charset=utf-8", null, StatusCodes.Status404NotFound)
            : TypedResults.Content(CheckoutPage.Render(payment, text, nonce, clock.GetUtcNow()), "text/html; charset=utf-8");
    }

    private static async Task<Results<Ok<CheckoutStatusResponse>, ProblemHttpResult>> Status(string id, HttpContext http, PaymentService payments, CancellationToken ct)
    {
        var payment = IsPaymentId(id) ? await payments.GetForPayerAsync(id, ct) : null;
        if (payment is null) return AdminApi.NotFound("payment", id);
        var paid = CheckoutPage.IsPaid(payment.Status);
        http.Response.Headers.CacheControl = "public, max-age=1";
        return TypedResults.Ok(new CheckoutStatusResponse(payment.Status, payment.ExpiresAt, paid, payment.Amount, payment.AmountReceived,
            paid ? CheckoutPage.SafeRedirect(payment.RedirectUrl) : null));
    }

    /// <summary>What <see cref="PaymentService"/> makes: "pay_", 12 hex digits of milliseconds, 20 hex digits of randomness.</summary>
    [GeneratedRegex("^pay_[0-9a-f]{32}$", RegexOptions.CultureInvariant)]
    private static partial Regex PaymentIdPattern();

    private static bool IsPaymentId(string id) => PaymentIdPattern().IsMatch(id);

    /// <summary>
    /// The client's IP. On one machine that is the connection's address; behind API Gateway and the Lambda Web Adapter every
    /// connection comes from the adapter, so it is the last X-Forwarded-For entry (the one API Gateway appended; earlier entries
    /// are whatever the client sent).
    /// </summary>
    internal static string ClientIp(HttpContext context, RuntimeMode mode)
    {
        if (mode == RuntimeMode.Aws && context.Request.Headers["X-Forwarded-For"].ToString() is { Length: > 0 } forwarded)
            return forwarded.Split(',')[^1].Trim();
        return context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
    }

    /// <summary>One token bucket per client IP (<see cref="ClientIp"/>).</summary>
    private sealed class ClientIpPolicy(IOptions<CheckoutOptions> options, IOptions<MollyOptions> molly, TimeProvider time) : IRateLimiterPolicy<string>
    {
        public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected { get; } = async (ctx, _) =>
        {
            var seconds = ctx.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 1;
            ctx.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            await TypedResults.Problem($"Too many checkout requests from this address; retry after {seconds} s.",
                statusCode: StatusCodes.Status429TooManyRequests, title: "Too Many Requests").ExecuteAsync(ctx.HttpContext);
        };

        public RateLimitPartition<string> GetPartition(HttpContext context)
        {
            var o = options.Value;
            return RateLimitPartition.Get($"checkout:{ClientIp(context, molly.Value.Mode)}", _ => new TokenBucket(time, o.PermitsPerSecond, o.Burst));
        }

    }
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(CheckoutStatusResponse))]
[System.Text.Json.Serialization.JsonSerializable(typeof(CheckoutScriptData))]
internal sealed partial class CheckoutJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
