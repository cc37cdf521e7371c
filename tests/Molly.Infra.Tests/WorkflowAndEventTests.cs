using System.Text.Json;

using Amazon.CDK;
using Amazon.CDK.Assertions;
using Molly.Infra.Constructs;
using Xunit;
using Match = Amazon.CDK.Assertions.Match;
using Annotations = Amazon.CDK.Assertions.Annotations;

namespace Molly.Infra.Tests;

[Collection(StackCollection.Name)]
public sealed class WorkflowTests(StackFixture stacks)
{
    [Fact]
    public void Empty_workflows_folder_makes_no_state_machine()
    {
        stacks.Prod.Template.ResourceCountIs("AWS::StepFunctions::StateMachine", 0);
        stacks.Prod.Template.ResourceCountIs("AWS::Pipes::Pipe", 0);
    }

    [Fact]
    public void Every_asl_file_becomes_a_logged_traced_standard_machine_with_every_placeholder_substituted()
    {
        var machines = stacks.ProdWithWorkflows.Resources("AWS::StepFunctions::StateMachine").ToList();
        Assert.Equal(Directory.GetFiles(StackFixture.TestWorkflows, "*.asl.json").Length, machines.Count);
        foreach (var (_, m) in machines)
        {
            var p = m.GetProperty("Properties");
            Assert.Equal("STANDARD", p.GetProperty("StateMachineType").GetString());
            Assert.True(p.GetProperty("TracingConfiguration").GetProperty("Enabled").GetBoolean());
            Assert.Equal("ALL", p.GetProperty("LoggingConfiguration").GetProperty("Level").GetString());
            var definition = p.GetProperty("DefinitionString").ValueKind == JsonValueKind.String
                ? p.GetProperty("DefinitionString").GetString()! : p.GetProperty("DefinitionString").GetRawText();
            var used = System.Text.RegularExpressions.Regex.Matches(definition, @"\$\{([^}]*)\}").Select(x => x.Groups[1].Value).ToHashSet();
            Assert.NotEmpty(used);
            var substituted = p.GetProperty("DefinitionSubstitutions").EnumerateObject().Select(o => o.Name).ToHashSet();
            Assert.Subset(substituted, used);
        }
    }

    [Fact]
    public void The_definitions_are_the_asl_files_and_every_placeholder_has_a_substitution()
    {
        var machines = stacks.ProdWithWorkflows.Resources("AWS::StepFunctions::StateMachine")
            .ToDictionary(m => m.Resource.GetProperty("Properties").GetProperty("StateMachineName").GetString()!, m => m.Resource);
        foreach (var file in Directory.GetFiles(StackFixture.TestWorkflows, "*.asl.json"))
        {
            var name = Path.GetFileName(file)[..^".asl.json".Length];
            var p = machines[$"molly-prod-{name}"].GetProperty("Properties");
            Assert.Equal(File.ReadAllText(file), p.GetProperty("DefinitionString").GetString());
            var used = System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(file), @"\$\{([^}]*)\}").Select(x => x.Groups[1].Value).ToHashSet();
            var substitutions = p.GetProperty("DefinitionSubstitutions");
            foreach (var placeholder in used)
            {
                Assert.True(substitutions.TryGetProperty(placeholder, out var value), $"{name}: ${{{placeholder}}} has no substitution");
                if (placeholder.EndsWith("Arn", StringComparison.Ordinal))
                    Assert.Equal("Arn", value.GetProperty("Fn::GetAtt")[1].GetString()); // a Lambda function's ARN, not a literal
            }
        }
    }

    [Fact]
    public void Every_workflow_task_is_a_WorkflowTasks_lambda_told_its_handler_and_invokable_by_the_machine()
    {
        var functions = stacks.ProdWithWorkflows.Resources("AWS::Lambda::Function")
            .Where(f => f.Resource.GetProperty("Properties").GetProperty("Handler").GetString() == Molly.Infra.Stacks.MollyStack.WorkflowTasksHandler)
            .ToList();
        var tasks = functions.Select(f => f.Resource.GetProperty("Properties").GetProperty("Environment").GetProperty("Variables")
            .GetProperty("MOLLY_TASK").GetString()).Order().ToList();
        Assert.Equal(Molly.Infra.Stacks.MollyStack.WorkflowTaskNames.Order(), tasks);

        // Every ${NameArn} the ASL files use is one of those tasks (a new placeholder without a function fails synth anyway).
        var used = Directory.GetFiles(StackFixture.TestWorkflows, "*.asl.json")
            .SelectMany(f => System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(f), @"\$\{(\w+)Arn\}").Select(x => x.Groups[1].Value))
            .ToHashSet();
        used.Remove("SignWithdrawal"); // the Signer function, not a WorkflowTasks Lambda (SignerStackTests)
        Assert.Subset(tasks.ToHashSet()!, used!);

        var json = stacks.ProdWithWorkflows.Json.GetRawText();
        foreach (var (id, _) in functions)
            Assert.Contains("\"Fn::GetAtt\":[\"" + id + "\",\"Arn\"]", json.Replace(" ", "").Replace("\n", ""));
        stacks.ProdWithWorkflows.Template.HasResourceProperties("AWS::IAM::Policy", Match.ObjectLike(new Dictionary<string, object>
        {
            ["PolicyDocument"] = Match.ObjectLike(new Dictionary<string, object>
            {
                ["Statement"] = Match.ArrayWith([Match.ObjectLike(new Dictionary<string, object> { ["Action"] = "lambda:InvokeFunction" })]),
            }),
        }));
    }

    [Fact]
    public void Deposit_confirm_is_started_by_a_pipe_from_the_table_stream()
    {
        stacks.ProdWithWorkflows.Template.HasResourceProperties("AWS::Pipes::Pipe", Match.ObjectLike(new Dictionary<string, object>
        {
            ["Source"] = Match.ObjectLike(new Dictionary<string, object> { ["Fn::GetAtt"] = Match.ArrayWith(["StreamArn"]) }),
            ["TargetParameters"] = new Dictionary<string, object>
            {
                ["StepFunctionStateMachineParameters"] = new Dictionary<string, object> { ["InvocationType"] = "FIRE_AND_FORGET" },
            },
            ["SourceParameters"] = Match.ObjectLike(new Dictionary<string, object>
            {
                ["DynamoDBStreamParameters"] = Match.ObjectLike(new Dictionary<string, object> { ["DeadLetterConfig"] = Match.AnyValue() }),
            }),
        }));
    }

    [Fact]
    public void An_unbound_placeholder_fails_the_synth_naming_it()
    {
        var dir = Directory.CreateTempSubdirectory("molly-wf-").FullName;
        File.WriteAllText(Path.Combine(dir, "broken.asl.json"),
            """{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"${MissingFunctionArn}","End":true}}}""");
        var e = Assert.Throws<InvalidOperationException>(() => new Workflows(new Stack(new App(), "S"), "W", new WorkflowsProps
        {
            EnvironmentName = "test", Directory = dir, Bindings = new Dictionary<string, WorkflowBinding>(),
            LogRetention = Amazon.CDK.AWS.Logs.RetentionDays.ONE_DAY, LogRemovalPolicy = RemovalPolicy.DESTROY,
        }));
        Assert.Contains("${MissingFunctionArn}", e.Message);
        Assert.Contains("broken", e.Message);
    }

    [Fact]
    public void A_definition_that_is_not_asl_is_rejected()
    {
        Assert.Throws<InvalidOperationException>(() => Workflows.ValidateDefinition("x", """{"States":{}}""", []));
        Assert.Throws<InvalidOperationException>(() => Workflows.ValidateDefinition("x", "{not json", []));
        Assert.Equal(["A", "B"], Workflows.ValidateDefinition("x", """{"StartAt":"s","States":{},"c":"${B}${A}${B}"}""", ["A", "B", "C"]));
    }
}

