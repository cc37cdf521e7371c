using System.Text.Json;
using Amazon.CDK;
using Molly.Infra.Constructs;
using Xunit;

namespace Molly.Infra.Tests;

[Collection(StackCollection.Name)]
public sealed class SignerStackTests(StackFixture stacks)
{
    private static string LogicalId(SynthesizedStack s, global::Constructs.IConstruct c) => s.Stack.GetLogicalId((CfnElement)c.Node.DefaultChild!);

    private static JsonElement Function(SynthesizedStack s) =>
        s.Json.GetProperty("Resources").GetProperty(LogicalId(s, s.Stack.Signer.Function)).GetProperty("Properties");

    [Fact]
    public void The_signer_runs_as_the_signer_role_on_dotnet10_arm64_with_deliberate_limits()
    {
        foreach (var (s, settings) in new[] { (stacks.Dev, MollyEnvironment.Dev), (stacks.Prod, MollyEnvironment.Prod) })
        {
            var p = Function(s);
            Assert.Equal(SignerSettings.Handler, p.GetProperty("Handler").GetString());
            Assert.Equal("dotnet10", p.GetProperty("Runtime").GetString());
            Assert.Equal(["arm64"], p.GetProperty("Architectures").EnumerateArray().Select(a => a.GetString()));
            Assert.Equal(SignerSettings.MemoryMb, p.GetProperty("MemorySize").GetInt32());
            Assert.Equal(SignerSettings.TimeoutSeconds, p.GetProperty("Timeout").GetInt32());
            Assert.Equal(settings.SignerReservedConcurrency, p.TryGetProperty("ReservedConcurrentExecutions", out var r) ? r.GetInt32() : null);
            Assert.Equal(LogicalId(s, s.Stack.Keys.SignerRole), p.GetProperty("Role").GetProperty("Fn::GetAtt")[0].GetString());
        }
        Assert.Equal(5, MollyEnvironment.Prod.SignerReservedConcurrency);
    }

    [Fact]
    public void Only_the_signer_function_uses_the_signer_role()
    {
        foreach (var s in stacks.All)
        {
            var signerRole = LogicalId(s, s.Stack.Keys.SignerRole);
            var users = s.Resources("AWS::Lambda::Function")
                .Where(f => f.Resource.GetProperty("Properties").GetProperty("Role").GetProperty("Fn::GetAtt")[0].GetString() == signerRole)
                .Select(f => f.Id).ToList();
            Assert.Equal([LogicalId(s, s.Stack.Signer.Function)], users);
        }
    }

    [Fact]
    public void Wallet_keys_come_from_the_stack_and_chain_ids_from_the_environment()
    {
        var s = stacks.Prod;
        var vars = Function(s).GetProperty("Environment").GetProperty("Variables");
        Assert.Equal(LogicalId(s, s.Stack.Keys.HotWallet), vars.GetProperty("Molly__Signer__Wallets__hot__KeyId").GetProperty("Fn::GetAtt")[0].GetString());
        Assert.Equal(LogicalId(s, s.Stack.Keys.WarmWallet), vars.GetProperty("Molly__Signer__Wallets__warm__KeyId").GetProperty("Fn::GetAtt")[0].GetString());
        Assert.Equal("1", vars.GetProperty("Molly__Signer__Wallets__hot__EvmChainIds__0").GetString());
        Assert.False(vars.TryGetProperty("Molly__Signer__Wallets__hot__EvmChainIds__1", out _));
        Assert.Equal("11155111", Function(stacks.Dev).GetProperty("Environment").GetProperty("Variables")
            .GetProperty("Molly__Signer__Wallets__hot__EvmChainIds__0").GetString());
        // The signer never touches the table: no policy of the signer role names it.
        var tableId = LogicalId(s, s.Stack.Data.Table);
        var signerPolicies = s.Resources("AWS::IAM::Policy").Where(p => p.Resource.GetProperty("Properties").GetProperty("Roles")
            .EnumerateArray().Any(r => r.GetProperty("Ref").GetString() == LogicalId(s, s.Stack.Keys.SignerRole)));
        Assert.All(signerPolicies, p => Assert.DoesNotContain(tableId, p.Resource.GetRawText()));
    }

    [Fact]
    public void Signer_chain_ids_are_validated()
    {
        Assert.Throws<ArgumentException>(() => MollyEnvironment.Dev with { SignerEvmChainIds = [] });
        Assert.Throws<ArgumentException>(() => MollyEnvironment.Dev with { SignerEvmChainIds = [0] });
        Assert.Equal([8453UL], (MollyEnvironment.Prod with { SignerEvmChainIds = [8453] }).SignerEvmChainIds);
    }

    [Fact]
    public void Signer_chain_ids_are_read_from_context()
    {
        var app = new App(new AppProps { Context = new Dictionary<string, object> { ["env"] = "prod", ["signerEvmChainIds"] = "1, 8453" } });
        Assert.Equal([1UL, 8453UL], MollyEnvironment.FromContext(app.Node).SignerEvmChainIds);
        var bad = new App(new AppProps { Context = new Dictionary<string, object> { ["env"] = "dev", ["signerEvmChainIds"] = "1,-5" } });
        Assert.Contains("'-5'", Assert.Throws<ArgumentException>(() => MollyEnvironment.FromContext(bad.Node)).Message);
        Assert.Equal([11_155_111UL], MollyEnvironment.FromContext(new App(new AppProps { Context = new Dictionary<string, object> { ["env"] = "dev" } }).Node).SignerEvmChainIds);
    }

    [Fact]
    public void The_withdrawal_workflow_signs_through_the_signer_function_and_may_invoke_it()
    {
        var s = stacks.ProdWithWorkflows;
        var signer = LogicalId(s, s.Stack.Signer.Function);
        var machine = Assert.Single(s.Resources("AWS::StepFunctions::StateMachine"),
            m => m.Resource.GetProperty("Properties").GetProperty("StateMachineName").GetString() == "molly-prod-withdrawal-approval").Resource;
        var definition = machine.GetProperty("Properties").GetProperty("DefinitionString").GetString()!;
        Assert.Contains("${" + Molly.Infra.Stacks.MollyStack.SignWithdrawalPlaceholder + "}", definition);
        var substitution = machine.GetProperty("Properties").GetProperty("DefinitionSubstitutions").GetProperty(Molly.Infra.Stacks.MollyStack.SignWithdrawalPlaceholder);
        Assert.Equal([signer, "Arn"], substitution.GetProperty("Fn::GetAtt").EnumerateArray().Select(x => x.GetString()));
        Assert.DoesNotContain(s.Resources("AWS::Lambda::Function"), f => f.Resource.GetProperty("Properties").TryGetProperty("Environment", out var e)
            && e.GetProperty("Variables").TryGetProperty("MOLLY_TASK", out var t) && t.GetString() == "SignWithdrawal");

        // The machine's role may invoke the signer (WorkflowBinding.Invoke -> GrantInvoke).
        var machineRole = machine.GetProperty("Properties").GetProperty("RoleArn").GetProperty("Fn::GetAtt")[0].GetString();
        var invoke = s.Resources("AWS::IAM::Policy")
            .Where(p => p.Resource.GetProperty("Properties").GetProperty("Roles").EnumerateArray().Any(r => r.GetProperty("Ref").GetString() == machineRole))
            .SelectMany(p => p.Resource.GetProperty("Properties").GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray())
            .Where(st => st.GetProperty("Action").GetRawText().Contains("lambda:InvokeFunction"));
        Assert.Contains(invoke, st => st.GetProperty("Resource").GetRawText().Contains($"\"{signer}\""));
    }
}
