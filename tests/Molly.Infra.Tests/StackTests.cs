using System.Text.Json;

using Amazon.CDK;
using Amazon.CDK.Assertions;
using Molly.Infra.Constructs;
using Xunit;
using Match = Amazon.CDK.Assertions.Match;
using Annotations = Amazon.CDK.Assertions.Annotations;

namespace Molly.Infra.Tests;

[Collection(StackCollection.Name)]
public sealed class DataTableTests(StackFixture stacks)
{
    [Fact]
    public void Table_has_the_storage_contract_keys_stream_pitr_ttl_and_on_demand()
    {
        stacks.Prod.Template.HasResourceProperties("AWS::DynamoDB::Table", new Dictionary<string, object>
        {
            ["KeySchema"] = new object[]
            {
                new Dictionary<string, object> { ["AttributeName"] = "PK", ["KeyType"] = "HASH" },
                new Dictionary<string, object> { ["AttributeName"] = "SK", ["KeyType"] = "RANGE" },
            },
            ["BillingMode"] = "PAY_PER_REQUEST",
            ["StreamSpecification"] = new Dictionary<string, object> { ["StreamViewType"] = "NEW_AND_OLD_IMAGES" },
            ["PointInTimeRecoverySpecification"] = new Dictionary<string, object> { ["PointInTimeRecoveryEnabled"] = true },
            ["TimeToLiveSpecification"] = new Dictionary<string, object> { ["AttributeName"] = "ttl", ["Enabled"] = true },
        });
    }

    [Fact]
    public void Three_gsis_on_string_keys_projecting_all()
    {
        var table = Assert.Single(stacks.Prod.Resources("AWS::DynamoDB::Table")).Resource.GetProperty("Properties");
        var gsis = table.GetProperty("GlobalSecondaryIndexes").EnumerateArray().ToList();
        Assert.Equal(["GSI1", "GSI2", "GSI3"], gsis.Select(g => g.GetProperty("IndexName").GetString()));
        for (var n = 1; n <= 3; n++)
        {
            var g = gsis[n - 1];
            Assert.Equal("ALL", g.GetProperty("Projection").GetProperty("ProjectionType").GetString());
            var keys = g.GetProperty("KeySchema").EnumerateArray().Select(k => (k.GetProperty("AttributeName").GetString(), k.GetProperty("KeyType").GetString()));
            Assert.Equal([($"GSI{n}PK", "HASH"), ($"GSI{n}SK", "RANGE")], keys);
        }
        var types = table.GetProperty("AttributeDefinitions").EnumerateArray()
            .ToDictionary(a => a.GetProperty("AttributeName").GetString()!, a => a.GetProperty("AttributeType").GetString());
        Assert.Equal(8, types.Count);
        Assert.All(types.Values, t => Assert.Equal("S", t));
    }

    [Fact]
    public void Prod_protects_state_and_dev_does_not()
    {
        static JsonElement Table(SynthesizedStack s) => Assert.Single(s.Resources("AWS::DynamoDB::Table")).Resource;
        Assert.True(Table(stacks.Prod).GetProperty("Properties").GetProperty("DeletionProtectionEnabled").GetBoolean());
        Assert.False(Table(stacks.Dev).GetProperty("Properties").GetProperty("DeletionProtectionEnabled").GetBoolean());
        foreach (var type in new[] { "AWS::DynamoDB::Table", "AWS::KMS::Key", "AWS::S3::Bucket" })
        {
            Assert.All(stacks.Prod.Resources(type), r => Assert.Equal("Retain", r.Resource.GetProperty("DeletionPolicy").GetString()));
            Assert.All(stacks.Dev.Resources(type), r => Assert.Equal("Delete", r.Resource.GetProperty("DeletionPolicy").GetString()));
        }
    }
}

[Collection(StackCollection.Name)]
public sealed class FunctionTests(StackFixture stacks)
{
    [Fact]
    public void Every_function_is_dotnet10_arm64_and_the_api_has_its_configured_memory()
    {
        foreach (var (s, memory) in new[] { (stacks.Dev, 1024), (stacks.Prod, 1769) })
        {
            var functions = s.Resources("AWS::Lambda::Function").ToList();
            Assert.NotEmpty(functions);
            foreach (var (_, f) in functions)
            {
                var p = f.GetProperty("Properties");
                Assert.Equal("dotnet10", p.GetProperty("Runtime").GetString());
                Assert.Equal(["arm64"], p.GetProperty("Architectures").EnumerateArray().Select(a => a.GetString()));
                if (p.GetProperty("Handler").GetString() == "run.sh") Assert.Equal(memory, p.GetProperty("MemorySize").GetInt32());
                Assert.Equal("Active", p.GetProperty("TracingConfig").GetProperty("Mode").GetString());
            }
        }
    }

