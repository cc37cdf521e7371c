using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit;

namespace Molly.Infra.Tests;

/// <summary>
/// Nothing in functions/ is left out of the stack, and every way the stack triggers a function has a sample event under
/// events-samples/&lt;function&gt;/ that a test replays (the file is named in a test source, its folder linked or read by a test).
/// </summary>
[Collection(StackCollection.Name)]
public sealed partial class CompletenessTests(StackFixture stacks)
{
    private static readonly string Root = RepoPaths.Root;

    /// <summary>functions/&lt;Project&gt; -> its assembly name and whether it is the ASP.NET Core app (behind the Web Adapter).</summary>
    private static IEnumerable<(string Project, string Assembly, bool Web)> Projects() =>
        Directory.GetDirectories(Path.Combine(Root, "functions")).Order(StringComparer.Ordinal).Select(dir =>
        {
            var project = Path.GetFileName(dir);
            var csproj = File.ReadAllText(Path.Combine(dir, project + ".csproj"));
            var assembly = AssemblyName().Match(csproj) is { Success: true } m ? m.Groups[1].Value : project;
            return (project, assembly, csproj.Contains("Microsoft.NET.Sdk.Web", StringComparison.Ordinal));
        });

    /// <summary>"ChainWatcher" -> "chain-watcher", the events-samples folder of a function.</summary>
    private static string SampleFolder(string project) => Kebab().Replace(project, "$1-$2").ToLowerInvariant();

    private static Dictionary<string, JsonElement> Functions(SynthesizedStack s) =>
        s.Resources("AWS::Lambda::Function").ToDictionary(f => f.Id, f => f.Resource.GetProperty("Properties"));

    private static string ProjectOf(JsonElement function, IReadOnlyList<(string Project, string Assembly, bool Web)> projects)
    {
        var handler = function.GetProperty("Handler").GetString()!;
        return handler == "run.sh"
            ? Assert.Single(projects, p => p.Web).Project
            : Assert.Single(projects, p => handler.StartsWith(p.Assembly + "::", StringComparison.Ordinal)).Project;
    }

    [Fact]
    public void Every_function_project_is_deployed_on_dotnet10_arm64_with_memory_and_timeout_set()
    {
        var projects = Projects().ToList();
        Assert.NotEmpty(projects);
        foreach (var s in stacks.All)
        {
            var functions = Functions(s);
            var deployed = functions.Values.Select(f => ProjectOf(f, projects)).ToHashSet();
            Assert.Equal(projects.Select(p => p.Project).Order(StringComparer.Ordinal), deployed.Order(StringComparer.Ordinal));
            foreach (var (id, p) in functions)
            {
                Assert.Equal("dotnet10", p.GetProperty("Runtime").GetString());
                Assert.Equal(["arm64"], p.GetProperty("Architectures").EnumerateArray().Select(a => a.GetString()));
                Assert.InRange(p.GetProperty("MemorySize").GetInt32(), 256, 3008);
                Assert.InRange(p.GetProperty("Timeout").GetInt32(), 1, 60); // Step Functions tasks time out at 60 s; the API at 29 s
            }
        }
    }

    [Fact]
    public void Every_trigger_of_every_function_has_a_sample_a_test_replays()
    {
        var s = stacks.ProdWithWorkflows;
        var projects = Projects().ToList();
        var json = s.Json.GetRawText();
        var testSources = Directory.GetFiles(Path.Combine(Root, "tests"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Select(File.ReadAllText).ToList();

        var missing = new List<string>();
        foreach (var (id, function) in Functions(s))
        {
            var project = ProjectOf(function, projects);
            var folder = Path.Combine(Root, "events-samples", SampleFolder(project));
            var samples = Directory.Exists(folder)
                ? Directory.GetFiles(folder, "*.json").ToDictionary(f => f, f => JsonDocument.Parse(File.ReadAllText(f)).RootElement.Clone())
                : [];
            foreach (var trigger in Triggers(s, id, function))
            {
                var matching = samples.Where(x => IsSampleOf(trigger, x.Value)).Select(x => x.Key).ToList();
                if (matching.Count == 0) missing.Add($"{project} ({id}): no {trigger} sample in events-samples/{SampleFolder(project)}");
                foreach (var file in matching)
                {
                    var name = Path.GetFileName(file);
                    // A test source that opens the folder, and either names the file or replays every file of the folder.
                    var readers = testSources.Where(t => t.Contains($"\"events-samples\", \"{SampleFolder(project)}\"", StringComparison.Ordinal)).ToList();
                    var replayed = readers.Count > 0 && (testSources.Any(t => t.Contains($"\"{name}\"", StringComparison.Ordinal))
                        || readers.Any(t => t.Contains("Directory.GetFiles(", StringComparison.Ordinal)));
                    if (!replayed) missing.Add($"{project}: events-samples/{SampleFolder(project)}/{name} is not replayed by any test");
                }
            }
        }
        Assert.True(missing.Count == 0, string.Join("\n", missing.Distinct()));
    }

    /// <summary>How the template triggers one function: api (the Web Adapter app), stream, schedule, task (a state machine).</summary>
    private static IEnumerable<string> Triggers(SynthesizedStack s, string id, JsonElement function)
    {
        if (function.GetProperty("Handler").GetString() == "run.sh") yield return "api";
        if (s.Resources("AWS::Lambda::EventSourceMapping").Any(m => m.Resource.GetProperty("Properties").GetProperty("FunctionName").GetRawText().Contains($"\"{id}\"")))
            yield return "stream";
        if (s.Resources("AWS::Events::Rule").Any(r => r.Resource.GetProperty("Properties").TryGetProperty("ScheduleExpression", out _)
                && r.Resource.GetProperty("Properties").GetProperty("Targets").GetRawText().Contains($"\"{id}\"")))
            yield return "schedule";
        if (s.Resources("AWS::StepFunctions::StateMachine").Any(m => m.Resource.GetProperty("Properties").TryGetProperty("DefinitionSubstitutions", out var subs)
                && subs.GetRawText().Contains($"\"{id}\"")))
            yield return "task";
    }

    private static bool IsSampleOf(string trigger, JsonElement sample) => trigger switch
    {
        "api" => sample.TryGetProperty("httpMethod", out _) && sample.TryGetProperty("requestContext", out _), // REST API: v1 proxy events
        // A batch with more than one record: the samples carry a poison record beside the good ones.
        "stream" => sample.TryGetProperty("Records", out var records) && records.GetArrayLength() > 1
            && records.EnumerateArray().All(r => r.GetProperty("eventSource").GetString() == "aws:dynamodb"),
        "schedule" => sample.TryGetProperty("detail-type", out var type) && type.GetString() == "Scheduled Event",
        "task" => sample.ValueKind == JsonValueKind.Object && !sample.TryGetProperty("Records", out _)
            && !sample.TryGetProperty("detail-type", out _) && !sample.TryGetProperty("requestContext", out _),
        _ => false,
    };

    [GeneratedRegex("<AssemblyName>([^<]+)</AssemblyName>")]
    private static partial Regex AssemblyName();

    [GeneratedRegex("([a-z0-9])([A-Z])")]
    private static partial Regex Kebab();
}
