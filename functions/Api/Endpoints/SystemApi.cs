using System.Diagnostics;
using System.Reflection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Molly.Api.Hosting;
using Molly.Api.Model;
using Molly.Storage;

namespace Molly.Api.Endpoints;

/// <summary>Liveness and diagnostics.</summary>
public static class SystemApi
{
    /// <summary>The consumer whose checkpoint the change-feed lag is measured against.</summary>
    public const string FeedConsumer = "local-workers";

    public static IEndpointRouteBuilder MapSystemApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", () => TypedResults.Ok(new HealthResponse("ok"))).AllowAnonymous();
        app.MapGet("/v1/diagnostics", Diagnostics).RequireAuthorization(Policies.Admin);
        return app;
    }

    private static async Task<Ok<DiagnosticsResponse>> Diagnostics(
        IItemStore store, IChangeFeedCheckpoints checkpoints, IOptions<MollyOptions> options, TimeProvider clock, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        string? storeError = null;
        try
        {
            await store.GetAsync(TableKeys.DiagnosticsProbe, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            storeError = e.GetType().Name;
        }
        var latency = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        var feed = await FeedLagAsync(store, checkpoints, clock, ct);
        var (version, hash) = BuildInfo();
        var healthy = storeError is null && feed.Error is null;
        return TypedResults.Ok(new DiagnosticsResponse(healthy ? "ok" : "degraded", options.Value.Mode.ToString(), version, hash,
            new StoreDiagnostics(options.Value.Store.Kind.ToString(), storeError is null, Math.Round(latency, 3), storeError),
            feed, clock.GetUtcNow()));
    }

    /// <summary>Reads the oldest change after the consumer's checkpoint: its age is the lag (0 when caught up).</summary>
    private static async Task<ChangeFeedDiagnostics> FeedLagAsync(IItemStore store, IChangeFeedCheckpoints checkpoints, TimeProvider clock, CancellationToken ct)
    {
        try
        {
            var checkpoint = await checkpoints.GetAsync(FeedConsumer, ct);
            var batch = await store.ChangeFeed.ReadAsync(checkpoint, 1, ct);
            if (batch.Changes.Count == 0)
                return new ChangeFeedDiagnostics(FeedConsumer, checkpoint, true, null, 0, null);
            var oldest = batch.Changes[0].CommittedAt;
            var lag = Math.Max(0, (clock.GetUtcNow() - oldest).TotalSeconds);
            return new ChangeFeedDiagnostics(FeedConsumer, checkpoint, false, oldest, Math.Round(lag, 3), null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return new ChangeFeedDiagnostics(FeedConsumer, null, false, null, 0, e.GetType().Name);
        }
    }

    /// <summary>Version and commit from the assembly's informational version ("1.0.0+&lt;git sha&gt;", set by SourceRevisionId at build).</summary>
    internal static (string Version, string BuildHash) BuildInfo()
    {
        var info = typeof(SystemApi).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var plus = info.IndexOf('+');
        return plus < 0 ? (info, "unknown") : (info[..plus], info[(plus + 1)..]);
    }
}
