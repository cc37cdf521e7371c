using Amazon.CDK;
using Amazon.CDK.AWS.DynamoDB;
using Amazon.CDK.AWS.Events;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Lambda.EventSources;
using Amazon.CDK.AWS.Pipes;
using Amazon.CDK.AWS.SQS;
using Amazon.CDK.AWS.StepFunctions;
using Constructs;

namespace Molly.Infra.Constructs;

public sealed class EventRoutingProps
{
    public required string EnvironmentName { get; init; }

    /// <summary>The table whose stream (NEW_AND_OLD_IMAGES) is the change feed.</summary>
    public required ITable Table { get; init; }
}

/// <summary>
/// Where the change feed goes: the event bus, the dead-letter queue for stream consumers, a stream processor's event source
/// mapping (<see cref="ConnectStreamProcessor"/>) and EventBridge Pipes from the stream to a workflow (<see cref="StartWorkflowFromStream"/>).
/// </summary>
public sealed class EventRouting : Construct
{
    public const int StreamRetryAttempts = 5;
    public static readonly Duration StreamMaxRecordAge = Duration.Hours(6);

    private readonly ITable _table;

    public EventBus Bus { get; }

    /// <summary>Records the stream consumers gave up on (the mapping's on-failure destination, the pipes' DLQ).</summary>
    public Queue StreamDeadLetters { get; }

    public EventRouting(Construct scope, string id, EventRoutingProps props) : base(scope, id)
    {
        _table = props.Table;
        Bus = new EventBus(this, "Bus", new EventBusProps { EventBusName = $"molly-{props.EnvironmentName}" });
        StreamDeadLetters = new Queue(this, "StreamDeadLetters", new QueueProps
        {
            Encryption = QueueEncryption.SQS_MANAGED,
            EnforceSSL = true,
            RetentionPeriod = Duration.Days(14),
        });
    }

    /// <summary>
    /// Feeds the table stream to <paramref name="processor"/>: partial batch responses, bisect on error, bounded retries and
    /// record age, then the record's metadata to <see cref="StreamDeadLetters"/>. The function must answer with
    /// <c>{"batchItemFailures":[{"itemIdentifier": sequenceNumber}]}</c>.
    /// </summary>
    /// <param name="filters">Lambda event filters (<see cref="FilterCriteria.Filter"/>): only matching records invoke the function.</param>
    public void ConnectStreamProcessor(IFunction processor, IDictionary<string, object>[]? filters = null)
    {
        processor.AddEventSource(new DynamoEventSource(_table, new DynamoEventSourceProps
        {
            Filters = filters,
            StartingPosition = StartingPosition.TRIM_HORIZON, // the outbox must not lose what was written before the mapping existed
            BatchSize = 100,
            MaxBatchingWindow = Duration.Seconds(1),
            ReportBatchItemFailures = true,
            BisectBatchOnError = true,
            RetryAttempts = StreamRetryAttempts,
            MaxRecordAge = StreamMaxRecordAge,
            ParallelizationFactor = 1, // per-shard ordering: a payment's events arrive in order
            OnFailure = new SqsDlq(StreamDeadLetters),
        }));
    }

    /// <summary>Invokes <paramref name="function"/> every <paramref name="every"/> (an EventBridge rule; a scheduled event).</summary>
    public Rule RunOnSchedule(string id, IFunction function, Duration every)
    {
        var rule = new Rule(this, id, new RuleProps { Schedule = Schedule.Rate(every) });
        rule.AddTarget(new Amazon.CDK.AWS.Events.Targets.LambdaFunction(function, new Amazon.CDK.AWS.Events.Targets.LambdaFunctionProps { RetryAttempts = 0 })); // the next tick is the retry
        return rule;
    }

    /// <summary>
    /// An EventBridge Pipe (L1 CfnPipe) from the table stream to <paramref name="workflow"/>, one execution per record that
    /// matches <paramref name="filterPattern"/> (an EventBridge pattern over the stream record, as JSON), with the execution
    /// input built by <paramref name="inputTemplate"/> (a Pipes input template over the record; null passes the record).
    /// Pipes cannot name the execution: a replayed record starts a second execution, so the workflow's tasks are idempotent.
    /// </summary>
    public CfnPipe StartWorkflowFromStream(string id, IStateMachine workflow, string filterPattern, string? inputTemplate = null)
    {
        var role = new Role(this, $"{id}Role", new RoleProps { AssumedBy = new ServicePrincipal("pipes.amazonaws.com") });
        _table.GrantStreamRead(role);
        workflow.GrantStartExecution(role);
        StreamDeadLetters.GrantSendMessages(role);

        var pipe = new CfnPipe(this, id, new CfnPipeProps
        {
            RoleArn = role.RoleArn,
            Source = _table.TableStreamArn!,
            SourceParameters = new CfnPipe.PipeSourceParametersProperty
            {
                DynamoDbStreamParameters = new CfnPipe.PipeSourceDynamoDBStreamParametersProperty
                {
                    StartingPosition = "TRIM_HORIZON",
                    BatchSize = 1,
                    MaximumRetryAttempts = StreamRetryAttempts,
                    MaximumRecordAgeInSeconds = (double)StreamMaxRecordAge.ToSeconds(),
                    OnPartialBatchItemFailure = "AUTOMATIC_BISECT",
                    DeadLetterConfig = new CfnPipe.DeadLetterConfigProperty { Arn = StreamDeadLetters.QueueArn },
                },
                FilterCriteria = new CfnPipe.FilterCriteriaProperty
                {
                    Filters = new object[] { new CfnPipe.FilterProperty { Pattern = filterPattern } },
                },
            },
            Target = workflow.StateMachineArn,
            TargetParameters = new CfnPipe.PipeTargetParametersProperty
            {
                InputTemplate = inputTemplate,
                StepFunctionStateMachineParameters = new CfnPipe.PipeTargetStateMachineParametersProperty
                {
                    InvocationType = "FIRE_AND_FORGET", // Standard workflows only support asynchronous starts
                },
            },
        });
        // The role's policy must exist before the pipe validates its source and target.
        pipe.Node.AddDependency(role);
        return pipe;
    }
}
