using System.Text.Json;
using System.Text.Json.Serialization;
using Amazon.DynamoDBv2;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Molly.Deposits;
using Molly.Domain;
using Molly.Storage;
using Molly.Storage.DynamoDb;

namespace Molly.ChainWatcher;

/// <summary>
/// The chain watcher on AWS: an EventBridge schedule (every minute) invokes <see cref="Handle"/>, which runs a bounded
/// catch-up per configured EVM chain (passes until the head, or the time budget) and answers what it did. The watchers, and
/// so their in-memory address indexes, live as long as the Lambda instance: a warm invocation only refreshes the index.
/// Reserved concurrency 1 (CDK) keeps one instance per deployment; the cursor's version stops a second one anyway.
/// Configuration: <c>Molly__Evm__Chains__0__Chain</c>, <c>..__Endpoints__0</c>, <c>Molly__Store__TableName</c>,
/// <c>Molly__ChainWatcher__BudgetSeconds</c> (default 40, under the function's 60 s timeout).
/// </summary>
public sealed class Function
{
    private static readonly Lazy<WatcherRuntime> FromEnvironment = new(WatcherRuntime.FromEnvironment);
    private readonly WatcherRuntime _runtime;

    public Function() : this(FromEnvironment.Value) { }

    internal Function(WatcherRuntime runtime) => _runtime = runtime;

    public async Task<Stream> Handle(Stream input)
    {
        var scheduled = await JsonSerializer.DeserializeAsync(input, ChainWatcherJson.Default.ScheduledEvent).ConfigureAwait(false);
        if (scheduled is not { Source: "aws.events", DetailType: "Scheduled Event" })
            throw new InvalidDataException(
                $"The chain watcher runs on an EventBridge schedule; got source '{scheduled?.Source}', detail-type '{scheduled?.DetailType}'.");

        using var cts = new CancellationTokenSource(_runtime.Budget + TimeSpan.FromSeconds(10));
        var started = _runtime.Clock.GetUtcNow();
        var results = await Task.WhenAll(_runtime.Watchers.Select(async watcher =>
        {
            var passes = await watcher.CatchUpAsync(maxPasses: 1000, _runtime.Budget, cts.Token).ConfigureAwait(false);
            var now = _runtime.Clock.GetUtcNow();
            var caughtUp = passes.Count > 0 && passes[^1].CaughtUp;
            // Seconds since this instance last saw the head (0 when it is there now); the ChainWatcherLag alarm reads it.
            var lag = caughtUp ? 0 : (now - (watcher.CaughtUpAt ?? started)).TotalSeconds;
            _runtime.Metrics.WriteLine(JsonSerializer.Serialize(new LagMetric(
                new EmfMetadata(now.ToUnixTimeMilliseconds(), [new EmfDirective("Molly", [["Environment"]], [new EmfMetric("ChainWatcherLagSeconds", "Seconds")])]),
                _runtime.Environment, watcher.Name, Math.Round(lag, 1)), ChainWatcherJson.Default.LagMetric));
            return new ChainResult(watcher.Name, passes.Count, passes.Sum(p => p.Blocks), passes.Sum(p => p.Deposits),
                passes.Sum(p => p.Orphaned), caughtUp);
        })).ConfigureAwait(false);

        var output = new MemoryStream();
        await JsonSerializer.SerializeAsync(output, new WatchResult(scheduled.Id, results), ChainWatcherJson.Default.WatchResult).ConfigureAwait(false);
        output.Position = 0;
        return output;
    }
}

