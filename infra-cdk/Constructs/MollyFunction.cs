using Amazon.CDK;
using Amazon.CDK.AWS.DynamoDB;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Logs;
using Constructs;

namespace Molly.Infra.Constructs;

/// <summary>What every function of one stack shares. Built once by the stack; each function then is one line.</summary>
public sealed class FunctionDefaults
{
    /// <summary>The managed .NET 10 runtime (CDK 2.160.0 has no constant for it).</summary>
    public static readonly Runtime DotNet10 = new("dotnet10", RuntimeFamily.DOTNET_CORE);

    public required string EnvironmentName { get; init; }
    public required ITable Table { get; init; }

    /// <summary>Folder holding one `dotnet publish` output per function project (.local/publish/&lt;Project&gt;).</summary>
    public required string PublishRoot { get; init; }

    /// <summary>Used only when <see cref="AllowPlaceholderCode"/> is true and a publish folder is absent.</summary>
    public required string PlaceholderCode { get; init; }

    public required bool AllowPlaceholderCode { get; init; }
    public required string WebAdapterLayerArn { get; init; }
    public required RetentionDays LogRetention { get; init; }
    public required RemovalPolicy LogRemovalPolicy { get; init; }
    public ICodeSigningConfig? CodeSigning { get; init; }
}

public enum TableAccess { None, Read, ReadWrite }

public sealed class MollyFunctionProps
{
    /// <summary>The project folder name under functions/ and its publish folder name (e.g. "Api", "StreamProcessor").</summary>
    public required string Project { get; init; }

    /// <summary>
    /// Null: an ASP.NET Core app behind the Lambda Web Adapter (handler run.sh). Otherwise the managed runtime's
    /// "Assembly::Namespace.Type::Method" of a <c>Task&lt;Stream&gt; Handle(Stream)</c> entry point.
    /// </summary>
    public string? Handler { get; init; }

    public required int MemoryMb { get; init; }
    public required Duration Timeout { get; init; }
    public int? ReservedConcurrency { get; init; }
    public TableAccess TableAccess { get; init; } = TableAccess.ReadWrite;

    /// <summary>An existing role (e.g. the signer role); null creates a role for this function alone.</summary>
    public IRole? Role { get; init; }

    public IReadOnlyDictionary<string, string>? Environment { get; init; }
}

/// <summary>
/// One Molly Lambda function: dotnet10 on arm64, X-Ray active, its own log group with retention, JSON logs, the table name
/// and store kind in its environment, code from the project's publish folder (or, only when explicitly allowed, a placeholder).
/// </summary>
public sealed class MollyFunction : Construct
{
    public const string WebAdapterPort = "8080";

    public Function Function { get; }

    /// <summary>True when this function was synthesised from the placeholder bundle instead of a real publish folder.</summary>
    public bool UsesPlaceholderCode { get; }

