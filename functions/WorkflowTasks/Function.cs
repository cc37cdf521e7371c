using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Molly.Settlement;
using Molly.Workflows;

namespace Molly.WorkflowTasks;

/// <summary>
/// The Lambda behind every <c>${NameArn}</c> task of workflows/*.asl.json: one deployment per task (CDK sets MOLLY_TASK to
/// the handler name), the same handlers the local engine calls in-process. Thin: parse the state's input, call the
/// handler, return its result.
/// </summary>
public sealed class Function
{
    public const string TaskVariable = "MOLLY_TASK";

    private readonly string _task;
    private readonly WorkflowTaskHandler _handler;

    public Function() : this(Environment.GetEnvironmentVariable(TaskVariable)) { }

    internal Function(string? task) : this(task ?? "", TaskTable.Resolve(task)) { }

    internal Function(string task, WorkflowTaskHandler handler)
    {
        _task = task;
        _handler = handler;
    }

    /// <summary>Lambda entry point (managed dotnet10 runtime, no serializer package): JSON in, JSON out.</summary>
    public async Task<Stream> Handle(Stream input)
    {
        var node = await JsonNode.ParseAsync(input);
        var context = new WorkflowTaskContext(ExecutionId: "", ExecutionName: "", Workflow: "", StateName: _task, RetryCount: 0, TaskToken: null);
        JsonNode? result;
        try
        {
            result = await _handler(node, context, CancellationToken.None);
        }
        catch (WorkflowErrorException e)
        {
            throw TaskErrors.ForStepFunctions(e);
        }
        var output = new MemoryStream();
        await using (var writer = new System.Text.Json.Utf8JsonWriter(output))
        {
            if (result is null) writer.WriteNullValue();
            else result.WriteTo(writer);
        }
        output.Position = 0;
        return output;
    }
}

/// <summary>
/// The dispatch table: MOLLY_TASK value -> handler factory. The deposit-confirm handlers (CheckConfirmations,
/// VerifyCanonical, CreditPayment, UndoDetection, MarkForReview) and later the withdrawal ones are added here; the names
/// are the placeholders of workflows/*.asl.json without <c>${}</c> and <c>Arn</c>.
/// </summary>
internal static class TaskTable
{
    private static readonly Dictionary<string, Func<WorkflowTaskHandler>> Factories = new(StringComparer.Ordinal)
    {
        [DepositConfirmTasks.CheckConfirmations] = () => DepositConfirm(DepositConfirmTasks.CheckConfirmations),
        [DepositConfirmTasks.VerifyCanonical] = () => DepositConfirm(DepositConfirmTasks.VerifyCanonical),
        [DepositConfirmTasks.CreditPayment] = () => DepositConfirm(DepositConfirmTasks.CreditPayment),
        [DepositConfirmTasks.UndoDetection] = () => DepositConfirm(DepositConfirmTasks.UndoDetection),
        [DepositConfirmTasks.MarkForReview] = () => DepositConfirm(DepositConfirmTasks.MarkForReview),
    };

    /// <summary>The handler composed on first invocation (not at start, so a cold start without a reachable table still
    /// reports its error through the task, as Molly.Transient/Permanent or TaskFailed).</summary>
    private static WorkflowTaskHandler DepositConfirm(string name) =>
        (input, context, ct) => Composition.DepositConfirm.Value.Handlers[name](input, context, ct);

    public static IReadOnlyCollection<string> Names => Factories.Keys;

    public static WorkflowTaskHandler Resolve(string? task)
    {
        if (string.IsNullOrEmpty(task))
            throw new InvalidOperationException($"{Function.TaskVariable} is not set: the CDK stack sets it to the task's handler name.");
        return Factories.TryGetValue(task, out var factory)
            ? factory()
            : throw new InvalidOperationException(
                $"{Function.TaskVariable}='{task}' is not in the WorkflowTasks dispatch table (known: {string.Join(", ", Factories.Keys.Order(StringComparer.Ordinal))}).");
    }
}

/// <summary>
/// Step Functions names a Lambda error after the .NET exception's type name (no dots possible), so the contract's
/// <c>Molly.Transient</c> / <c>Molly.Permanent</c> leave this function as <see cref="MollyTransient"/> /
/// <see cref="MollyPermanent"/>; the ASL files list both spellings.
/// </summary>
public static class TaskErrors
{
    public static Exception ForStepFunctions(WorkflowErrorException e) => e.Error switch
    {
        "Molly.Transient" => new MollyTransient(e.Cause ?? "transient failure", e),
        "Molly.Permanent" => new MollyPermanent(e.Cause ?? "permanent failure", e),
        _ => e,
    };
}

public sealed class MollyTransient(string message, Exception inner) : Exception(message, inner);

public sealed class MollyPermanent(string message, Exception inner) : Exception(message, inner);

/// <summary>
/// What the deposit-confirm handlers need on AWS, from the function's environment (set by CDK): the table
/// (<c>Molly__Store__TableName</c>, optional <c>Molly__Store__Region</c> / <c>Molly__Store__ServiceUrl</c>), the networks of the
/// asset registry (<c>Molly__Payments__Networks__N</c>, default mainnet), the EVM nodes (<c>Molly__Evm__Chains__N__Chain</c> and
/// <c>__Endpoints__N</c>) and <c>Molly__Settlement__*</c>.
/// </summary>
internal static class Composition
{
    private static readonly HttpClient StreamsHttp = new() { Timeout = TimeSpan.FromSeconds(30) };

    public static readonly Lazy<DepositConfirmTasks> DepositConfirm = new(() => CreateDepositConfirm(
        new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddEnvironmentVariables().Build(), TimeProvider.System));

    public static DepositConfirmTasks CreateDepositConfirm(Microsoft.Extensions.Configuration.IConfiguration config, TimeProvider time)
    {
        var table = config["Molly:Store:TableName"]
            ?? throw new InvalidOperationException("Molly__Store__TableName is not set: the CDK stack sets it.");
        var credentials = Amazon.Runtime.Credentials.DefaultAWSCredentialsIdentityResolver.GetCredentials();
        var ddb = new Amazon.DynamoDBv2.AmazonDynamoDBConfig();
        if (config["Molly:Store:Region"] is { } region) ddb.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region);
        if (config["Molly:Store:ServiceUrl"] is { } url)
        {
            ddb.ServiceURL = url;
            ddb.AuthenticationRegion = config["Molly:Store:Region"] ?? "us-east-1";
        }
        var store = Molly.Storage.DynamoDb.DynamoDbItemStore.Create(new Amazon.DynamoDBv2.AmazonDynamoDBClient(credentials, ddb), table,
            credentials, StreamsHttp, time);
        var networks = config.GetSection("Molly:Payments:Networks").GetChildren().Select(c => c.Value!).Where(v => !string.IsNullOrEmpty(v)).ToList();
        var assets = Molly.Domain.AssetRegistry.ForNetworks(networks.Count > 0 ? networks : ["mainnet"]);
        var options = new SettlementOptions();
        Microsoft.Extensions.Configuration.ConfigurationBinder.Bind(config.GetSection(SettlementOptions.Section), options);
        return new DepositConfirmTasks(store, new Molly.Ledger.Ledger(store, time), assets, SettlementServices.EvmNodes(config, time), options, time);
    }
}
