using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Molly.Storage.Sqlite;
using Molly.Workflows;

namespace Molly.Cli;

/// <summary>
/// `molly workflows run FILE`: runs any ASL file with the local engine, for workflow authors. A Task's handler is a shell
/// command (--handler NAME=COMMAND): it gets the task input on stdin and MOLLY_STATE / MOLLY_EXECUTION / MOLLY_TASK_TOKEN
/// in its environment, and its stdout (JSON) is the result; a non-zero exit is a task failure whose error name is the
/// first line of stderr (States.TaskFailed when that line is not an error name). With --store the execution lives in
/// that SQLite file, so a second run with the same --name resumes it (after a crash, too).
/// </summary>
internal static class WorkflowsRunCommand
{
    public static Command Build(TextWriter output, TextWriter error)
    {
        var file = new Argument<FileInfo>("FILE") { Description = "the ASL definition (*.asl.json)" };
        var input = new Option<string>("--input") { Description = "execution input (JSON)", DefaultValueFactory = _ => "{}" };
        var handlers = new Option<string[]>("--handler")
        {
            Description = "NAME=COMMAND: run COMMAND (via /bin/sh -c) for the Tasks whose resource is ${NAMEArn}",
            AllowMultipleArgumentsPerToken = false,
        };
        var json = new Option<bool>("--json") { Description = "print one JSON object (status, output, error, cause[, history])" };
        var history = new Option<bool>("--history") { Description = "print the event history" };
        var store = new Option<FileInfo?>("--store") { Description = "SQLite file holding the execution (default: a temporary file)" };
        var name = new Option<string?>("--name") { Description = "execution name (default: a new id); the same name resumes" };
        var fast = new Option<bool>("--fast-timers") { Description = "do not really wait: Wait states and retry delays complete at once" };
        var cmd = new Command("run", "Run an ASL workflow file with the local engine") { file, input, handlers, json, history, store, name, fast };
        cmd.SetAction((r, ct) => ExecuteAsync(r.GetValue(file)!, r.GetValue(input)!, r.GetValue(handlers) ?? [], r.GetValue(json),
            r.GetValue(history), r.GetValue(store), r.GetValue(name), r.GetValue(fast), output, error, ct));
        return cmd;
    }

    private static async Task<int> ExecuteAsync(FileInfo file, string inputText, string[] handlerSpecs, bool asJson, bool withHistory,
        FileInfo? storeFile, string? executionName, bool fastTimers, TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (!file.Exists) throw new IOException($"No such file: {file.FullName}");
        var workflow = file.Name.EndsWith(WorkflowDefinitions.FileSuffix, StringComparison.Ordinal)
            ? file.Name[..^WorkflowDefinitions.FileSuffix.Length] : Path.GetFileNameWithoutExtension(file.Name);
        var definitions = new WorkflowDefinitions();
        try
        {
            definitions.Add(workflow, await File.ReadAllTextAsync(file.FullName, ct));
        }
        catch (InvalidDefinitionException e)
        {
            error.WriteLine($"error: {e.Message}");
            return 2;
        }
        JsonNode? input;
        try
        {
            input = JsonNode.Parse(inputText);
        }
        catch (JsonException e)
        {
            error.WriteLine($"error: --input is not JSON: {e.Message}");
            return 2;
        }

        var used = definitions.Get(workflow).Tasks().Select(t => t.Handler).ToHashSet(StringComparer.Ordinal);
        var registry = new WorkflowTaskHandlers();
        foreach (var spec in handlerSpecs)
        {
            var eq = spec.IndexOf('=');
            if (eq <= 0 || eq == spec.Length - 1)
            {
                error.WriteLine($"error: --handler '{spec}' is not NAME=COMMAND.");
                return 2;
            }
            var handlerName = NormalizeName(spec[..eq]);
            if (!used.Contains(handlerName))
            {
                error.WriteLine($"error: no Task of {file.Name} uses handler '{handlerName}' (used: {string.Join(", ", used.Order(StringComparer.Ordinal))}).");
                return 2;
            }
            var command = spec[(eq + 1)..];
            registry.Add(handlerName, (taskInput, context, token) => RunCommandAsync(command, taskInput, context, token));
        }

        var temp = storeFile is null ? Directory.CreateTempSubdirectory("molly-wf-") : null;
        var clock = new SkippingTimeProvider();
        try
        {
            await using var sqlite = SqliteItemStore.Open(new SqliteItemStoreOptions
            {
                Path = storeFile?.FullName ?? Path.Combine(temp!.FullName, "workflow.db"),
            }, clock);
            var engine = new WorkflowEngine(sqlite, definitions, registry, clock);
            StartExecutionResult started;
            try
            {
                started = await engine.StartAsync(workflow, executionName, input, ct);
            }
            catch (ExecutionAlreadyExistsException e)
            {
                error.WriteLine($"error: {e.Message}");
                return 2;
            }

            ExecutionDescription description;
            while (true)
            {
                await engine.RunUntilIdleAsync(ct);
                description = (await engine.DescribeAsync(started.ExecutionId, ct))!;
                if (description.Status != ExecutionStatus.Running || description.AwaitingTaskToken) break;
                var next = await engine.NextDueAsync(ct);
                if (next is null) break; // waiting for a task token: nothing this process can do
                var wait = next.Value - clock.GetUtcNow();
                if (wait <= TimeSpan.Zero) continue;
                if (fastTimers) clock.Skip(wait);
                else await Task.Delay(wait, ct);
            }

            var events = withHistory ? await engine.GetHistoryAsync(started.ExecutionId, ct) : [];
            Print(description, events, asJson, withHistory, output);
            if (description.Status == ExecutionStatus.Running)
            {
                error.WriteLine($"molly: execution {description.ExecutionId} waits in state '{description.CurrentState}' for a task token callback; " +
                                "nothing more runs in this process (use --store and --name to keep it).");
                return 3;
            }
            return description.Status == ExecutionStatus.Succeeded ? 0 : 1;
        }
        finally
        {
            temp?.Delete(recursive: true);
        }
    }

