using Amazon.CDK;
using Amazon.CDK.AWS.APIGateway;
using Amazon.CDK.AWS.CertificateManager;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Logs;
using Constructs;

namespace Molly.Infra.Constructs;

public sealed class PublicApiProps
{
    public required string EnvironmentName { get; init; }
    public required IFunction Handler { get; init; }
    public required ThrottleLimits StageThrottle { get; init; }
    public required ThrottleLimits StandardPlanThrottle { get; init; }
    public required ThrottleLimits VipPlanThrottle { get; init; }
    public required int StandardPlanDailyQuota { get; init; }
    public required RetentionDays LogRetention { get; init; }
    public required RemovalPolicy LogRemovalPolicy { get; init; }
    public string? DomainName { get; init; }
    public string? CertificateArn { get; init; }
}

/// <summary>
/// A regional REST API in front of the Api function. REST rather than HTTP API because the product needs a VIP channel
/// with its own throttle: usage plans + API keys give per-merchant-plan rate/burst/quota and per-method throttles.
/// Routes: /v1/{proxy+} (the merchant API; an API key picks the usage plan), and the rest (checkout pages, health,
/// staff endpoints) without a key. The stage throttle caps everything; access logs go to a JSON log group.
/// </summary>
public sealed class PublicApi : Construct
{
    public RestApi Api { get; }
    public UsagePlan StandardPlan { get; }
    public UsagePlan VipPlan { get; }
    public LogGroup AccessLogs { get; }

    public PublicApi(Construct scope, string id, PublicApiProps props) : base(scope, id)
    {
        AccessLogs = new LogGroup(this, "AccessLogs", new LogGroupProps
        {
            Retention = props.LogRetention,
            RemovalPolicy = props.LogRemovalPolicy,
        });

        var integration = new LambdaIntegration(props.Handler, new LambdaIntegrationOptions { Proxy = true });
        Api = new RestApi(this, "Api", new RestApiProps
        {
            RestApiName = $"molly-{props.EnvironmentName}",
            Description = "Molly payment gateway",
            EndpointTypes = [EndpointType.REGIONAL],
            // API Gateway needs an account-level role to write access logs; keep it when the stack goes, other stacks share it.
            CloudWatchRole = true,
            CloudWatchRoleRemovalPolicy = RemovalPolicy.RETAIN,
            DeployOptions = new StageOptions
            {
                StageName = "v1",
                TracingEnabled = true,
                MetricsEnabled = true,
                LoggingLevel = MethodLoggingLevel.ERROR,
                DataTraceEnabled = false, // request bodies carry keys and signatures
                ThrottlingRateLimit = props.StageThrottle.RatePerSecond,
                ThrottlingBurstLimit = props.StageThrottle.Burst,
                AccessLogDestination = new LogGroupLogDestination(AccessLogs),
                AccessLogFormat = AccessLogFormat.JsonWithStandardFields(new JsonWithStandardFieldProps
                {
                    Caller = false, HttpMethod = true, Ip = true, Protocol = true, RequestTime = true,
                    ResourcePath = true, ResponseLength = true, Status = true, User = false,
                }),
            },
        });

        // Everything outside /v1 (checkout page, health, staff UI): no API key, stage throttle only.
        Api.Root.AddMethod("ANY", integration);
        Api.Root.AddProxy(new ProxyResourceOptions { DefaultIntegration = integration, AnyMethod = true });

        // The merchant API: an API Gateway key is required and selects the merchant's usage plan.
        var merchant = Api.Root.AddResource("v1").AddProxy(new ProxyResourceOptions
        {
            DefaultIntegration = integration,
            AnyMethod = true,
            DefaultMethodOptions = new MethodOptions { ApiKeyRequired = true },
        });
        var merchantAny = merchant.AnyMethod!;

        StandardPlan = Plan("Standard", props.StandardPlanThrottle, props.StandardPlanDailyQuota, merchantAny);
        VipPlan = Plan("Vip", props.VipPlanThrottle, quota: null, merchantAny);

        if (props.DomainName is not null && props.CertificateArn is not null)
        {
            var domain = new DomainName_(this, "Domain", new DomainNameProps
            {
                DomainName = props.DomainName,
                Certificate = Certificate.FromCertificateArn(this, "Certificate", props.CertificateArn),
                EndpointType = EndpointType.REGIONAL,
                SecurityPolicy = SecurityPolicy.TLS_1_2,
            });
            domain.AddBasePathMapping(Api, new BasePathMappingOptions { Stage = Api.DeploymentStage });
            new CfnOutput(this, "DomainTarget", new CfnOutputProps
            {
                Description = $"Point a CNAME/alias for {props.DomainName} at this regional name",
                Value = domain.DomainNameAliasDomainName,
            });
        }
    }

    private UsagePlan Plan(string name, ThrottleLimits limits, int? quota, Method merchantMethod)
    {
        var plan = Api.AddUsagePlan(name, new UsagePlanProps
        {
            Name = $"{Api.RestApiName}-{name.ToLowerInvariant()}",
            Throttle = new ThrottleSettings { RateLimit = limits.RatePerSecond, BurstLimit = limits.Burst },
            Quota = quota is { } q ? new QuotaSettings { Limit = q, Period = Period.DAY } : null,
        });
        plan.AddApiStage(new UsagePlanPerApiStage
        {
            Api = Api,
            Stage = Api.DeploymentStage,
            // Per-method throttle: the merchant API may use the plan's whole rate; listed so that a later money-moving
            // route (e.g. POST /v1/withdrawals) gets its own, lower line here.
            Throttle = [new ThrottlingPerMethod { Method = merchantMethod, Throttle = new ThrottleSettings { RateLimit = limits.RatePerSecond, BurstLimit = limits.Burst } }],
        });
        return plan;
    }
}
