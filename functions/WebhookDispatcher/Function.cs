using Amazon.DynamoDBv2;
using Amazon.KeyManagementService;
using Molly.Secrets.Kms;
using Molly.Storage;
using Molly.Storage.DynamoDb;
using Molly.Webhooks;

namespace Molly.Functions.WebhookDispatcher;

/// <summary>
/// The Lambda entry (managed dotnet10 runtime, no Amazon.Lambda packages: the runtime calls <see cref="Handle"/> with the raw
/// event). Configuration from the environment the CDK construct sets: <c>Molly__Store__TableName</c>, <c>AWS_REGION</c> and
/// <c>Molly__Secrets__KmsKeyId</c> (the envelope key; missing = the function refuses to start). Webhook options are the defaults.
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
        // Endpoint signing secrets are stored encrypted under the stack's envelope KMS key (the same protector as the Api).
        var secrets = new KmsSecretsOptions { KmsKeyId = Environment.GetEnvironmentVariable("Molly__Secrets__KmsKeyId") };
        var credentials = Amazon.Runtime.Credentials.DefaultAWSCredentialsIdentityResolver.GetCredentials();
        var clock = TimeProvider.System;
        var protector = new KmsEnvelopeSecretProtector(new AmazonKeyManagementServiceClient(credentials), secrets, clock);
        var store = DynamoDbItemStore.Create(new AmazonDynamoDBClient(credentials), table, credentials,
            new HttpClient { Timeout = TimeSpan.FromSeconds(30) }, clock);
        return Create(store, protector, new WebhookOptions(), clock, Console.Out);
    }
}