    /// <summary>Accepts CheckConfirmations, CheckConfirmationsArn and ${CheckConfirmationsArn}.</summary>
    private static string NormalizeName(string name) =>
        StateMachine.HandlerName(name.StartsWith("${", StringComparison.Ordinal) ? name : "${" + name + "}") ?? name;

    private static async Task<JsonNode?> RunCommandAsync(string command, JsonNode? input, WorkflowTaskContext context, CancellationToken ct)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        start.Environment["MOLLY_STATE"] = context.StateName;
        start.Environment["MOLLY_EXECUTION"] = context.ExecutionId;
        start.Environment["MOLLY_RETRY_COUNT"] = context.RetryCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (context.TaskToken is not null) start.Environment["MOLLY_TASK_TOKEN"] = context.TaskToken;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Cannot start /bin/sh for '{command}'.");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        try
        {
            await process.StandardInput.WriteAsync((input?.ToJsonString() ?? "null").AsMemory(), ct);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The command did not read its input: that is its business.
        }
        try
        {
            await process.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        var text = await stdout;
        var err = await stderr;
        if (process.ExitCode != 0)
        {
            var lines = err.Split('\n', 2);
            var first = lines[0].Trim();
            var isName = first.Length is > 0 and <= 256 && !first.Any(char.IsWhiteSpace);
            throw new WorkflowErrorException(isName ? first : StatesErrors.TaskFailed,
                isName ? (lines.Length > 1 ? lines[1].Trim() : $"exit code {process.ExitCode}") : $"exit code {process.ExitCode}: {err.Trim()}");
        }
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            return JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            throw new WorkflowErrorException(StatesErrors.TaskFailed, $"the handler's stdout is not JSON: {e.Message}");
        }
    }

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static void Print(ExecutionDescription d, IReadOnlyList<HistoryEvent> events, bool asJson, bool withHistory, TextWriter output)
    {
        if (asJson)
        {
            var o = new JsonObject
            {
                ["executionId"] = d.ExecutionId,
                ["status"] = d.Status,
                ["output"] = d.Output?.DeepClone(),
            };
            if (d.Error is not null) o["error"] = d.Error;
            if (d.Cause is not null) o["cause"] = d.Cause;
            if (d.CurrentState is not null) o["currentState"] = d.CurrentState;
            if (withHistory)
                o["history"] = new JsonArray(events.Select(e => (JsonNode)new JsonObject
                {
                    ["id"] = e.Id, ["type"] = e.Type, ["timestamp"] = e.Timestamp.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture), ["state"] = e.State, ["details"] = e.Details?.DeepClone(),
                }).ToArray());
            output.WriteLine(o.ToJsonString(Relaxed));
            return;
        }
        if (withHistory)
        {
            foreach (var e in events)
                output.WriteLine($"{e.Id,5}  {e.Timestamp:yyyy-MM-ddTHH:mm:ss.fffZ}  {e.Type,-28} {e.State,-24} {e.Details?.ToJsonString(Relaxed)}");
            output.WriteLine();
        }
        output.WriteLine($"{d.ExecutionId}: {d.Status}");
        if (d.Error is not null) output.WriteLine($"error: {d.Error}: {d.Cause}");
        if (d.Status == ExecutionStatus.Succeeded)
            output.WriteLine(d.Output?.ToJsonString(new JsonSerializerOptions(Relaxed) { WriteIndented = true }) ?? "null");
    }

    /// <summary>The wall clock, optionally pushed forward (--fast-timers) so timers come due at once.</summary>
    private sealed class SkippingTimeProvider : TimeProvider
    {
        private long _offsetTicks;

        public override DateTimeOffset GetUtcNow() => base.GetUtcNow().AddTicks(Interlocked.Read(ref _offsetTicks));

        public void Skip(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
    }
}
