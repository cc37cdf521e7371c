using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Molly.Api.Hosting;

namespace Molly.Api.Http;

/// <summary>
/// Reads every request body into memory, up to <see cref="MollyOptions.MaxRequestBodyBytes"/> (larger: 413 problem, before
/// authentication or any handler runs, so nothing is written). The buffered body is what the signature covers and what the
/// JSON binder reads. Works the same under Kestrel, the Lambda Web Adapter and TestServer.
/// </summary>
public sealed class RequestBodyBuffer(RequestDelegate next, IOptions<MollyOptions> options, IProblemDetailsService problems)
{
    private static readonly object BufferKey = new();

    public async Task InvokeAsync(HttpContext context)
    {
        var limit = options.Value.MaxRequestBodyBytes;
        var request = context.Request;
        if (request.ContentLength > limit)
        {
            await TooLarge(context, limit);
            return;
        }

        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false }) sizeFeature.MaxRequestBodySize = limit + 1L;

        // Bodies are small and usually announce their length: read those into an array of that size (a GET reads nothing);
        // a body of unknown length (chunked) grows a MemoryStream from a pooled chunk.
        MemoryStream buffer;
        if (request.ContentLength is { } length)
        {
            var bytes = length == 0 ? [] : new byte[length];
            var filled = 0;
            int read;
            while (filled < bytes.Length && (read = await request.Body.ReadAsync(bytes.AsMemory(filled), context.RequestAborted)) > 0)
                filled += read;
            buffer = new MemoryStream(bytes, 0, filled, writable: false, publiclyVisible: true);
        }
        else
        {
            buffer = new MemoryStream();
            var chunk = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
            try
            {
                int read;
                while ((read = await request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
                {
                    if (buffer.Length + read > limit)
                    {
                        await TooLarge(context, limit);
                        return;
                    }
                    buffer.Write(chunk, 0, read);
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(chunk);
            }
            buffer.Position = 0;
        }
        context.Items[BufferKey] = buffer;
        request.Body = buffer;
        await next(context);
    }

    /// <summary>The buffered body (empty when the request had none).</summary>
    public static ReadOnlyMemory<byte> Buffered(HttpContext context) =>
        context.Items[BufferKey] is MemoryStream ms ? new ReadOnlyMemory<byte>(ms.GetBuffer(), 0, (int)ms.Length) : ReadOnlyMemory<byte>.Empty;

    private Task TooLarge(HttpContext context, int limit) =>
        ProblemResponses.WriteAsync(problems, context, StatusCodes.Status413PayloadTooLarge, "Request body too large",
            $"The request body exceeds {limit} bytes.", "body_too_large");
}

/// <summary>Writes RFC 9457 problem details with an optional machine-readable <c>reason</c>.</summary>
public static class ProblemResponses
{
    public static async Task WriteAsync(IProblemDetailsService problems, HttpContext context, int status, string title, string detail, string? reason)
    {
        context.Response.StatusCode = status;
        var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails { Status = status, Title = title, Detail = detail };
        if (reason is not null) problem.Extensions["reason"] = reason;
        await problems.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
    }
}
