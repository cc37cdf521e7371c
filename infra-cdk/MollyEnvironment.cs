using Amazon.CDK;
using Constructs;

namespace Molly.Infra;

/// <summary>A hot-wallet balance below which an alarm fires. The value is a whole-coin monitoring threshold, not money.</summary>
public sealed record HotWalletFloor(string Asset, double MinimumBalance);

/// <summary>An EVM chain the chain watcher follows: the asset registry's chain and network, and its JSON-RPC endpoints.</summary>
public sealed record EvmChainSettings(string Chain, string Network, IReadOnlyList<string> Endpoints);

/// <summary>Requests per second and burst for one API Gateway usage plan or stage.</summary>
public sealed record ThrottleLimits(double RatePerSecond, int Burst);

/// <summary>
/// Everything that differs between dev and prod, in one place. The stacks are built from the same code; only this record
/// changes. <see cref="FromContext"/> reads it from CDK context (<c>-c env=dev|prod</c> plus optional overrides).
/// </summary>
public sealed record MollyEnvironment
{
    public required string Name { get; init; }
    public required bool IsProduction { get; init; }

    /// <summary>AWS Lambda Web Adapter layer (arm64). May contain <c>${AWS::Region}</c>/<c>${AWS::Partition}</c>: it is passed through Fn::Sub.</summary>
    public required string WebAdapterLayerArn { get; init; }

    public required int ApiMemoryMb { get; init; }
    public required int ApiTimeoutSeconds { get; init; }

    /// <summary>Null means "no reservation": a new account has only 10 unreserved executions and CloudFormation refuses to go below that.</summary>
    public required int? ApiReservedConcurrency { get; init; }

    /// <summary>EIP-155 chain ids the withdrawal signer may sign for (context <c>signerEvmChainIds</c>, comma-separated):
    /// Ethereum mainnet in prod, Sepolia in dev, unless set.</summary>
    public IReadOnlyList<ulong> SignerEvmChainIds
    {
        get => _signerEvmChainIds ?? (IsProduction ? [1] : [11_155_111]);
        init => _signerEvmChainIds = value.Count > 0 && !value.Contains(0UL) ? value : throw new ArgumentException("Signer chain ids must be one or more ids above 0.");
    }

    private readonly IReadOnlyList<ulong>? _signerEvmChainIds;

    /// <summary>The signer's reserved concurrency: a few in prod (withdrawals are rare; a cap bounds what a runaway caller
    /// can sign), none in dev (a new account's 10 unreserved executions leave no room).</summary>
    public int? SignerReservedConcurrency => IsProduction ? 5 : null;

    public required ThrottleLimits StageThrottle { get; init; }
    public required ThrottleLimits StandardPlanThrottle { get; init; }
    public required ThrottleLimits VipPlanThrottle { get; init; }
    public required int StandardPlanDailyQuota { get; init; }

    public required int LogRetentionDays { get; init; }
    public required IReadOnlyList<HotWalletFloor> HotWalletFloors { get; init; }

    /// <summary>Chain watcher memory and reserved concurrency (1 in prod: one instance follows the chains; null in dev, where a
    /// new account's 10 unreserved executions leave no room, and the cursor's version keeps a second instance harmless).</summary>
    public int ChainWatcherMemoryMb { get; init; } = 1024;
    public int? ChainWatcherReservedConcurrency { get; init; }

    /// <summary>The EVM chains the chain watcher follows (none: it runs and does nothing). Context <c>evmChains</c>:
    /// <c>chain:network=url|url;chain:network=url</c>.</summary>
    public IReadOnlyList<EvmChainSettings> EvmChains { get; init; } = [];

    public string? ApiDomainName { get; init; }
    public string? ApiCertificateArn { get; init; }
    public string? AlarmEmail { get; init; }
    public bool CodeSigning { get; init; }

    /// <summary>Synth with a placeholder bundle when a function's publish folder is absent (tests and offline lint only).</summary>
    public bool AllowPlaceholderCode { get; init; }

    public RemovalPolicy StatefulRemovalPolicy => IsProduction ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    /// <summary>The public LWA layer, published by AWS in every commercial region under one account. Override with -c webAdapterLayerArn=...</summary>
    public const string DefaultWebAdapterLayerArn =
        "arn:${AWS::Partition}:lambda:${AWS::Region}:753240598075:layer:LambdaAdapterLayerArm64:25";

