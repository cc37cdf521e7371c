using System.Text.Json;
using Amazon.CDK;
using Amazon.CDK.Assertions;
using Molly.Infra.Stacks;
using Xunit;

// The jsii runtime behind Amazon.CDK.Lib is one node process per test process and is not thread-safe.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Molly.Infra.Tests;

/// <summary>A synthesised stack: the assertions Template and the raw template JSON (to walk every statement).</summary>
public sealed record SynthesizedStack(MollyStack Stack, Template Template, JsonElement Json)
{
    public IEnumerable<(string Id, JsonElement Resource)> Resources(string type) =>
        Json.GetProperty("Resources").EnumerateObject()
            .Where(r => r.Value.GetProperty("Type").GetString() == type)
            .Select(r => (r.Name, r.Value));
}

/// <summary>Synthesises dev, prod and a prod stack with the test workflows once per test run (each synth costs seconds).</summary>
public sealed class StackFixture
{
    /// <summary>The repository's workflows/ folder: the stacks are tested with the real definitions.</summary>
    public static string TestWorkflows => RepoPaths.Workflows;

    public SynthesizedStack Dev { get; } = Synth(MollyEnvironment.Dev, emptyWorkflows: true);
    public SynthesizedStack Prod { get; } = Synth(MollyEnvironment.Prod, emptyWorkflows: true);
    public SynthesizedStack ProdWithWorkflows { get; } = Synth(MollyEnvironment.Prod, emptyWorkflows: false);

    public IEnumerable<SynthesizedStack> All => [Dev, Prod, ProdWithWorkflows];

    public static SynthesizedStack Synth(MollyEnvironment settings, bool emptyWorkflows)
    {
        var outdir = Directory.CreateTempSubdirectory("molly-cdk-").FullName;
        var empty = Directory.CreateTempSubdirectory("molly-empty-").FullName;
        var app = new App(new AppProps { Outdir = outdir });
        var stack = new MollyStack(app, $"Molly-{settings.Name}", new MollyStackProps
        {
            Settings = settings with { AllowPlaceholderCode = true },
            WorkflowsDirectory = emptyWorkflows ? empty : TestWorkflows,
            PublishRoot = empty, // never the developer's .local/publish: tests always use the placeholder bundle
            PlaceholderCode = RepoPaths.PlaceholderCode,
        });
        var template = Template.FromStack(stack);
        var path = app.Synth().GetStackByName(stack.StackName).TemplateFullPath;
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return new SynthesizedStack(stack, template, doc.RootElement.Clone());
    }
}

[CollectionDefinition(Name)]
public sealed class StackCollection : ICollectionFixture<StackFixture>
{
    public const string Name = "stacks";
}
