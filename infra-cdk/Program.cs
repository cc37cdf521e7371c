using Amazon.CDK;
using Molly.Infra;
using Molly.Infra.Stacks;

// One stack per environment, chosen by context: cdk synth -c env=dev|prod. Env-agnostic (no account/region, no lookups),
// so synth needs neither credentials nor network.
var app = new App();
var settings = MollyEnvironment.FromContext(app.Node);
_ = new MollyStack(app, $"Molly-{settings.Name}", new MollyStackProps
{
    Settings = settings,
    WorkflowsDirectory = RepoPaths.Workflows,
    PublishRoot = RepoPaths.PublishRoot,
    PlaceholderCode = RepoPaths.PlaceholderCode,
    Description = $"Molly crypto payment gateway ({settings.Name})",
});
app.Synth();