/// <summary>What a Lambda instance keeps between invocations: the store, and one watcher per configured chain.</summary>
internal sealed class WatcherRuntime
{
    public WatcherRuntime(IItemStore store, IEvmRpcFactory rpcs, EvmWatcherOptions options, AssetRegistry assets, TimeProvider clock,
        ILoggerFactory logs, TimeSpan budget, string environment = "local", TextWriter? metrics = null)
    {
        Clock = clock;
        Environment = environment;
        Metrics = metrics ?? Console.Out;
        var validation = new EvmWatcherOptionsValidator().Validate(null, options);
        if (validation.Failed) throw new OptionsValidationException(EvmWatcherOptions.Section, typeof(EvmWatcherOptions), validation.Failures);
        Budget = budget;
        Watchers = options.Chains.Select(c => new EvmChainWatcher(store, rpcs.Create(c), c, assets, clock,
            logs.CreateLogger($"Molly.Deposits.EvmChainWatcher.{c.Chain}"))).ToList();
    }

    public IReadOnlyList<EvmChainWatcher> Watchers { get; }

    public TimeSpan Budget { get; }

    public TimeProvider Clock { get; }

    /// <summary>The deployment (dev, prod): the dimension of the metrics.</summary>
    public string Environment { get; }

    /// <summary>Where CloudWatch embedded-metric-format lines go (stdout on Lambda).</summary>
    public TextWriter Metrics { get; }

    public static WatcherRuntime FromEnvironment()
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var options = configuration.GetSection(EvmWatcherOptions.Section).Get<EvmWatcherOptions>() ?? new EvmWatcherOptions();
        var table = configuration["Molly:Store:TableName"]
            ?? throw new InvalidOperationException("Molly__Store__TableName is not set.");
        var budget = TimeSpan.FromSeconds(configuration.GetValue("Molly:ChainWatcher:BudgetSeconds", 40));
        var logs = LoggerFactory.Create(b => b.AddJsonConsole());
        var credentials = Amazon.Runtime.Credentials.DefaultAWSCredentialsIdentityResolver.GetCredentials();
        var store = DynamoDbItemStore.Create(new AmazonDynamoDBClient(credentials), table, credentials,
            new HttpClient { Timeout = TimeSpan.FromSeconds(30) }, TimeProvider.System);
        var assets = AssetRegistry.ForNetworks(options.Chains.Select(c => c.Network).Distinct().ToList());
        return new WatcherRuntime(store, new EvmRpcClients(TimeProvider.System, logs), options, assets, TimeProvider.System, logs, budget,
            configuration["Molly:Environment"] ?? "unknown");
    }
}

internal sealed record ScheduledEvent(
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("source")] string? Source,
    [property: JsonPropertyName("detail-type")] string? DetailType);

internal sealed record ChainResult(string Chain, int Passes, int Blocks, int Deposits, int Orphaned, bool CaughtUp);

internal sealed record WatchResult(string? EventId, IReadOnlyList<ChainResult> Chains);

/// <summary>A CloudWatch embedded-metric-format record (no SDK call: CloudWatch Logs extracts the metric).</summary>
internal sealed record LagMetric(
    [property: JsonPropertyName("_aws")] EmfMetadata Aws,
    [property: JsonPropertyName("Environment")] string Environment,
    [property: JsonPropertyName("Chain")] string Chain,
    [property: JsonPropertyName("ChainWatcherLagSeconds")] double LagSeconds);

internal sealed record EmfMetadata(
    [property: JsonPropertyName("Timestamp")] long Timestamp,
    [property: JsonPropertyName("CloudWatchMetrics")] IReadOnlyList<EmfDirective> CloudWatchMetrics);

internal sealed record EmfDirective(
    [property: JsonPropertyName("Namespace")] string Namespace,
    [property: JsonPropertyName("Dimensions")] IReadOnlyList<IReadOnlyList<string>> Dimensions,
    [property: JsonPropertyName("Metrics")] IReadOnlyList<EmfMetric> Metrics);

internal sealed record EmfMetric([property: JsonPropertyName("Name")] string Name, [property: JsonPropertyName("Unit")] string Unit);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(ScheduledEvent))]
[JsonSerializable(typeof(WatchResult))]
[JsonSerializable(typeof(LagMetric))]
internal sealed partial class ChainWatcherJson : JsonSerializerContext;
