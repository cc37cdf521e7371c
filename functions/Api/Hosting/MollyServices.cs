using Microsoft.Extensions.Options;
using Molly.Api.Model;
using Molly.Api.Security;
using Molly.Deposits;
using Molly.Settlement;
using Molly.Workflows;
using Molly.Storage;
using Molly.Storage.DynamoDb;
using Molly.Storage.Sqlite;

namespace Molly.Api.Hosting;

/// <summary>Composition of the API: options, store, secrets, authentication, and (local mode) the in-process workers.</summary>
public static class MollyServices
{
    public static IServiceCollection AddMolly(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MollyOptions>().Bind(configuration.GetSection(MollyOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<MollyOptions>, MollyOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<DataDirectory>();
        services.AddSingleton<IItemStore>(CreateStore);
        services.AddSingleton<IChangeFeedCheckpoints, ItemStoreCheckpoints>();
        // Mode Aws: KMS envelope encryption; the client takes region and credentials from the environment (the Lambda role).
        services.AddSingleton<Amazon.KeyManagementService.IAmazonKeyManagementService>(_ => new Amazon.KeyManagementService.AmazonKeyManagementServiceClient());
        services.AddSingleton<ISecretProtector>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<MollyOptions>>().Value;
            return options.Mode == RuntimeMode.Local
                ? new LocalKeyFileSecretProtector(sp.GetRequiredService<DataDirectory>())
                : new Molly.Secrets.Kms.KmsEnvelopeSecretProtector(sp.GetRequiredService<Amazon.KeyManagementService.IAmazonKeyManagementService>(),
                    options.Secrets, sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<ApiKeys>();
        services.AddSingleton<Merchants>();

        services.AddAuthentication(SignatureAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, SignatureAuthenticationHandler>(
                SignatureAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Admin, p => p.RequireAuthenticatedUser().RequireRole(Roles.Admin))
            .AddPolicy(Policies.Merchant, p => p.RequireAuthenticatedUser().RequireRole(Roles.Merchant))
            .AddPolicy(Policies.AnyPrincipal, p => p.RequireAuthenticatedUser());

        var mode = configuration.GetSection(MollyOptions.Section).GetValue(nameof(MollyOptions.Mode), RuntimeMode.Local);
        if (mode == RuntimeMode.Local) services.AddLocalWorkers();
        return services;
    }

    /// <summary>
    /// Local mode only: everything that on AWS is a separate function runs here as a hosted service: the chain watchers, the
    /// webhook dispatcher, and deposit-confirm (the engine plus the change-feed consumer that starts it).
    /// </summary>
    public static IServiceCollection AddLocalWorkers(this IServiceCollection services)
    {
        services.AddHostedService<AdminBootstrap>();
        // The chain watcher: one loop per chain in Molly:Evm:Chains (none configured: nothing runs).
        services.AddSingleton<IEvmRpcFactory, EvmRpcClients>();
        services.AddEvmChainWatchers();
        services.AddHostedService<Webhooks.WebhookWorker>(); // the WebhookDispatcher function (fan-out + due deliveries)
        services.AddLocalDepositConfirm();
        return services;
    }

    /// <summary>
    /// deposit-confirm on one machine: the engine (workflows copied beside the host), the five task handlers by name, and the
    /// change-feed consumer that starts an execution for each new deposit item, as the stream + EventBridge Pipe do on AWS.
    /// Node clients come from <c>Molly:Evm:Chains</c> (chain name and endpoints, the watcher's section).
    /// </summary>
    private static IServiceCollection AddLocalDepositConfirm(this IServiceCollection services)
    {
        services.AddOptions<SettlementOptions>().BindConfiguration(SettlementOptions.Section)
            .Validate(o => { o.Validate(); return true; }, "Molly:Settlement is invalid.").ValidateOnStart();
        services.AddSingleton(sp => new DepositConfirmTasks(
            sp.GetRequiredService<IItemStore>(), sp.GetRequiredService<Molly.Ledger.Ledger>(), sp.GetRequiredService<Molly.Domain.AssetRegistry>(),
            SettlementServices.EvmNodes(sp.GetRequiredService<IConfiguration>(), sp.GetRequiredService<TimeProvider>()),
            sp.GetRequiredService<IOptions<SettlementOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        services.AddWorkflowEngine(Path.Combine(AppContext.BaseDirectory, "workflows"));
        services.AddDepositConfirm();
        return services;
    }

    private static IItemStore CreateStore(IServiceProvider sp)
    {
        var options = sp.GetRequiredService<IOptions<MollyOptions>>().Value;
        var log = sp.GetRequiredService<ILoggerFactory>().CreateLogger("Molly.Store");
        var time = sp.GetRequiredService<TimeProvider>();
        switch (options.Store.Kind)
        {
            case StoreKind.DynamoDb:
            {
                // Credentials and region from the environment (the Lambda role on AWS); ServiceUrl for DynamoDB Local.
                var credentials = Amazon.Runtime.Credentials.DefaultAWSCredentialsIdentityResolver.GetCredentials();
                var config = new Amazon.DynamoDBv2.AmazonDynamoDBConfig();
                if (options.Store.Region is { } region) config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region);
                if (options.Store.ServiceUrl is { } url)
                {
                    config.ServiceURL = url;
                    config.AuthenticationRegion = options.Store.Region ?? "us-east-1";
                }
                return DynamoDbItemStore.Create(new Amazon.DynamoDBv2.AmazonDynamoDBClient(credentials, config), options.Store.TableName!,
                    credentials, new HttpClient { Timeout = TimeSpan.FromSeconds(30) }, time);
            }
            default:
            {
                var dataDir = sp.GetRequiredService<DataDirectory>();
                dataDir.EnsureExists();
                var path = dataDir.File(options.Store.SqliteFile);
                log.LogInformation("Item store: SQLite at {SqlitePath}", path);
                return SqliteItemStore.Open(new SqliteItemStoreOptions
                {
                    Path = path,
                    IndexFlushEntries = options.Store.SqliteIndexFlushEntries,
                    IndexFlushInterval = options.Store.SqliteIndexFlushInterval,
                    CheckpointInterval = options.Store.SqliteCheckpointInterval,
                }, time);
            }
        }
    }
}