    public static MollyEnvironment Dev => new()
    {
        Name = "dev",
        IsProduction = false,
        WebAdapterLayerArn = DefaultWebAdapterLayerArn,
        ApiMemoryMb = 1024,
        ApiTimeoutSeconds = 29,
        ApiReservedConcurrency = null,
        StageThrottle = new(RatePerSecond: 50, Burst: 100),
        StandardPlanThrottle = new(RatePerSecond: 10, Burst: 20),
        VipPlanThrottle = new(RatePerSecond: 40, Burst: 80),
        StandardPlanDailyQuota = 10_000,
        LogRetentionDays = 14,
        HotWalletFloors = [new("ETH", 0.05), new("BTC", 0.001)],
    };

    public static MollyEnvironment Prod => new()
    {
        Name = "prod",
        IsProduction = true,
        WebAdapterLayerArn = DefaultWebAdapterLayerArn,
        ApiMemoryMb = 1769, // one full vCPU on arm64
        ApiTimeoutSeconds = 29, // API Gateway's integration timeout
        ApiReservedConcurrency = 200,
        StageThrottle = new(RatePerSecond: 1_000, Burst: 2_000),
        StandardPlanThrottle = new(RatePerSecond: 50, Burst: 100),
        VipPlanThrottle = new(RatePerSecond: 500, Burst: 1_000),
        StandardPlanDailyQuota = 1_000_000,
        LogRetentionDays = 365,
        HotWalletFloors = [new("ETH", 2), new("BTC", 0.1), new("SOL", 50), new("TRX", 5_000)],
        ChainWatcherReservedConcurrency = 1,
    };

    /// <summary>"1, 8453": EIP-155 chain ids, comma-separated.</summary>
    public static IReadOnlyList<ulong> ParseChainIds(string text) => text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(id => ulong.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0
            ? n : throw new ArgumentException($"Context 'signerEvmChainIds': '{id}' is not a chain id above 0."))
        .ToList();

    /// <summary>Reads <c>env</c> (dev|prod, required) and the optional overrides from CDK context.</summary>
    public static MollyEnvironment FromContext(Node node)
    {
        var name = node.TryGetContext("env") as string;
        var baseline = name switch
        {
            "dev" => Dev,
            "prod" => Prod,
            _ => throw new ArgumentException($"Context 'env' must be 'dev' or 'prod' (got '{name ?? "<missing>"}'); pass -c env=dev|prod."),
        };
        var domain = Text(node, "apiDomainName");
        var certificate = Text(node, "apiCertificateArn");
        if ((domain is null) != (certificate is null))
            throw new ArgumentException("Contexts 'apiDomainName' and 'apiCertificateArn' go together: set both or neither.");
        return baseline with
        {
            WebAdapterLayerArn = Text(node, "webAdapterLayerArn") ?? baseline.WebAdapterLayerArn,
            ApiDomainName = domain,
            SignerEvmChainIds = Text(node, "signerEvmChainIds") is { } chainIds ? ParseChainIds(chainIds) : baseline.SignerEvmChainIds,
            ApiCertificateArn = certificate,
            AlarmEmail = Text(node, "alarmEmail"),
            CodeSigning = Flag(node, "codeSigning"),
            AllowPlaceholderCode = Flag(node, "allowPlaceholderCode"),
            EvmChains = Text(node, "evmChains") is { } chains ? ParseEvmChains(chains) : baseline.EvmChains,
        };
    }

    /// <summary>"ethereum:mainnet=https://a|https://b;bsc:mainnet=https://c".</summary>
    public static IReadOnlyList<EvmChainSettings> ParseEvmChains(string text) => text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
        .Select(entry =>
        {
            var (name, urls) = entry.Split('=', 2) is [var n, var u] ? (n, u) : throw new ArgumentException($"Context 'evmChains': '{entry}' is not chain:network=url|url.");
            var (chain, network) = name.Split(':') is [var c, var w] ? (c, w) : throw new ArgumentException($"Context 'evmChains': '{name}' is not chain:network.");
            var endpoints = urls.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (endpoints.Length == 0 || endpoints.Any(e => !Uri.TryCreate(e, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
                throw new ArgumentException($"Context 'evmChains': {name} needs absolute http(s) endpoint URLs.");
            return new EvmChainSettings(chain, network, endpoints);
        }).ToList();

    private static string? Text(Node node, string key) =>
        node.TryGetContext(key) is string s && !string.IsNullOrWhiteSpace(s) ? s : null;

    private static bool Flag(Node node, string key) => node.TryGetContext(key) switch
    {
        null => false,
        bool b => b,
        string s when bool.TryParse(s, out var b) => b,
        var other => throw new ArgumentException($"Context '{key}' must be true or false (got '{other}')."),
    };
}
