using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Molly.Testing;

/// <summary>One POST as the receiver saw it.</summary>
public sealed record ReceivedWebhook(
    string Path, string? Signature, string? EventId, string? DeliveryId, string? IsRedelivery, string? ContentType, byte[] Body,
    DateTimeOffset ReceivedAt);

/// <summary>What the receiver answers: a status, after an optional delay, with optional Retry-After / Location headers.</summary>
public sealed record Reply(int Status, TimeSpan Delay = default, string? RetryAfter = null, string? Location = null)
{
    public static Reply Ok { get; } = new(200);
}

/// <summary>
/// A real HTTP server (Kestrel) on 127.0.0.1 and a free port, standing in for a merchant's webhook endpoint. Every POST is
/// recorded; <see cref="Behaviour"/> decides the answer. Stopped (and its port released) on dispose.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();

    private WebhookReceiver(WebApplication app) => _app = app;

    public Func<ReceivedWebhook, Reply> Behaviour { get; set; } = _ => Reply.Ok;

    public IReadOnlyList<ReceivedWebhook> Received => _received.ToArray();

    public int Count => _received.Count;

    public Uri BaseUri { get; private set; } = null!;

    public string Url(string path = "/hook") => new Uri(BaseUri, path).ToString();

    public static async Task<WebhookReceiver> StartAsync(Func<ReceivedWebhook, Reply>? behaviour = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, 0);
            k.Limits.MaxConcurrentConnections = 10_000;
        });
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        if (behaviour is not null) receiver.Behaviour = behaviour;
        app.Run(receiver.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.BaseUri = new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return receiver;
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var h = context.Request.Headers;
        var received = new ReceivedWebhook(context.Request.Path, h["Molly-Signature"].FirstOrDefault(), h["Molly-Event-Id"].FirstOrDefault(),
            h["Molly-Delivery-Id"].FirstOrDefault(), h["Molly-Is-Redelivery"].FirstOrDefault(), context.Request.ContentType, buffer.ToArray(),
            DateTimeOffset.UtcNow);
        _received.Enqueue(received);
        var reply = Behaviour(received);
        if (reply.Delay > TimeSpan.Zero)
        {
            try { await Task.Delay(reply.Delay, context.RequestAborted); }
            catch (OperationCanceledException) { return; }
        }
        context.Response.StatusCode = reply.Status;
        if (reply.RetryAfter is not null) context.Response.Headers.RetryAfter = reply.RetryAfter;
        if (reply.Location is not null) context.Response.Headers.Location = reply.Location;
    }

    /// <summary>Waits (polling, real time) until at least <paramref name="count"/> POSTs arrived; false on timeout.</summary>
    public async Task<bool> WaitForAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (_received.Count < count)
        {
            if (DateTime.UtcNow > deadline) return false;
            await Task.Delay(20);
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
