using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Molly.Chains.Rpc.Evm;
using Molly.Domain;
using Molly.Storage;

namespace Molly.Deposits;

/// <summary>Makes the JSON-RPC client of a configured chain (its endpoints, fail-over and retries are the client's).</summary>
public interface IEvmRpcFactory
{
    IEvmRpc Create(EvmChainOptions chain);
}

/// <summary>
/// The local host's chain watchers: one loop per configured EVM chain (none configured: nothing runs). A chain whose loop
/// stops (a reorg deeper than the window) is logged and left stopped; the other chains and the API go on.
/// </summary>
public sealed class EvmWatcherHost(
    IOptions<EvmWatcherOptions> options,
    IItemStore store,
    IEvmRpcFactory rpcs,
    AssetRegistry assets,
    TimeProvider clock,
    ILoggerFactory logs) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(options.Value.Chains.Select(chain => RunChainAsync(chain, stoppingToken)));

    private async Task RunChainAsync(EvmChainOptions chain, CancellationToken ct)
    {
        var log = logs.CreateLogger($"Molly.Deposits.EvmChainWatcher.{chain.Chain}");
        try
        {
            await Task.Yield(); // start-up does not wait for the first pass
            var watcher = new EvmChainWatcher(store, rpcs.Create(chain), chain, assets, clock, log);
            log.LogInformation("Chain watcher {Chain} running", chain.Name);
            await watcher.RunAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            log.LogCritical(e, "Chain watcher {Chain} stopped", chain.Name);
        }
    }
}

public static class DepositsServices
{
    /// <summary>Binds and validates <c>Molly:Evm</c> (a bad entry fails start-up) and runs <see cref="EvmWatcherHost"/>.
    /// The caller registers an <see cref="IEvmRpcFactory"/>, the store, the asset registry and a TimeProvider.</summary>
    public static IServiceCollection AddEvmChainWatchers(this IServiceCollection services)
    {
        services.AddOptions<EvmWatcherOptions>().BindConfiguration(EvmWatcherOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<EvmWatcherOptions>>(sp => new EvmWatcherOptionsValidator(sp.GetService<AssetRegistry>()));
        services.AddHostedService<EvmWatcherHost>();
        return services;
    }
}

/// <summary>One <see cref="EvmRpcClient"/> per configured chain over a shared HttpClient (timeouts, retries and endpoint
/// fail-over are the client's).</summary>
public sealed class EvmRpcClients(TimeProvider clock, ILoggerFactory logs) : IEvmRpcFactory
{
    private static readonly HttpClient Http = new() { Timeout = Timeout.InfiniteTimeSpan }; // per-request timeouts are the client's

    public IEvmRpc Create(EvmChainOptions chain) =>
        new EvmRpcClient(Http, new EvmRpcOptions { Endpoints = [.. chain.Endpoints] }, clock, logs.CreateLogger<EvmRpcClient>());
}