public sealed class StreamProcessorTests
{
    [Fact]
    public void A_stream_processor_is_one_line_and_gets_partial_batches_bisect_retries_age_and_a_dlq()
    {
        var app = new App();
        var stack = new Stack(app, "StreamTest");
        var data = new DataTable(stack, "Data", new DataTableProps { DeletionProtection = false, RemovalPolicy = RemovalPolicy.DESTROY });
        var functions = new MollyFunctions(stack, "Functions", new FunctionDefaults
        {
            EnvironmentName = "test", Table = data.Table,
            PublishRoot = Directory.CreateTempSubdirectory("molly-empty-").FullName,
            PlaceholderCode = RepoPaths.PlaceholderCode, AllowPlaceholderCode = true,
            WebAdapterLayerArn = MollyEnvironment.DefaultWebAdapterLayerArn,
            LogRetention = Amazon.CDK.AWS.Logs.RetentionDays.ONE_DAY, LogRemovalPolicy = RemovalPolicy.DESTROY,
        });
        var events = new EventRouting(stack, "Events", new EventRoutingProps { EnvironmentName = "test", Table = data.Table });

        var processor = functions.AddEventFunction("StreamProcessor", "Molly.StreamProcessor::Molly.StreamProcessor.Function::Handle");
        events.ConnectStreamProcessor(processor.Function);

        var template = Template.FromStack(stack);
        template.HasResourceProperties("AWS::Lambda::Function", Match.ObjectLike(new Dictionary<string, object>
        {
            ["Handler"] = "Molly.StreamProcessor::Molly.StreamProcessor.Function::Handle",
            ["Runtime"] = "dotnet10",
            ["Architectures"] = new[] { "arm64" },
            ["MemorySize"] = 512,
            ["Layers"] = Match.Absent(),
        }));
        var dlqArn = new Capture();
        template.HasResourceProperties("AWS::Lambda::EventSourceMapping", Match.ObjectLike(new Dictionary<string, object>
        {
            ["FunctionResponseTypes"] = new[] { "ReportBatchItemFailures" },
            ["BisectBatchOnFunctionError"] = true,
            ["MaximumRetryAttempts"] = EventRouting.StreamRetryAttempts,
            ["MaximumRecordAgeInSeconds"] = 6 * 3600,
            ["StartingPosition"] = "TRIM_HORIZON",
            ["DestinationConfig"] = new Dictionary<string, object>
            {
                ["OnFailure"] = new Dictionary<string, object> { ["Destination"] = dlqArn },
            },
        }));
        var queueId = stack.GetLogicalId((CfnElement)events.StreamDeadLetters.Node.DefaultChild!);
        Assert.Contains(queueId, JsonSerializer.Serialize(dlqArn.AsObject()));
    }
}
