using Molly.Storage;
using Molly.Webhooks;

namespace Molly.Functions.WebhookDispatcher;

/// <summary>
/// The Lambda entry (managed dotnet10 runtime, no Amazon.Lambda packages: the runtime calls <see cref="Handle"/> with the raw
/// event). Configuration from the environment the CDK construct sets: <c>Molly__Store__TableName</c>, <c>AWS_REGION</c>,
/// and <c>Molly__Webhooks__*</c> overrides.
/// </summary>
public sealed class Function
{
    /// <summary>A scheduled invocation stops starting passes after this long (the function's timeout is 60 s).</summary>
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(40);

    private readonly WebhookFunction _function;

    /// <summary>Used by the Lambda runtime.</summary>
    public Function() : this(FromEnvironment()) { }

    internal Function(WebhookFunction function) => _function = function;

    public Task<Stream> Handle(Stream input) => _function.HandleAsync(input, CancellationToken.None);

    internal static WebhookFunction Create(IItemStore store, ISecretProtector protector, WebhookOptions options, TimeProvider clock, TextWriter log,
        SsrfGuard? guard = null)
    {
        var errors = options.Validate();
        if (errors.Count > 0) throw new InvalidOperationException(string.Join(" ", errors));
        guard ??= new SsrfGuard(options.AllowHttpLoopback);
        var endpoints = new WebhookEndpoints(store, protector, guard, options, clock);
        var dispatcher = new Molly.Webhooks.WebhookDispatcher(store, endpoints, Molly.Webhooks.WebhookDispatcher.CreateHttpClient(guard, options), guard, options, clock);
        return new WebhookFunction(new WebhookDeliveries(store, clock), dispatcher, clock, log, Budget);
    }

    private static WebhookFunction FromEnvironment()
    {
        var table = Environment.GetEnvironmentVariable("Molly__Store__TableName")
                    ?? throw new InvalidOperationException("Molly__Store__TableName is not set.");
        // Endpoint signing secrets are stored encrypted (ISecretProtector). On AWS that is the KMS envelope protector, which
        // the Api lacks too (MollyServices: "Molly:Mode Aws needs a KMS secret protector"). Until it exists this entry
        // refuses to start rather than send unsigned or mis-signed webhooks.
        throw new NotSupportedException($"WebhookDispatcher on table {table} needs the KMS secret protector (not implemented yet).");
    }
}