    [Fact]
    public void Api_runs_behind_the_web_adapter_with_the_dynamo_store()
    {
        var env = new Capture();
        stacks.Prod.Template.HasResourceProperties("AWS::Lambda::Function", new Dictionary<string, object>
        {
            ["Handler"] = "run.sh",
            ["Timeout"] = 29,
            ["ReservedConcurrentExecutions"] = 200,
            ["Layers"] = Match.AnyValue(),
            ["Environment"] = new Dictionary<string, object> { ["Variables"] = env },
        });
        var vars = env.AsObject();
        Assert.Equal("DynamoDb", vars["Molly__Store__Kind"]);
        Assert.Equal("/opt/bootstrap", vars["AWS_LAMBDA_EXEC_WRAPPER"]);
        Assert.Equal("8080", vars["AWS_LWA_PORT"]);
        Assert.Equal("/health", vars["AWS_LWA_READINESS_CHECK_PATH"]);
        Assert.True(vars.ContainsKey("Molly__Store__TableName"));
    }

    [Fact]
    public void Placeholder_code_is_used_only_when_allowed_and_says_so()
    {
        Assert.True(stacks.Dev.Stack.ApiFunction.UsesPlaceholderCode);
        Annotations.FromStack(stacks.Dev.Stack).HasWarning("/Molly-dev/Functions/Api", Match.StringLikeRegexp("PLACEHOLDER CODE"));

        var e = Assert.Throws<InvalidOperationException>(() =>
        {
            var app = new App();
            var empty = Directory.CreateTempSubdirectory("molly-empty-").FullName;
            _ = new Stacks.MollyStack(app, "NoCode", new Stacks.MollyStackProps
            {
                Settings = MollyEnvironment.Dev, // AllowPlaceholderCode false
                WorkflowsDirectory = empty, PublishRoot = empty, PlaceholderCode = RepoPaths.PlaceholderCode,
            });
        });
        Assert.Contains("publish-functions.sh", e.Message);
    }

    [Fact]
    public void Environment_comes_from_context_and_rejects_unknown_names()
    {
        var app = new App(new AppProps { Context = new Dictionary<string, object> { ["env"] = "prod", ["codeSigning"] = "true" } });
        var prod = MollyEnvironment.FromContext(app.Node);
        Assert.True(prod.IsProduction);
        Assert.True(prod.CodeSigning);
        var bad = new App(new AppProps { Context = new Dictionary<string, object> { ["env"] = "staging" } });
        Assert.Contains("'staging'", Assert.Throws<ArgumentException>(() => MollyEnvironment.FromContext(bad.Node)).Message);
    }
}

[Collection(StackCollection.Name)]
public sealed class ApiTests(StackFixture stacks)
{
    [Fact]
    public void Stage_throttles_traces_and_writes_access_logs()
    {
        stacks.Prod.Template.HasResourceProperties("AWS::ApiGateway::Stage", new Dictionary<string, object>
        {
            ["StageName"] = "v1",
            ["TracingEnabled"] = true,
            ["AccessLogSetting"] = Match.ObjectLike(new Dictionary<string, object> { ["DestinationArn"] = Match.AnyValue() }),
            ["MethodSettings"] = Match.ArrayWith([Match.ObjectLike(new Dictionary<string, object>
            {
                ["ThrottlingRateLimit"] = 1000, ["ThrottlingBurstLimit"] = 2000, ["DataTraceEnabled"] = false,
            })]),
        });
    }

    [Fact]
    public void Standard_and_vip_usage_plans_with_different_throttles()
    {
        stacks.Prod.Template.HasResourceProperties("AWS::ApiGateway::UsagePlan", Match.ObjectLike(new Dictionary<string, object>
        {
            ["UsagePlanName"] = Match.StringLikeRegexp("vip$"),
            ["Throttle"] = new Dictionary<string, object> { ["RateLimit"] = 500, ["BurstLimit"] = 1000 },
        }));
        stacks.Prod.Template.HasResourceProperties("AWS::ApiGateway::UsagePlan", Match.ObjectLike(new Dictionary<string, object>
        {
            ["UsagePlanName"] = Match.StringLikeRegexp("standard$"),
            ["Throttle"] = new Dictionary<string, object> { ["RateLimit"] = 50, ["BurstLimit"] = 100 },
            ["Quota"] = new Dictionary<string, object> { ["Limit"] = 1_000_000, ["Period"] = "DAY" },
        }));
        // The merchant API needs a key; the other routes do not.
        var methods = stacks.Prod.Resources("AWS::ApiGateway::Method").Select(m => m.Resource.GetProperty("Properties")).ToList();
        Assert.Equal(1, methods.Count(m => m.TryGetProperty("ApiKeyRequired", out var k) && k.GetBoolean()));
    }

