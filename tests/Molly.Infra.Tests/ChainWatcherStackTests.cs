using Amazon.CDK;
using Amazon.CDK.Assertions;
using Molly.Infra.Stacks;
using Xunit;
using Match = Amazon.CDK.Assertions.Match;

namespace Molly.Infra.Tests;

[Collection(StackCollection.Name)]
public sealed class ChainWatcherStackTests(StackFixture stacks)
{
    private const string Handler = "Molly.ChainWatcher::Molly.ChainWatcher.Function::Handle";

    [Fact]
    public void The_chain_watcher_is_an_event_function_invoked_every_minute_by_a_schedule_rule()
    {
        var template = stacks.Prod.Template;
        var env = new Capture();
        template.HasResourceProperties("AWS::Lambda::Function", Match.ObjectLike(new Dictionary<string, object>
        {
            ["Handler"] = Handler,
            ["Runtime"] = "dotnet10",
            ["Timeout"] = 60,
            ["MemorySize"] = MollyEnvironment.Prod.ChainWatcherMemoryMb,
            ["ReservedConcurrentExecutions"] = 1,
            ["Layers"] = Match.Absent(),
            ["Environment"] = new Dictionary<string, object> { ["Variables"] = env },
        }));
        var vars = env.AsObject();
        Assert.Equal("DynamoDb", vars["Molly__Store__Kind"]);
        Assert.True(vars.ContainsKey("Molly__Store__TableName"));
        Assert.Equal("40", vars["Molly__ChainWatcher__BudgetSeconds"]); // well inside the 60 s timeout and the 1-minute rate

        var functionId = stacks.Prod.Stack.GetLogicalId((CfnElement)stacks.Prod.Stack.ChainWatcher.Function.Node.DefaultChild!);
        template.HasResourceProperties("AWS::Events::Rule", Match.ObjectLike(new Dictionary<string, object>
        {
            ["ScheduleExpression"] = "rate(1 minute)",
            ["State"] = "ENABLED",
            ["Targets"] = Match.ArrayWith([Match.ObjectLike(new Dictionary<string, object>
            {
                ["Arn"] = new Dictionary<string, object> { ["Fn::GetAtt"] = new[] { functionId, "Arn" } },
                ["RetryPolicy"] = Match.ObjectLike(new Dictionary<string, object> { ["MaximumRetryAttempts"] = 0 }),
            })]),
        }));
        template.HasResourceProperties("AWS::Lambda::Permission", Match.ObjectLike(new Dictionary<string, object>
        {
            ["Action"] = "lambda:InvokeFunction",
            ["Principal"] = "events.amazonaws.com",
            ["FunctionName"] = new Dictionary<string, object> { ["Fn::GetAtt"] = new[] { functionId, "Arn" } },
        }));
    }

    [Fact]
    public void Dev_reserves_no_concurrency_for_the_watcher()
    {
        var watcher = Assert.Single(stacks.Dev.Resources("AWS::Lambda::Function"),
            f => f.Resource.GetProperty("Properties").GetProperty("Handler").GetString() == Handler);
        Assert.False(watcher.Resource.GetProperty("Properties").TryGetProperty("ReservedConcurrentExecutions", out _));
    }

    [Fact]
    public void Chains_from_context_become_the_watchers_configuration()
    {
        var chains = MollyEnvironment.ParseEvmChains("ethereum:mainnet=https://a.example/rpc|https://b.example/rpc; bsc:mainnet=https://c.example");
        Assert.Equal(2, chains.Count);
        Assert.Equal(["https://a.example/rpc", "https://b.example/rpc"], chains[0].Endpoints);
        Assert.Equal("bsc", chains[1].Chain);
        Assert.Throws<ArgumentException>(() => MollyEnvironment.ParseEvmChains("ethereum=https://a"));
        Assert.Throws<ArgumentException>(() => MollyEnvironment.ParseEvmChains("ethereum:mainnet=ftp://a"));

        var synth = StackFixture.Synth(MollyEnvironment.Dev with { EvmChains = chains }, emptyWorkflows: true);
        var env = new Capture();
        synth.Template.HasResourceProperties("AWS::Lambda::Function", Match.ObjectLike(new Dictionary<string, object>
        {
            ["Handler"] = Handler,
            ["Environment"] = new Dictionary<string, object> { ["Variables"] = env },
        }));
        var vars = env.AsObject();
        Assert.Equal("ethereum", vars["Molly__Evm__Chains__0__Chain"]);
        Assert.Equal("mainnet", vars["Molly__Evm__Chains__0__Network"]);
        Assert.Equal("https://b.example/rpc", vars["Molly__Evm__Chains__0__Endpoints__1"]);
        Assert.Equal("https://c.example", vars["Molly__Evm__Chains__1__Endpoints__0"]);
    }

    [Fact]
    public void The_watcher_may_read_and_write_the_table()
    {
        var functionRole = stacks.Prod.Stack.ChainWatcher.Function.Role!;
        var roleId = stacks.Prod.Stack.GetLogicalId((CfnElement)functionRole.Node.DefaultChild!);
        var policies = stacks.Prod.Resources("AWS::IAM::Policy")
            .Where(p => p.Resource.GetProperty("Properties").GetProperty("Roles").EnumerateArray()
                .Any(r => r.TryGetProperty("Ref", out var id) && id.GetString() == roleId))
            .Select(p => p.Resource.GetProperty("Properties").GetProperty("PolicyDocument").GetRawText())
            .ToList();
        Assert.Contains(policies, p => p.Contains("dynamodb:PutItem", StringComparison.Ordinal) && p.Contains("dynamodb:Query", StringComparison.Ordinal));
    }
}

[Collection(StackCollection.Name)]
public sealed class DepositPipeTests(StackFixture stacks)
{
    [Fact]
    public void Deposit_confirm_starts_for_new_detected_deposit_items_as_the_watcher_writes_them()
    {
        var (_, pipe) = Assert.Single(stacks.ProdWithWorkflows.Resources("AWS::Pipes::Pipe"),
            p => p.Resource.GetProperty("Properties").GetProperty("Target").GetRawText().Contains("DepositConfirm", StringComparison.OrdinalIgnoreCase)
                 || p.Id.Contains("DepositConfirm", StringComparison.Ordinal));
        var pattern = pipe.GetProperty("Properties").GetProperty("SourceParameters").GetProperty("FilterCriteria")
            .GetProperty("Filters")[0].GetProperty("Pattern").GetString()!;
        using var json = System.Text.Json.JsonDocument.Parse(pattern);
        var image = json.RootElement.GetProperty("dynamodb").GetProperty("NewImage");
        Assert.Equal(Molly.Deposits.DepositKeys.Item, image.GetProperty("SK").GetProperty("S")[0].GetString());
        Assert.Equal(Molly.Deposits.DepositStatus.Detected, image.GetProperty("status").GetProperty("S")[0].GetString());
        Assert.Equal("INSERT", json.RootElement.GetProperty("eventName")[0].GetString());
    }
}
