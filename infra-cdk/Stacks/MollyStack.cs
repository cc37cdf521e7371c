using Amazon.CDK;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Logs;
using Amazon.CDK.AWS.Signer;
using Constructs;
using Molly.Infra.Constructs;

namespace Molly.Infra.Stacks;

public sealed class MollyStackProps : StackProps
{
    public required MollyEnvironment Settings { get; init; }
    public required string WorkflowsDirectory { get; init; }
    public required string PublishRoot { get; init; }
    public required string PlaceholderCode { get; init; }
}

/// <summary>One environment of Molly. Only composes constructs; every difference between dev and prod is in <see cref="MollyEnvironment"/>.</summary>
public sealed class MollyStack : Stack
{
    /// <summary>Stream records that start deposit-confirm (see <see cref="DepositConfirmStart"/>).</summary>
    public const string DepositDetectedFilter = DepositConfirmStart.Filter;

    /// <summary>
    /// The task handlers of workflows/*.asl.json (placeholder <c>${NameArn}</c>): one Lambda each, all from
    /// functions/WorkflowTasks, told which handler to run by <c>MOLLY_TASK</c>. Not <c>${SignWithdrawalArn}</c>: that task is
    /// the <see cref="Signer"/> function, the only one that runs as the signer role.
    /// </summary>
    public static readonly IReadOnlyList<string> WorkflowTaskNames =
    [
        "CheckConfirmations", "VerifyCanonical", "CreditPayment", "UndoDetection", "MarkForReview",
        "ScreenWithdrawal", "RequestApproval", "BroadcastWithdrawal", "ReleaseWithdrawalHold",
    ];

    /// <summary>The withdrawal-approval task that signs: bound to <see cref="Signer"/>.</summary>
    public const string SignWithdrawalPlaceholder = "SignWithdrawalArn";

    /// <summary>The environment variable (config key Molly:Secrets:KmsKeyId) that names the envelope key to the Api and the WebhookDispatcher.</summary>
    public const string EnvelopeKeyVariable = "Molly__Secrets__KmsKeyId";

    public const string WorkflowTasksHandler = "Molly.WorkflowTasks::Molly.WorkflowTasks.Function::Handle";

    /// <summary>Stream records the webhook fan-out reads: new items whose PK starts with outbox#. A Lambda event filter is
    /// {"pattern": JSON} (what FilterCriteria.Filter builds; written out because jsii cannot marshal nested dictionaries).</summary>
    public const string OutboxInsertPattern = """{"eventName":["INSERT"],"dynamodb":{"Keys":{"PK":{"S":[{"prefix":"outbox#"}]}}}}""";

    public DataTable Data { get; }

    public SigningKeys Keys { get; }
    public MollyFunction ApiFunction { get; }
    public MollyFunction ChainWatcher { get; }
    public MollyFunction WebhookDispatcher { get; }

    /// <summary>By task name (see <see cref="WorkflowTaskNames"/>).</summary>
    public IReadOnlyDictionary<string, MollyFunction> WorkflowTasks { get; }
    public PublicApi Api { get; }
    public Workflows Workflows { get; }
    public EventRouting Events { get; }
    public ReportsBucket Reports { get; }
    public Observability Observability { get; }

    /// <summary>The withdrawal signer: the only function that runs as <see cref="SigningKeys.SignerRole"/> (kms:Sign).</summary>
    public MollyFunction Signer { get; }

