using System.Text.Json;
using Amazon.CDK;
using Amazon.CDK.Assertions;
using Molly.Infra.Constructs;
using Molly.Infra.Stacks;
using Xunit;
using Match = Amazon.CDK.Assertions.Match;

namespace Molly.Infra.Tests;

[Collection(StackCollection.Name)]
public sealed class WebhookInfraTests(StackFixture stacks)
{
    private const string Handler = "Molly.WebhookDispatcher::Molly.Functions.WebhookDispatcher.Function::Handle";

    [Fact]
    public void The_dispatcher_function_reads_only_outbox_inserts_from_the_stream_with_partial_batch_failures_and_a_dlq()
    {
        foreach (var s in new[] { stacks.Dev, stacks.Prod })
        {
            s.Template.HasResourceProperties("AWS::Lambda::Function", Match.ObjectLike(new Dictionary<string, object>
            {
                ["Handler"] = Handler,
                ["Runtime"] = "dotnet10",
                ["Timeout"] = 60,
                ["Layers"] = Match.Absent(),
            }));
            var functionId = s.Stack.GetLogicalId((CfnElement)s.Stack.WebhookDispatcher.Function.Node.DefaultChild!);
            var mappings = s.Resources("AWS::Lambda::EventSourceMapping")
                .Where(m => m.Resource.GetProperty("Properties").GetProperty("FunctionName").GetRawText().Contains(functionId)).ToList();
            var mapping = Assert.Single(mappings).Resource.GetProperty("Properties");
            Assert.Equal("ReportBatchItemFailures", mapping.GetProperty("FunctionResponseTypes")[0].GetString());
            Assert.True(mapping.GetProperty("BisectBatchOnFunctionError").GetBoolean());
            Assert.Equal("TRIM_HORIZON", mapping.GetProperty("StartingPosition").GetString());
            Assert.True(mapping.GetProperty("DestinationConfig").GetProperty("OnFailure").TryGetProperty("Destination", out _));
            var pattern = JsonDocument.Parse(mapping.GetProperty("FilterCriteria").GetProperty("Filters")[0].GetProperty("Pattern").GetString()!).RootElement;
            Assert.Equal("INSERT", pattern.GetProperty("eventName")[0].GetString());
            Assert.Equal("outbox#", pattern.GetProperty("dynamodb").GetProperty("Keys").GetProperty("PK").GetProperty("S")[0].GetProperty("prefix").GetString());
        }
    }

    [Fact]
    public void A_one_minute_schedule_invokes_the_dispatcher_for_due_retries()
    {
        var functionId = stacks.Prod.Stack.GetLogicalId((CfnElement)stacks.Prod.Stack.WebhookDispatcher.Function.Node.DefaultChild!);
        var rule = Assert.Single(stacks.Prod.Resources("AWS::Events::Rule"),
            r => r.Resource.GetProperty("Properties").TryGetProperty("ScheduleExpression", out _)
                 && r.Resource.GetProperty("Properties").GetProperty("Targets").GetRawText().Contains(functionId, StringComparison.Ordinal));
        var p = rule.Resource.GetProperty("Properties");
        Assert.Equal("rate(1 minute)", p.GetProperty("ScheduleExpression").GetString());
        Assert.Contains(functionId, p.GetProperty("Targets")[0].GetProperty("Arn").GetRawText());
        stacks.Prod.Template.HasResourceProperties("AWS::Lambda::Permission", Match.ObjectLike(new Dictionary<string, object>
        {
            ["Action"] = "lambda:InvokeFunction",
            ["Principal"] = "events.amazonaws.com",
        }));
    }

    [Fact]
    public void The_dispatcher_may_use_the_envelope_key_but_never_sign()
    {
        var roleId = stacks.Prod.Stack.GetLogicalId((CfnElement)stacks.Prod.Stack.WebhookDispatcher.Function.Role!.Node.DefaultChild!);
        var policies = stacks.Prod.Resources("AWS::IAM::Policy")
            .Where(p => p.Resource.GetProperty("Properties").GetProperty("Roles").GetRawText().Contains(roleId))
            .Select(p => p.Resource.GetRawText()).ToList();
        Assert.NotEmpty(policies);
        Assert.Contains(policies, p => p.Contains("kms:Decrypt"));
        Assert.DoesNotContain(policies, p => p.Contains("kms:Sign"));
        Assert.Contains(policies, p => p.Contains("dynamodb:GetRecords"));
    }
}

[Collection(StackCollection.Name)]
public sealed class EnvelopeKeyConfigurationTests(StackFixture stacks)
{
    [Fact]
    public void The_api_and_the_dispatcher_are_told_the_envelope_key_arn_they_may_encrypt_and_decrypt_with()
    {
        foreach (var s in new[] { stacks.Dev, stacks.Prod })
        {
            var keyId = s.Stack.GetLogicalId((CfnElement)s.Stack.Keys.Envelope.Node.DefaultChild!);
            foreach (var function in new[] { s.Stack.ApiFunction.Function, s.Stack.WebhookDispatcher.Function })
            {
                var functionId = s.Stack.GetLogicalId((CfnElement)function.Node.DefaultChild!);
                var variables = s.Resources("AWS::Lambda::Function").Single(f => f.Id == functionId).Resource
                    .GetProperty("Properties").GetProperty("Environment").GetProperty("Variables");
                var value = variables.GetProperty(MollyStack.EnvelopeKeyVariable);
                Assert.Equal(keyId, value.GetProperty("Fn::GetAtt")[0].GetString());
                Assert.Equal("Arn", value.GetProperty("Fn::GetAtt")[1].GetString());

                var roleId = s.Stack.GetLogicalId((CfnElement)function.Role!.Node.DefaultChild!);
                var grants = s.Resources("AWS::IAM::Policy")
                    .Where(p => p.Resource.GetProperty("Properties").GetProperty("Roles").GetRawText().Contains(roleId))
                    .SelectMany(p => p.Resource.GetProperty("Properties").GetProperty("PolicyDocument").GetProperty("Statement").EnumerateArray())
                    .Where(st => st.GetProperty("Resource").GetRawText().Contains(keyId)).Select(st => st.GetProperty("Action").GetRawText()).ToList();
                Assert.Contains(grants, a => a.Contains("kms:Encrypt") && a.Contains("kms:Decrypt") && a.Contains("kms:GenerateDataKey"));
            }
            var api = s.Stack.GetLogicalId((CfnElement)s.Stack.ApiFunction.Function.Node.DefaultChild!);
            Assert.Equal("Aws", s.Resources("AWS::Lambda::Function").Single(f => f.Id == api).Resource
                .GetProperty("Properties").GetProperty("Environment").GetProperty("Variables").GetProperty("Molly__Mode").GetString());
        }
    }
}