    public MollyFunction(Construct scope, string id, FunctionDefaults defaults, MollyFunctionProps props) : base(scope, id)
    {
        var publishDir = Path.Combine(defaults.PublishRoot, props.Project);
        string codeDir;
        if (Directory.Exists(publishDir))
        {
            codeDir = publishDir;
        }
        else if (defaults.AllowPlaceholderCode)
        {
            codeDir = defaults.PlaceholderCode;
            UsesPlaceholderCode = true;
            Annotations.Of(this).AddWarning(
                $"PLACEHOLDER CODE: {publishDir} is absent, so {props.Project} is synthesised from {defaults.PlaceholderCode}. " +
                "Do not deploy this assembly; run tools/publish-functions.sh first.");
        }
        else
        {
            throw new InvalidOperationException(
                $"Function '{props.Project}': publish folder '{publishDir}' does not exist. Run tools/publish-functions.sh " +
                "before cdk synth/deploy (or pass -c allowPlaceholderCode=true for an offline synth that must not be deployed).");
        }

        var environment = new Dictionary<string, string>
        {
            ["Molly__Environment"] = defaults.EnvironmentName,
            ["Molly__Store__Kind"] = "DynamoDb",
            ["Molly__Store__TableName"] = defaults.Table.TableName,
            ["DOTNET_gcServer"] = "0", // one or two vCPUs: workstation GC starts faster and uses less memory
        };

        var isWeb = props.Handler is null;
        if (isWeb)
        {
            // AWS Lambda Web Adapter on a zip function: the wrapper /opt/bootstrap starts run.sh (in the publish folder,
            // written by tools/publish-functions.sh), waits for the readiness path, then proxies each invoke as HTTP.
            environment["AWS_LAMBDA_EXEC_WRAPPER"] = "/opt/bootstrap";
            environment["AWS_LWA_PORT"] = WebAdapterPort;
            environment["AWS_LWA_READINESS_CHECK_PATH"] = "/health";
            environment["AWS_LWA_INVOKE_MODE"] = "buffered";
            environment["AWS_LWA_PASS_THROUGH_PATH"] = "/events";
            environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{WebAdapterPort}";
        }
        foreach (var (key, value) in props.Environment ?? new Dictionary<string, string>())
            environment[key] = value;

        var logGroup = new LogGroup(this, "Logs", new LogGroupProps
        {
            Retention = defaults.LogRetention,
            RemovalPolicy = defaults.LogRemovalPolicy,
        });

        Function = new Function(this, "Function", new FunctionProps
        {
            Description = $"Molly {props.Project} ({defaults.EnvironmentName})",
            Runtime = FunctionDefaults.DotNet10,
            Architecture = Architecture.ARM_64,
            Handler = props.Handler ?? "run.sh",
            Code = Code.FromAsset(codeDir),
            MemorySize = props.MemoryMb,
            Timeout = props.Timeout,
            ReservedConcurrentExecutions = props.ReservedConcurrency,
            Environment = environment,
            Layers = isWeb
                ? [LayerVersion.FromLayerVersionArn(this, "WebAdapter", Fn.Sub(defaults.WebAdapterLayerArn))]
                : null,
            Tracing = Tracing.ACTIVE,
            LogGroup = logGroup,
            LoggingFormat = LoggingFormat.JSON,
            Role = props.Role,
            CodeSigningConfig = defaults.CodeSigning,
        });

        switch (props.TableAccess)
        {
            case TableAccess.Read: defaults.Table.GrantReadData(Function); break;
            case TableAccess.ReadWrite: defaults.Table.GrantReadWriteData(Function); break;
        }
    }
}

/// <summary>The stack's function factory: holds the shared defaults so that each function is one call.</summary>
public sealed class MollyFunctions : Construct
{
    private readonly FunctionDefaults _defaults;

    public MollyFunctions(Construct scope, string id, FunctionDefaults defaults) : base(scope, id) => _defaults = defaults;

    /// <summary>A function from full props: e.g. one that runs as an existing role (the signer) with its own environment.</summary>
    public MollyFunction Add(string id, MollyFunctionProps props) => new(this, id, _defaults, props);

    /// <summary>An ASP.NET Core project behind the Lambda Web Adapter.</summary>
    public MollyFunction AddWebFunction(string project, int memoryMb, Duration timeout, int? reservedConcurrency,
        IReadOnlyDictionary<string, string>? environment = null) =>
        new(this, project, _defaults, new MollyFunctionProps
        {
            Project = project, MemoryMb = memoryMb, Timeout = timeout, ReservedConcurrency = reservedConcurrency, Environment = environment,
        });

    /// <summary>
    /// An event function: <paramref name="handler"/> is "Assembly::Namespace.Type::Handle". <paramref name="id"/> (default:
    /// the project) lets one project back several functions that differ only in <paramref name="environment"/>.
    /// </summary>
    public MollyFunction AddEventFunction(
        string project, string handler, int memoryMb = 512, Duration? timeout = null,
        IRole? role = null, TableAccess tableAccess = TableAccess.ReadWrite,
        string? id = null, IReadOnlyDictionary<string, string>? environment = null, int? reservedConcurrency = null) =>
        new(this, id ?? project, _defaults, new MollyFunctionProps
        {
            Project = project, Handler = handler, MemoryMb = memoryMb, Timeout = timeout ?? Duration.Seconds(60),
            Role = role, TableAccess = tableAccess, Environment = environment, ReservedConcurrency = reservedConcurrency,
        });
}
