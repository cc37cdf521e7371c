namespace Molly.Infra;

/// <summary>Where the CDK app finds the repository's folders, whether run by `cdk synth` (cwd = root) or from a test's bin folder.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Workflows => Path.Combine(Root, "workflows");
    public static string PublishRoot => Path.Combine(Root, ".local", "publish");
    public static string PlaceholderCode => Path.Combine(Root, "infra-cdk", "placeholder-code");

    private static string FindRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "cdk.json")) && Directory.Exists(Path.Combine(dir.FullName, "infra-cdk")))
                    return dir.FullName;
            }
        }
        throw new InvalidOperationException("Cannot find the repository root (a folder holding cdk.json and infra-cdk/).");
    }
}
