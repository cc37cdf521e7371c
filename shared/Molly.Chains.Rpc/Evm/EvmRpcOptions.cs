using Microsoft.Extensions.Options;

namespace Molly.Chains.Rpc.Evm;

/// <summary>
/// One EVM chain's JSON-RPC client settings. Endpoints are tried in order; a failing one is skipped for
/// <see cref="EndpointCooldown"/>. Endpoint URLs may carry provider API keys: they are never logged or put in exception
/// messages whole (see <see cref="EvmRpcEndpoint.Redacted"/>).
/// </summary>
public sealed class EvmRpcOptions
{
    /// <summary>http(s) URLs of the chain's nodes, preferred first.</summary>
    public List<string> Endpoints { get; set; } = [];

    /// <summary>Per HTTP request (one attempt on one endpoint).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries after the first round over the endpoints fails (each round tries every endpoint once).</summary>
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>First backoff between rounds; doubles per round with jitter, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long an endpoint that failed is tried only after the healthy ones.</summary>
    public TimeSpan EndpointCooldown { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Requests per JSON-RPC batch (providers cap batches; 100 is a common limit).</summary>
    public int MaxBatchSize { get; set; } = 100;

    /// <summary>Blocks per eth_getLogs call; larger ranges are split (and split again on the node's "range too large" errors).</summary>
    public ulong MaxLogBlockRange { get; set; } = 2000;

    /// <summary>Contract addresses per eth_getLogs call; larger address sets are sent in batches of this size.</summary>
    public int MaxLogAddresses { get; set; } = 500;

    /// <summary>Lower-case fragments of node error messages that mean "narrow the eth_getLogs query" (providers word it differently).</summary>
    public List<string> LogRangeErrorHints { get; set; } =
        ["block range", "range too large", "too many", "more than", "limit exceeded", "response size", "exceed"];

    /// <summary>Largest response body read, so a broken endpoint cannot exhaust memory.</summary>
    public long MaxResponseBytes { get; set; } = 64 * 1024 * 1024;
}

public sealed class EvmRpcOptionsValidator : IValidateOptions<EvmRpcOptions>
{
    public static readonly EvmRpcOptionsValidator Instance = new();

    public ValidateOptionsResult Validate(string? name, EvmRpcOptions o)
    {
        var errors = new List<string>();
        if (o.Endpoints.Count == 0) errors.Add("Endpoints: at least one EVM JSON-RPC endpoint is required.");
        for (var i = 0; i < o.Endpoints.Count; i++)
        {
            if (!Uri.TryCreate(o.Endpoints[i], UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
                errors.Add($"Endpoints[{i}] must be an absolute http(s) URL."); // the value itself may hold an API key: not echoed
        }
        if (o.RequestTimeout <= TimeSpan.Zero || o.RequestTimeout > TimeSpan.FromMinutes(5)) errors.Add("RequestTimeout must be between 0 and 5 minutes.");
        if (o.MaxRetryAttempts is < 0 or > 20) errors.Add("MaxRetryAttempts must be 0..20.");
        if (o.RetryBaseDelay < TimeSpan.Zero || o.RetryBaseDelay > o.MaxRetryDelay) errors.Add("RetryBaseDelay must be between 0 and MaxRetryDelay.");
        if (o.MaxRetryDelay > TimeSpan.FromMinutes(5)) errors.Add("MaxRetryDelay must be at most 5 minutes.");
        if (o.EndpointCooldown < TimeSpan.Zero) errors.Add("EndpointCooldown must not be negative.");
        if (o.MaxBatchSize is < 1 or > 10_000) errors.Add("MaxBatchSize must be 1..10000.");
        if (o.MaxLogBlockRange < 1) errors.Add("MaxLogBlockRange must be at least 1.");
        if (o.MaxLogAddresses < 1) errors.Add("MaxLogAddresses must be at least 1.");
        if (o.MaxResponseBytes < 1024) errors.Add("MaxResponseBytes must be at least 1024.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Throws <see cref="OptionsValidationException"/> listing every problem (for code that builds options by hand).</summary>
    public static void ThrowIfInvalid(EvmRpcOptions options)
    {
        var result = Instance.Validate(null, options);
        if (result.Failed) throw new OptionsValidationException(nameof(EvmRpcOptions), typeof(EvmRpcOptions), result.Failures);
    }
}

/// <summary>An endpoint and the form of it that is safe to print (scheme, host and port; path and query may hold a key).</summary>
public sealed record EvmRpcEndpoint(Uri Uri)
{
    public string Redacted { get; } = Redact(Uri);

    public static string Redact(Uri uri)
    {
        var hidden = uri.AbsolutePath.Length > 1 || uri.Query.Length > 0 || uri.UserInfo.Length > 0;
        return $"{uri.Scheme}://{uri.Host}:{uri.Port}" + (hidden ? "/***" : "");
    }

    public override string ToString() => Redacted;
}