    public MollyStack(Construct scope, string id, MollyStackProps props) : base(scope, id, props)
    {
        var s = props.Settings;
        var retention = (RetentionDays)Enum.Parse(typeof(RetentionDays), s.LogRetentionDays switch
        {
            14 => nameof(RetentionDays.TWO_WEEKS),
            365 => nameof(RetentionDays.ONE_YEAR),
            _ => throw new ArgumentException($"Unsupported log retention {s.LogRetentionDays} days"),
        });
        var logRemoval = s.IsProduction ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

        Data = new DataTable(this, "Data", new DataTableProps { DeletionProtection = s.IsProduction, RemovalPolicy = s.StatefulRemovalPolicy });
        Keys = new SigningKeys(this, "Keys", new SigningKeysProps { EnvironmentName = s.Name, RemovalPolicy = s.StatefulRemovalPolicy });
        Reports = new ReportsBucket(this, "Reports", new ReportsBucketProps { RemovalPolicy = s.StatefulRemovalPolicy });

        ICodeSigningConfig? codeSigning = null;
        if (s.CodeSigning)
        {
            var profile = new SigningProfile(this, "SigningProfile", new SigningProfileProps { Platform = Platform.AWS_LAMBDA_SHA384_ECDSA });
            codeSigning = new CodeSigningConfig(this, "CodeSigning", new CodeSigningConfigProps
            {
                SigningProfiles = [profile],
                UntrustedArtifactOnDeployment = s.IsProduction ? UntrustedArtifactOnDeployment.ENFORCE : UntrustedArtifactOnDeployment.WARN,
            });
        }

        var functions = new MollyFunctions(this, "Functions", new FunctionDefaults
        {
            EnvironmentName = s.Name,
            Table = Data.Table,
            PublishRoot = props.PublishRoot,
            PlaceholderCode = props.PlaceholderCode,
            AllowPlaceholderCode = s.AllowPlaceholderCode,
            WebAdapterLayerArn = s.WebAdapterLayerArn,
            LogRetention = retention,
            LogRemovalPolicy = logRemoval,
            CodeSigning = codeSigning,
        });
        // API key secrets and webhook signing secrets are sealed under data keys from the envelope key (KmsEnvelopeSecretProtector).
        var envelopeKey = new Dictionary<string, string> { [EnvelopeKeyVariable] = Keys.Envelope.KeyArn };
        // Mode Aws: no in-process workers, and the Api refuses to start without the envelope key.
        ApiFunction = functions.AddWebFunction("Api", s.ApiMemoryMb, Duration.Seconds(s.ApiTimeoutSeconds), s.ApiReservedConcurrency,
            new Dictionary<string, string>(envelopeKey) { ["Molly__Mode"] = "Aws" });
        Keys.Envelope.GrantEncryptDecrypt(ApiFunction.Function);
        Reports.Bucket.GrantRead(ApiFunction.Function);
        Signer = functions.Add("Signer", new MollyFunctionProps
        {
            Project = "Signer", Handler = SignerSettings.Handler, MemoryMb = SignerSettings.MemoryMb,
            Timeout = Duration.Seconds(SignerSettings.TimeoutSeconds), ReservedConcurrency = s.SignerReservedConcurrency,
            Role = Keys.SignerRole, TableAccess = TableAccess.None, Environment = SignerSettings.Environment(Keys, s.SignerEvmChainIds),
        });

        Api = new PublicApi(this, "PublicApi", new PublicApiProps
        {
            EnvironmentName = s.Name,
            Handler = ApiFunction.Function,
            StageThrottle = s.StageThrottle,
            StandardPlanThrottle = s.StandardPlanThrottle,
            VipPlanThrottle = s.VipPlanThrottle,
            StandardPlanDailyQuota = s.StandardPlanDailyQuota,
            LogRetention = retention,
            LogRemovalPolicy = logRemoval,
            DomainName = s.ApiDomainName,
            CertificateArn = s.ApiCertificateArn,
        });

        Events = new EventRouting(this, "Events", new EventRoutingProps { EnvironmentName = s.Name, Table = Data.Table });

        // Webhooks: the stream fans new outbox items out into deliveries (and sends their first try at once); a
        // one-minute schedule sends due retries.
        WebhookDispatcher = functions.AddEventFunction("WebhookDispatcher",
            "Molly.WebhookDispatcher::Molly.Functions.WebhookDispatcher.Function::Handle", memoryMb: 512, timeout: Duration.Seconds(60),
            environment: envelopeKey);
        Keys.Envelope.GrantEncryptDecrypt(WebhookDispatcher.Function); // endpoint signing secrets are stored encrypted
        Events.ConnectStreamProcessor(WebhookDispatcher.Function, [new Dictionary<string, object> { ["pattern"] = OutboxInsertPattern }]);
        Events.RunOnSchedule("WebhookRetries", WebhookDispatcher.Function, Duration.Minutes(1));

        WorkflowTasks = WorkflowTaskNames.ToDictionary(name => name, name => functions.AddEventFunction(
            "WorkflowTasks", WorkflowTasksHandler, id: $"Task{name}",
            environment: new Dictionary<string, string> { ["MOLLY_TASK"] = name }));
        var bindings = new Dictionary<string, WorkflowBinding>
        {
            ["TableName"] = WorkflowBinding.TableReadWrite(Data.Table),
            ["EventBusName"] = WorkflowBinding.PutEvents(Events.Bus),
        };
        foreach (var (name, function) in WorkflowTasks) bindings[$"{name}Arn"] = WorkflowBinding.Invoke(function.Function);
        bindings[SignWithdrawalPlaceholder] = WorkflowBinding.Invoke(Signer.Function);

        Workflows = new Workflows(this, "Workflows", new WorkflowsProps
        {
            EnvironmentName = s.Name,
            Directory = props.WorkflowsDirectory,
            Bindings = bindings,
            LogRetention = retention,
            LogRemovalPolicy = logRemoval,
        });
        // The chain watcher: every minute, a bounded catch-up of each configured EVM chain (functions/ChainWatcher).
        var watcherEnvironment = new Dictionary<string, string> { ["Molly__ChainWatcher__BudgetSeconds"] = "40" };
        for (var i = 0; i < s.EvmChains.Count; i++)
        {
            watcherEnvironment[$"Molly__Evm__Chains__{i}__Chain"] = s.EvmChains[i].Chain;
            watcherEnvironment[$"Molly__Evm__Chains__{i}__Network"] = s.EvmChains[i].Network;
            for (var j = 0; j < s.EvmChains[i].Endpoints.Count; j++)
                watcherEnvironment[$"Molly__Evm__Chains__{i}__Endpoints__{j}"] = s.EvmChains[i].Endpoints[j];
        }
        ChainWatcher = functions.AddEventFunction("ChainWatcher", "Molly.ChainWatcher::Molly.ChainWatcher.Function::Handle",
            memoryMb: s.ChainWatcherMemoryMb, timeout: Duration.Seconds(60), reservedConcurrency: s.ChainWatcherReservedConcurrency,
            environment: watcherEnvironment);
        Events.RunOnSchedule("ChainWatcherSchedule", ChainWatcher.Function, Duration.Minutes(1));

        if (Workflows.StateMachines.TryGetValue("deposit-confirm", out var depositConfirm))
            Events.StartWorkflowFromStream("DepositConfirmPipe", depositConfirm, DepositDetectedFilter, DepositConfirmStart.InputTemplate);

        Observability = new Observability(this, "Observability", new ObservabilityProps
        {
            EnvironmentName = s.Name,
            Api = Api.Api,
            DeadLetters = Events.StreamDeadLetters,
            HotWalletFloors = s.HotWalletFloors,
            AlarmEmail = s.AlarmEmail,
        });

        new CfnOutput(this, "TableName", new CfnOutputProps { Value = Data.Table.TableName });
        new CfnOutput(this, "ReportsBucketName", new CfnOutputProps { Value = Reports.Bucket.BucketName });
        new CfnOutput(this, "SignerRoleArn", new CfnOutputProps { Value = Keys.SignerRole.RoleArn });
    }
}