    [Fact]
    public void Custom_domain_only_when_asked()
    {
        stacks.Prod.Template.ResourceCountIs("AWS::ApiGateway::DomainName", 0);
        var s = StackFixture.Synth(MollyEnvironment.Dev with
        {
            ApiDomainName = "pay.example.test",
            ApiCertificateArn = "arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000000",
        }, emptyWorkflows: true);
        s.Template.HasResourceProperties("AWS::ApiGateway::DomainName", Match.ObjectLike(new Dictionary<string, object>
        {
            ["DomainName"] = "pay.example.test", ["SecurityPolicy"] = "TLS_1_2",
        }));
        s.Template.ResourceCountIs("AWS::ApiGateway::BasePathMapping", 1);
    }
}

[Collection(StackCollection.Name)]
public sealed class ObservabilityTests(StackFixture stacks)
{
    private static List<JsonElement> Alarms(SynthesizedStack s) =>
        s.Resources("AWS::CloudWatch::Alarm").Select(a => a.Resource.GetProperty("Properties")).ToList();

    [Fact]
    public void Payment_failure_rate_is_metric_math_over_custom_metrics_above_5_percent()
    {
        var alarm = Assert.Single(Alarms(stacks.Prod), a => a.GetProperty("AlarmDescription").GetString()!.Contains("payments failed"));
        Assert.Equal(5, alarm.GetProperty("Threshold").GetDouble());
        Assert.Equal("GreaterThanThreshold", alarm.GetProperty("ComparisonOperator").GetString());
        var metrics = alarm.GetProperty("Metrics").EnumerateArray().ToList();
        Assert.Contains(metrics, m => m.TryGetProperty("Expression", out var e) && e.GetString()!.Contains("100 * failed / (ok + failed)"));
        Assert.Equal(["PaymentsFailed", "PaymentsSucceeded"], metrics.Where(m => m.TryGetProperty("MetricStat", out _))
            .Select(m => m.GetProperty("MetricStat").GetProperty("Metric").GetProperty("MetricName").GetString()).Order());
    }

    [Theory]
    [InlineData("p99 latency", 2000, "GreaterThanThreshold")]
    [InlineData("chain watcher", 300, "GreaterThanThreshold")]
    [InlineData("dead-lettered", 0, "GreaterThanThreshold")]
    [InlineData("Hot wallet ETH", 2, "LessThanThreshold")]
    public void Alarm_exists_with_threshold(string description, double threshold, string comparison)
    {
        var alarm = Assert.Single(Alarms(stacks.Prod), a => a.GetProperty("AlarmDescription").GetString()!.Contains(description, StringComparison.OrdinalIgnoreCase));
        Assert.Equal(threshold, alarm.GetProperty("Threshold").GetDouble());
        Assert.Equal(comparison, alarm.GetProperty("ComparisonOperator").GetString());
        Assert.Single(alarm.GetProperty("AlarmActions").EnumerateArray()); // the SNS topic
    }

    [Fact]
    public void Every_alarm_notifies_the_topic_and_a_dashboard_exists()
    {
        Assert.Equal(4 + MollyEnvironment.Prod.HotWalletFloors.Count, Alarms(stacks.Prod).Count);
        stacks.Prod.Template.ResourceCountIs("AWS::SNS::Topic", 1);
        stacks.Prod.Template.ResourceCountIs("AWS::CloudWatch::Dashboard", 1);
    }
}

[Collection(StackCollection.Name)]
public sealed class ReportsBucketTests(StackFixture stacks)
{
    [Fact]
    public void Bucket_is_encrypted_versioned_private_tls_only_with_lifecycle()
    {
        stacks.Prod.Template.HasResourceProperties("AWS::S3::Bucket", Match.ObjectLike(new Dictionary<string, object>
        {
            ["BucketEncryption"] = Match.AnyValue(),
            ["VersioningConfiguration"] = new Dictionary<string, object> { ["Status"] = "Enabled" },
            ["PublicAccessBlockConfiguration"] = new Dictionary<string, object>
            {
                ["BlockPublicAcls"] = true, ["BlockPublicPolicy"] = true, ["IgnorePublicAcls"] = true, ["RestrictPublicBuckets"] = true,
            },
            ["LifecycleConfiguration"] = Match.ObjectLike(new Dictionary<string, object> { ["Rules"] = Match.AnyValue() }),
        }));
        stacks.Prod.Template.HasResourceProperties("AWS::S3::BucketPolicy", Match.ObjectLike(new Dictionary<string, object>
        {
            ["PolicyDocument"] = Match.ObjectLike(new Dictionary<string, object>
            {
                ["Statement"] = Match.ArrayWith([Match.ObjectLike(new Dictionary<string, object>
                {
                    ["Effect"] = "Deny",
                    ["Condition"] = new Dictionary<string, object> { ["Bool"] = new Dictionary<string, object> { ["aws:SecureTransport"] = "false" } },
                })]),
            }),
        }));
    }
}
