using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Molly.Chains.Rpc.Evm;
using Molly.Storage;
using Molly.Workflows;

namespace Molly.Settlement;

/// <summary>One deposit-confirm task as the engine's DI-registered handler (the engine resolves <c>${NameArn}</c> to <see cref="Name"/>).</summary>
public sealed class DepositConfirmTaskHandler(string name, DepositConfirmTasks tasks) : IWorkflowTaskHandler
{
    public string Name { get; } = name;

    public Task<JsonNode?> HandleAsync(JsonNode? input, WorkflowTaskContext context, CancellationToken ct) =>
        tasks.Handlers[Name](input, context, ct);
}

/// <summary>Runs the <see cref="DepositConfirmStarter"/> consumer for the life of the local host (at least once; the engine
/// starts an execution name once, so a replay starts nothing twice).</summary>
public sealed class DepositConfirmStarterService(IItemStore store, WorkflowEngine engine, TimeProvider time, ILogger<DepositConfirmStarterService> log)
    : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        new DepositConfirmStarter(engine).CreateConsumer(store, new ChangeFeedConsumerOptions
        {
            PollInterval = TimeSpan.FromMilliseconds(250),
            OnError = (e, _) =>
            {
                log.LogError(e, "Consumer {Consumer} failed a pass; the batch is delivered again", DepositConfirmStarter.ConsumerName);
                return Task.CompletedTask;
            },
        }, time).RunAsync(stoppingToken);
}

public static class SettlementServices
{
    private static readonly HttpClient EvmHttp = new() { Timeout = Timeout.InfiniteTimeSpan }; // per-request timeouts are the client's

    /// <summary>The node client of each chain in <c>Molly:Evm:Chains</c> (the watcher's section: Chain and Endpoints), by chain name.</summary>
    public static Dictionary<string, IEvmRpc> EvmNodes(IConfiguration configuration, TimeProvider time)
    {
        var nodes = new Dictionary<string, IEvmRpc>(StringComparer.Ordinal);
        foreach (var chain in configuration.GetSection("Molly:Evm:Chains").GetChildren())
        {
            var name = chain["Chain"];
            var endpoints = chain.GetSection("Endpoints").GetChildren().Select(e => e.Value!).Where(e => !string.IsNullOrEmpty(e)).ToList();
            if (string.IsNullOrEmpty(name) || endpoints.Count == 0) continue; // the watcher's validation reports such an entry
            nodes[name] = new EvmRpcClient(EvmHttp, new EvmRpcOptions { Endpoints = endpoints }, time);
        }
        return nodes;
    }

    /// <summary>
    /// The local host's half of deposit-confirm: the five task handlers registered by name for the engine, and the consumer
    /// that starts deposit-confirm for each new deposit. The caller registers <see cref="DepositConfirmTasks"/> (with its store,
    /// ledger, asset registry and node clients) and the engine (<c>AddWorkflowEngine</c>).
    /// </summary>
    public static IServiceCollection AddDepositConfirm(this IServiceCollection services)
    {
        foreach (var name in (string[])[DepositConfirmTasks.CheckConfirmations, DepositConfirmTasks.VerifyCanonical,
                     DepositConfirmTasks.CreditPayment, DepositConfirmTasks.UndoDetection, DepositConfirmTasks.MarkForReview])
            services.AddSingleton<IWorkflowTaskHandler>(sp => new DepositConfirmTaskHandler(name, sp.GetRequiredService<DepositConfirmTasks>()));
        services.AddHostedService<DepositConfirmStarterService>();
        return services;
    }
}
