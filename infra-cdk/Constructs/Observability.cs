using Amazon.CDK;
using Amazon.CDK.AWS.APIGateway;
using Amazon.CDK.AWS.CloudWatch;
using Amazon.CDK.AWS.CloudWatch.Actions;
using Amazon.CDK.AWS.SNS;
using Amazon.CDK.AWS.SNS.Subscriptions;
using Amazon.CDK.AWS.SQS;
using Constructs;

namespace Molly.Infra.Constructs;

public sealed class ObservabilityProps
{
    public required string EnvironmentName { get; init; }
    public required RestApi Api { get; init; }
    public required IQueue DeadLetters { get; init; }
    public required IReadOnlyList<HotWalletFloor> HotWalletFloors { get; init; }
    public string? AlarmEmail { get; init; }
}

/// <summary>
/// Alarms (to one SNS topic) and a dashboard. Custom metrics are the contract with the functions, which emit them in the
/// CloudWatch embedded metric format under <see cref="Namespace"/>.
/// </summary>
public sealed class Observability : Construct
{
    public const string Namespace = "Molly";
    public const double PaymentFailureRatePercent = 5;
    public const double ApiP99LatencyMs = 2_000;
    public const double ChainWatcherLagSeconds = 300;

    public Topic AlarmTopic { get; }
    public List<Alarm> Alarms { get; } = [];

    public Observability(Construct scope, string id, ObservabilityProps props) : base(scope, id)
    {
        AlarmTopic = new Topic(this, "AlarmTopic", new TopicProps { DisplayName = $"Molly {props.EnvironmentName} alarms", EnforceSSL = true });
        if (props.AlarmEmail is not null)
            AlarmTopic.AddSubscription(new EmailSubscription(props.AlarmEmail));

        Metric Custom(string name, string statistic, IDictionary<string, string>? dims = null) => new(new MetricProps
        {
            Namespace = Namespace, MetricName = name, Statistic = statistic, Period = Duration.Minutes(5),
            DimensionsMap = new Dictionary<string, string>(dims ?? new Dictionary<string, string>()) { ["Environment"] = props.EnvironmentName },
        });

        var failureRate = new MathExpression(new MathExpressionProps
        {
            Expression = "IF((ok + failed) > 0, 100 * failed / (ok + failed), 0)",
            UsingMetrics = new Dictionary<string, IMetric>
            {
                ["ok"] = Custom("PaymentsSucceeded", "Sum"),
                ["failed"] = Custom("PaymentsFailed", "Sum"),
            },
            Label = "Payment failure rate (%)",
            Period = Duration.Minutes(5),
        });
        Add("PaymentFailureRate", failureRate, PaymentFailureRatePercent, ComparisonOperator.GREATER_THAN_THRESHOLD, 2,
            "More than 5% of payments failed");

        var latency = props.Api.MetricLatency(new MetricOptions { Statistic = "p99", Period = Duration.Minutes(5) });
        Add("ApiLatencyP99", latency, ApiP99LatencyMs, ComparisonOperator.GREATER_THAN_THRESHOLD, 3, "API p99 latency above 2 s");

        var lag = Custom("ChainWatcherLagSeconds", "Maximum");
        Add("ChainWatcherLag", lag, ChainWatcherLagSeconds, ComparisonOperator.GREATER_THAN_THRESHOLD, 2,
            "A chain watcher is more than 5 minutes behind its chain head");

        foreach (var floor in props.HotWalletFloors)
        {
            Add($"HotWalletLow{floor.Asset}", Custom("HotWalletBalance", "Minimum", new Dictionary<string, string> { ["Asset"] = floor.Asset }),
                floor.MinimumBalance, ComparisonOperator.LESS_THAN_THRESHOLD, 1, $"Hot wallet {floor.Asset} balance below {floor.MinimumBalance}");
        }

        var dlq = props.DeadLetters.MetricApproximateNumberOfMessagesVisible(new MetricOptions { Statistic = "Maximum", Period = Duration.Minutes(1) });
        Add("DeadLettersNotEmpty", dlq, 0, ComparisonOperator.GREATER_THAN_THRESHOLD, 1, "Stream records were dead-lettered");

        var dashboard = new Dashboard(this, "Dashboard", new DashboardProps { DashboardName = $"molly-{props.EnvironmentName}" });
        dashboard.AddWidgets(
            new GraphWidget(new GraphWidgetProps { Title = "Payment failure rate (%)", Left = [failureRate] }),
            new GraphWidget(new GraphWidgetProps { Title = "API p99 latency (ms)", Left = [latency] }),
            new GraphWidget(new GraphWidgetProps { Title = "Chain watcher lag (s)", Left = [lag] }),
            new GraphWidget(new GraphWidgetProps { Title = "Dead letters", Left = [dlq] }));
        dashboard.AddWidgets(new AlarmStatusWidget(new AlarmStatusWidgetProps { Title = "Alarms", Alarms = Alarms.ToArray() }));
    }

    private void Add(string id, IMetric metric, double threshold, ComparisonOperator comparison, int periods, string description)
    {
        var alarm = new Alarm(this, id, new AlarmProps
        {
            Metric = metric,
            Threshold = threshold,
            ComparisonOperator = comparison,
            EvaluationPeriods = periods,
            AlarmDescription = description,
            TreatMissingData = TreatMissingData.NOT_BREACHING,
        });
        alarm.AddAlarmAction(new SnsAction(AlarmTopic));
        Alarms.Add(alarm);
    }
}
