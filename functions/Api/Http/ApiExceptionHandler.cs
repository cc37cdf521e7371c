using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Molly.Storage;

namespace Molly.Api.Http;

/// <summary>
/// Turns exceptions into problem details: request-binding failures (malformed JSON, unknown or missing fields, wrong
/// content type) into 4xx with the reason, an unreachable store into 503, anything else into a 500 that reveals nothing.
/// </summary>
public sealed class ApiExceptionHandler(IProblemDetailsService problems, ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        switch (exception)
        {
            case BadHttpRequestException bad:
                await ProblemResponses.WriteAsync(problems, context, bad.StatusCode, Title(bad.StatusCode), Describe(bad), ReasonFor(bad));
                return true;
            case StoreUnavailableException:
                logger.LogWarning(exception, "Item store unavailable");
                await ProblemResponses.WriteAsync(problems, context, StatusCodes.Status503ServiceUnavailable, "Service unavailable",
                    "The data store is unavailable; retry the request.", "store_unavailable");
                return true;
            default:
                logger.LogError(exception, "Unhandled exception on {Method} {Path}", context.Request.Method, context.Request.Path);
                await ProblemResponses.WriteAsync(problems, context, StatusCodes.Status500InternalServerError, "Internal server error",
                    "An unexpected error occurred.", "internal_error");
                return true;
        }
    }

    private static string Title(int status) => status switch
    {
        StatusCodes.Status413PayloadTooLarge => "Request body too large",
        StatusCodes.Status415UnsupportedMediaType => "Unsupported media type",
        _ => "Bad request",
    };

    private static string? ReasonFor(BadHttpRequestException bad) => bad.InnerException switch
    {
        JsonException => "invalid_json",
        _ when bad.StatusCode == StatusCodes.Status415UnsupportedMediaType => "unsupported_media_type",
        _ when bad.StatusCode == StatusCodes.Status413PayloadTooLarge => "body_too_large",
        _ => "bad_request",
    };

    /// <summary>The JSON reader's own message names the problem and its path (e.g. an unknown property, a missing
    /// required one, a syntax error at a position); binding messages name the parameter.</summary>
    private static string Describe(BadHttpRequestException bad) => bad.InnerException switch
    {
        JsonException json => "The request body is not acceptable JSON: " + json.Message,
        _ => bad.Message,
    };
}
