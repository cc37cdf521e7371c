using System.Diagnostics;
using System.Text.Json.Nodes;
using Molly.Cli;
using Xunit;

namespace Molly.Workflows.Tests;

/// <summary>`molly workflows run`, in-process and as a real process killed with SIGKILL mid-execution.</summary>
public sealed class CliTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("molly-cli-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string Write(string name, string json)
    {
        var path = Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, json);
        return path;
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = MollyCli.Run(args, o, e, showProgress: false);
        return (code, o.ToString(), e.ToString());
    }

    private const string Demo = """
        {"StartAt": "Add", "States": {
          "Add": {"Type": "Task", "Resource": "${AddArn}", "InputPath": "$.numbers", "ResultPath": "$.sum", "Next": "Nap"},
          "Nap": {"Type": "Wait", "Seconds": 3600, "Next": "Route"},
          "Route": {"Type": "Choice", "Choices": [{"Variable": "$.sum", "NumericGreaterThan": 5, "Next": "Both"}], "Default": "Done"},
          "Both": {"Type": "Parallel", "ResultPath": "$.both", "Branches": [
             {"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": "a", "End": true}}},
             {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": "${ShoutArn}", "Catch": [{"ErrorEquals": ["My.Error"], "Next": "C"}], "End": true},
                                         "C": {"Type": "Pass", "End": true}}}], "Next": "Done"},
          "Done": {"Type": "Succeed"}}}
        """;

    [Fact]
    public void Runs_a_file_with_shell_handlers_fast_timers_and_prints_output_and_history()
    {
        var file = Write("demo.asl.json", Demo);
        var (code, output, err) = Run("workflows", "run", file, "--input", """{"numbers": {"a": 3, "b": 4}}""", "--fast-timers", "--json", "--history",
            "--handler", "Add=python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[\"a\"] + d[\"b\"])'",
            "--handler", "${ShoutArn}=test \"$MOLLY_STATE\" = B && echo My.Error >&2 && echo it broke >&2; exit 4");
        Assert.True(code == 0, err + output);
        var result = JsonNode.Parse(output)!;
        Assert.Equal("SUCCEEDED", result["status"]!.GetValue<string>());
        Json.Equal("""{"numbers": {"a": 3, "b": 4}, "sum": 7, "both": ["a", {"Error": "My.Error", "Cause": "it broke"}]}""", result["output"]);
        var types = result["history"]!.AsArray().Select(e => e!["type"]!.GetValue<string>()).ToList();
        Assert.Equal("ExecutionStarted", types[0]);
        Assert.Contains("WaitStateExited", types);
        Assert.Equal("ExecutionSucceeded", types[^1]);
    }

    [Fact]
    public void A_Task_without_a_handler_fails_naming_the_state_and_placeholder()
    {
        var file = Write("demo.asl.json", Demo);
        var (code, output, _) = Run("workflows", "run", file, "--input", """{"numbers": {"a": 1, "b": 1}}""");
        Assert.Equal(1, code);
        Assert.Contains("FAILED", output);
        Assert.Contains("States.Runtime", output);
        Assert.Contains("'Add'", output);
        Assert.Contains("${AddArn}", output);
    }

    [Fact]
    public void A_non_zero_exit_without_an_error_name_is_States_TaskFailed_and_bad_arguments_are_refused()
    {
        var file = Write("one.asl.json", """{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "${XArn}", "End": true}}}""");
        var (code, output, _) = Run("workflows", "run", file, "--json", "--handler", "X=echo 'something went wrong' >&2; exit 1");
        Assert.Equal(1, code);
        var r = JsonNode.Parse(output)!;
        Assert.Equal("States.TaskFailed", r["error"]!.GetValue<string>());
        Assert.Contains("something went wrong", r["cause"]!.GetValue<string>());

        Assert.Equal(2, Run("workflows", "run", file, "--handler", "Nope=true").Code); // no Task uses it
        Assert.Equal(2, Run("workflows", "run", file, "--input", "{not json").Code);
        Assert.Equal(2, Run("workflows", "run", Write("bad.asl.json", """{"StartAt": "Z", "States": {}}""")).Code);
    }

    [Fact]
    public void A_task_token_wait_stops_the_run_with_exit_code_3_and_the_token_in_the_handler_environment()
    {
        var file = Write("tok.asl.json", """
            {"StartAt": "Ask", "States": {"Ask": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
              "Parameters": {"FunctionName": "${AskArn}", "Payload": {"t.$": "$$.Task.Token"}}, "TimeoutSeconds": 86400, "End": true}}}
            """);
        var seen = Path.Combine(_dir.FullName, "token.txt");
        var (code, _, err) = Run("workflows", "run", file, "--handler", "Ask=printf %s \"$MOLLY_TASK_TOKEN\" > '" + seen + "'");
        Assert.Equal(3, code);
        Assert.Contains("task token", err);
        Assert.True(File.ReadAllText(seen).Length >= 43);
    }

    [Fact]
    public void Really_waits_without_fast_timers()
    {
        var file = Write("w.asl.json", """{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}}""");
        var clock = Stopwatch.StartNew();
        var (code, _, _) = Run("workflows", "run", file);
        Assert.Equal(0, code);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.95), $"returned after {clock.Elapsed}");
    }

    /// <summary>
    /// A real crash: the CLI host runs a 12-task workflow against a SQLite file, is killed with SIGKILL while a task runs,
    /// and is started again with the same store and name. The execution resumes and finishes; each task's side effect ran
    /// at least once (at most the interrupted one twice) and each transition was applied exactly once.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task Kill_9_mid_execution_then_restart_resumes_and_applies_no_transition_twice()
    {
        const int steps = 12;
        var states = string.Join(",", Enumerable.Range(1, steps).Select(i =>
            $$"""
            "Step{{i:D2}}": {"Type": "Task", "Resource": "${IncArn}", {{(i == steps ? "\"End\": true" : $"\"Next\": \"Step{i + 1:D2}\"")}}}
            """));
        var file = Write("chain.asl.json", Json.Machine("Step01", states));
        var counter = Path.Combine(_dir.FullName, "side-effects.txt");
        var store = Path.Combine(_dir.FullName, "engine.db");
        var handler = $"Inc=read -r x; echo \"$MOLLY_STATE\" >> '{counter}'; sleep 0.25; echo $((x + 1))";
        string[] args = ["workflows", "run", file, "--input", "0", "--store", store, "--name", "crash-test", "--json", "--history", "--handler", handler];

        using (var first = StartCli(args))
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (LineCount(counter) < 5 && DateTime.UtcNow < deadline && !first.HasExited) await Task.Delay(20);
            Assert.False(first.HasExited, "the first run finished before it could be killed");
            first.Kill(); // SIGKILL on Unix: no shutdown code runs
            await first.WaitForExitAsync();
        }
        var before = LineCount(counter);
        Assert.InRange(before, 5, steps - 1);

        using var second = StartCli(args);
        var stdout = await second.StandardOutput.ReadToEndAsync();
        var stderr = await second.StandardError.ReadToEndAsync();
        await second.WaitForExitAsync();
        Assert.True(second.ExitCode == 0, stderr + stdout);

        var result = JsonNode.Parse(stdout)!;
        Assert.Equal("SUCCEEDED", result["status"]!.GetValue<string>());
        Assert.Equal(steps, result["output"]!.GetValue<int>()); // each step's +1 applied exactly once

        var history = result["history"]!.AsArray();
        var entered = history.Where(e => e!["type"]!.GetValue<string>() == "TaskStateEntered").Select(e => e!["state"]!.GetValue<string>()).ToList();
        Assert.Equal(Enumerable.Range(1, steps).Select(i => $"Step{i:D2}"), entered); // every transition once, in order
        Assert.Equal(Enumerable.Range(1, history.Count).Select(i => (long)i), history.Select(e => e!["id"]!.GetValue<long>()));

        var effects = File.ReadAllLines(counter);
        Assert.Equal(Enumerable.Range(1, steps).Select(i => $"Step{i:D2}"), effects.Distinct());
        Assert.InRange(effects.Length, steps, steps + 1); // at least once; only the task in flight at the kill ran twice
        Assert.True(effects.GroupBy(x => x).Count(g => g.Count() > 1) <= 1);
    }

    private static int LineCount(string path) => File.Exists(path) ? File.ReadAllLines(path).Length : 0;

    private static Process StartCli(string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "molly.dll"));
        foreach (var a in args) start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }
}
