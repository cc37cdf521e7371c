using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Molly.Storage;

namespace Molly.Workflows;

public sealed class WorkflowEngineOptions
{
    /// <summary>Executions stepped at the same time by <see cref="WorkflowEngine.RunAsync"/>.</summary>
    public int MaxConcurrency { get; init; } = 16;

    /// <summary>The longest the scheduler sleeps without looking at the due index (a safety net; starts and callbacks wake it).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Steps one worker takes on one execution before handing it back to the scheduler (fairness).</summary>
    public int MaxInlineSteps { get; init; } = 200;

    public void Validate()
    {
        if (MaxConcurrency is < 1 or > 1024) throw new ArgumentOutOfRangeException(nameof(MaxConcurrency), MaxConcurrency, "1..1024");
        if (PollInterval <= TimeSpan.Zero || PollInterval > TimeSpan.FromMinutes(5)) throw new ArgumentOutOfRangeException(nameof(PollInterval), PollInterval, "0..5 minutes");
        if (MaxInlineSteps is < 1 or > 100_000) throw new ArgumentOutOfRangeException(nameof(MaxInlineSteps), MaxInlineSteps, "1..100000");
    }
}

/// <summary>
/// The local, durable interpreter of workflows/*.asl.json (ARCHITECTURE.md). Every transition is one item-store transaction:
/// the execution item (conditioned on its version, so no transition is applied twice), its history events, its due-index
/// entry and any token or child items. A Task handler runs before the transaction that records its result, so after a
/// crash it may run again (at least once: handlers are idempotent); the transition itself is applied once.
/// <para>Runnable executions and timers are entries in a due index (partition <c>wfdue</c>, sort key = due time), read
/// with a range query up to now, never a scan; a restart picks them up where the last commit left them.</para>
/// </summary>
public sealed class WorkflowEngine
{
    private const string ExecPrefix = "wfx#";
    private const string ExecSk = "exec";
    private const string DuePk = "wfdue";
    private const string TokenPrefix = "wftok#";
    private const string HistoryPrefix = "h#";
    private const int MaxCommitAttempts = 20;
    private const int MaxGroupedSteps = 25;

    private readonly IItemStore _store;
    private readonly WorkflowDefinitions _definitions;
    private readonly WorkflowTaskHandlers _handlers;
    private readonly TimeProvider _time;
    private readonly WorkflowEngineOptions _options;
    private readonly ILogger _log;
    private readonly ConcurrentDictionary<string, byte> _inflight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _backoff = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _slots;
    private readonly SemaphoreSlim _wake = new(0);

    public WorkflowEngine(
        IItemStore store, WorkflowDefinitions definitions, WorkflowTaskHandlers handlers, TimeProvider time,
        WorkflowEngineOptions? options = null, ILogger<WorkflowEngine>? log = null)
    {
        _store = store;
        _definitions = definitions;
        _handlers = handlers;
        _time = time;
        _options = options ?? new WorkflowEngineOptions();
        _options.Validate();
        _log = (ILogger?)log ?? NullLogger.Instance;
        _slots = new SemaphoreSlim(_options.MaxConcurrency);
    }

    /// <summary>Jitter source for JitterStrategy FULL (tests may fix it).</summary>
    public Random Random { get; init; } = Random.Shared;

    public WorkflowDefinitions Definitions => _definitions;

    // ---------------------------------------------------------------- public API

    /// <summary>
    /// Starts <paramref name="workflow"/> as execution <paramref name="executionName"/> (a new GUID when null). The same name
    /// twice starts once: the second call returns the existing execution (Started = false), or throws
    /// <see cref="ExecutionAlreadyExistsException"/> when the input differs, as Step Functions does.
    /// </summary>
    public async Task<StartExecutionResult> StartAsync(string workflow, string? executionName, JsonNode? input, CancellationToken ct = default)
    {
        if (!_definitions.Contains(workflow)) throw new ArgumentException($"Unknown workflow '{workflow}'.", nameof(workflow));
        var name = executionName ?? Guid.NewGuid().ToString("N");
        ValidateName(name);
        var id = $"{workflow}:{name}";
        var now = _time.GetUtcNow();
        var machine = _definitions.Get(workflow);
        var rec = new Rec(new ExecutionData
        {
            Id = id, Workflow = workflow, Machine = workflow, Name = name, RootId = id, RootName = name, RootStart = now,
            Input = input?.DeepClone(), StartDate = now,
            Deadline = machine.TimeoutSeconds is { } limit ? now.AddSeconds(limit) : null,
        }, version: 0, dueSk: null, isNew: true);
        Emit(rec, "ExecutionStarted", null, Detail("input", input), now);
        EnterState(rec, machine.States[machine.StartAt], input?.DeepClone(), now);
        var tx = new Tx(now);
        tx.Stage(rec, now);
        try
        {
            await CommitAsync(tx, ct);
        }
        catch (ConditionFailedException)
        {
            var existing = await LoadAsync(id, ct) ?? throw new InvalidOperationException($"Execution '{id}' vanished during start.");
            if (!JsonNode.DeepEquals(existing.D.Input, input)) throw new ExecutionAlreadyExistsException(id);
            return new StartExecutionResult(id, Started: false, existing.D.StartDate);
        }
        _log.LogInformation("Workflow execution {ExecutionId} started", id);
        Wake();
        return new StartExecutionResult(id, Started: true, now);
    }

    public async Task<ExecutionDescription?> DescribeAsync(string executionId, CancellationToken ct = default)
    {
        var rec = await LoadAsync(executionId, ct);
        if (rec is null) return null;
        var d = rec.D;
        return new ExecutionDescription(d.Id, d.Workflow, d.Name, d.Status, d.Input?.DeepClone(), d.Output?.DeepClone(), d.Error, d.Cause,
            d.StartDate, d.StopDate, d.Status == ExecutionStatus.Running ? d.State : null)
        {
            AwaitingTaskToken = d.Status == ExecutionStatus.Running && d.Phase == Phase.Waiting && d.TokenHashes is { Count: > 0 },
        };
    }

    public async Task<IReadOnlyList<HistoryEvent>> GetHistoryAsync(string executionId, CancellationToken ct = default)
    {
        var events = new List<HistoryEvent>();
        string? cursor = null;
        do
        {
            var page = await _store.QueryAsync(new Query(ExecPrefix + executionId)
            {
                SortKey = SortKeyCondition.BeginsWith(HistoryPrefix), Limit = 500, Cursor = cursor,
            }, ct);
            foreach (var item in page.Items)
                foreach (var e in JsonNode.Parse(item.RequireString("events"))!.AsArray())
                    events.Add(new HistoryEvent(
                        e!["id"]!.GetValue<long>(),
                        e["type"]!.GetValue<string>(),
                        DateTimeOffset.Parse(e["ts"]!.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal),
                        e["state"]?.GetValue<string>(),
                        e["details"]?.DeepClone()));
            cursor = page.Cursor;
        } while (cursor is not null);
        return events;
    }

    /// <summary>The ids of a Parallel state's branch executions for attempt <paramref name="gen"/> (for tools and tests).</summary>
    public static string BranchExecutionId(string parentId, long gen, int branch) => $"{parentId}/{gen}/{branch}";

    public Task SendTaskSuccessAsync(string taskToken, JsonNode? output, CancellationToken ct = default) =>
        CallbackAsync(taskToken, Outcome.Success(output), ct);

    public Task SendTaskFailureAsync(string taskToken, string? error, string? cause, CancellationToken ct = default) =>
        CallbackAsync(taskToken, Outcome.Failure(string.IsNullOrEmpty(error) ? StatesErrors.TaskFailed : error, cause), ct);

    public Task SendTaskHeartbeatAsync(string taskToken, CancellationToken ct = default) =>
        CallbackAsync(taskToken, Outcome.Heartbeat, ct);

    /// <summary>
    /// The scheduler: until <paramref name="ct"/> fires, reads the due index and steps due executions on up to
    /// <see cref="WorkflowEngineOptions.MaxConcurrency"/> workers; sleeps until the next due time, a wake-up (start,
    /// callback) or the poll interval. On stop it waits for the steps in flight.
    /// </summary>
    public async Task RunAsync(CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                int dispatched;
                try
                {
                    dispatched = await DispatchDueAsync(ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _log.LogError(e, "Workflow scheduler could not read the due index");
                    dispatched = 0;
                }
                if (dispatched == 0) await WaitForWorkAsync(ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        for (var i = 0; i < _options.MaxConcurrency; i++) await _slots.WaitAsync(CancellationToken.None);
        _slots.Release(_options.MaxConcurrency);
    }

    /// <summary>
    /// Steps every execution that is due now until none is (timers in the future stay); returns the number of steps run.
    /// For tests (with a driven TimeProvider), tools and benchmarks; a host uses <see cref="RunAsync"/>.
    /// </summary>
    public async Task<int> RunUntilIdleAsync(CancellationToken ct = default)
    {
        var total = 0;
        while (true)
        {
            var page = await _store.QueryAsync(DueQuery(_time.GetUtcNow()), ct);
            var ids = page.Items.Select(i => (Id: i.RequireString("exec"), Sk: i.SK)).DistinctBy(x => x.Id).ToList();
            if (ids.Count == 0) return total;
            var steps = await Task.WhenAll(ids.Select(async x =>
            {
                await _slots.WaitAsync(ct);
                try { return await ProcessAsync(x.Id, x.Sk, ct); }
                finally { _slots.Release(); }
            }));
            var ran = steps.Sum();
            total += ran;
            if (ran == 0) return total;
        }
    }

    /// <summary>The next time a timer or retry is due, or null when nothing is scheduled.</summary>
    public async Task<DateTimeOffset?> NextDueAsync(CancellationToken ct = default)
    {
        var page = await _store.QueryAsync(new Query(DuePk) { Limit = 1 }, ct);
        return page.Items.Count == 0 ? null : DueTime(page.Items[0].SK);
    }

    // ---------------------------------------------------------------- scheduler

    private static Query DueQuery(DateTimeOffset now) =>
        new(DuePk) { SortKey = SortKeyCondition.LessThan(DuePrefix(now.AddTicks(1))), Limit = 256 };

    private async Task<int> DispatchDueAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var page = await _store.QueryAsync(DueQuery(now), ct);
        var dispatched = 0;
        foreach (var item in page.Items)
        {
            var id = item.RequireString("exec");
            if (_backoff.TryGetValue(id, out var until) && until > now) continue;
            if (!_inflight.TryAdd(id, 0)) continue;
            try
            {
                await _slots.WaitAsync(ct);
            }
            catch
            {
                _inflight.TryRemove(id, out _);
                throw;
            }
            dispatched++;
            var sk = item.SK;
            _ = Task.Run(async () =>
            {
                try
                {
                    await ProcessAsync(id, sk, ct);
                    _backoff.TryRemove(id, out _);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                }
                catch (Exception e)
                {
                    // The due entry stays: the step runs again after a pause instead of in a hot loop.
                    _backoff[id] = _time.GetUtcNow().AddSeconds(5);
                    _log.LogError(e, "Workflow execution {ExecutionId} step failed; it will be retried", id);
                }
                finally
                {
                    _inflight.TryRemove(id, out _);
                    _slots.Release();
                    Wake();
                }
            }, CancellationToken.None);
        }
        return dispatched;
    }

    private async Task WaitForWorkAsync(CancellationToken ct)
    {
        var delay = _options.PollInterval;
        var next = await NextDueAsync(ct);
        if (next is { } due)
        {
            var untilDue = due - _time.GetUtcNow();
            if (untilDue < delay) delay = untilDue < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : untilDue;
        }
        using var timeout = new CancellationTokenSource(delay, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            await _wake.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
        }
    }

    private void Wake()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    // ---------------------------------------------------------------- stepping

    /// <summary>Steps one execution while it stays runnable now; returns the number of committed steps.</summary>
    private async Task<int> ProcessAsync(string id, string? dueSk, CancellationToken ct)
    {
        var rec = await LoadAsync(id, ct);
        if (rec is null)
        {
            if (dueSk is not null) await _store.DeleteAsync(new ItemKey(DuePk, dueSk), ct: ct);
            return 0;
        }
        if (rec.D.ParentId is not null && rec.D.Status == ExecutionStatus.Running && await AbortIfOrphanedAsync(id, ct)) return 1;
        var steps = 0;
        while (steps < _options.MaxInlineSteps)
        {
            if (rec.D.Status != ExecutionStatus.Running)
            {
                if (rec.DueSk is not null) await CommitStaleAsync(rec, ct);
                return steps;
            }
            var (committed, next) = await StepAsync(rec, ct);
            if (next is null) return steps; // not due
            if (committed) steps++;
            rec = next;
        }
        return steps;
    }

    /// <summary>
    /// Aborts a branch execution whose Parallel state no longer waits for it (failed, retried or gone). Runs after the
    /// parent's transition and, as a safety net after a crash, whenever the branch is stepped.
    /// </summary>
    private async Task<bool> AbortIfOrphanedAsync(string id, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxCommitAttempts; attempt++)
        {
            var rec = await LoadAsync(id, ct);
            if (rec is null || rec.D.Status != ExecutionStatus.Running || rec.D.ParentId is null) return false;
            var parent = await LoadAsync(rec.D.ParentId, ct);
            if (parent is not null && parent.D.Status == ExecutionStatus.Running && parent.D.Gen == rec.D.ParentGen
                && parent.D.Phase == Phase.Waiting) return false;
            var tx = new Tx(_time.GetUtcNow());
            ClearTokens(tx, rec.D);
            rec.D.Status = ExecutionStatus.Aborted;
            rec.D.StopDate = tx.Now;
            Emit(rec, "ExecutionAborted", rec.D.State, null, tx.Now);
            tx.Stage(rec, null);
            try
            {
                await CommitAsync(tx, ct);
                return true;
            }
            catch (ConditionFailedException)
            {
            }
        }
        return false;
    }

    private async Task CommitStaleAsync(Rec rec, CancellationToken ct)
    {
        var tx = new Tx(_time.GetUtcNow());
        tx.Stage(rec, null);
        try { await CommitAsync(tx, ct); }
        catch (ConditionFailedException) { }
    }

    /// <summary>
    /// One step. Returns (committed, the record to continue with) or (false, null) when the execution is not due now.
    /// </summary>
    private async Task<(bool Committed, Rec? Next)> StepAsync(Rec rec, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var d = rec.D;
        var def = StateOf(d);
        if (d.Deadline <= now) return await TimeOutExecutionAsync(rec, ct);
        Outcome outcome;
        switch (d.Phase)
        {
            case Phase.Timer:
                if (d.WakeAt > now) return (false, null);
                outcome = Outcome.Continue;
                break;
            case Phase.Waiting when d.SpawnPending:
                await SpawnBranchesAsync(rec, def, ct);
                outcome = Outcome.Spawned;
                break;
            case Phase.Waiting:
                if (d.TimeoutAt <= now) outcome = Outcome.Failure(StatesErrors.Timeout, $"State '{d.State}' timed out.");
                else if (d.HeartbeatAt <= now) outcome = Outcome.Failure(StatesErrors.HeartbeatTimeout, $"State '{d.State}' missed its heartbeat.");
                else return (false, null);
                break;
            default:
                if (d.WakeAt > now) return (false, null);
                if (def.Type == StateType.Task)
                {
                    outcome = await InvokeAsync(rec, def, ct);
                    if (outcome.Kind == OutcomeKind.Reload) return (false, await LoadAsync(d.Id, ct));
                }
                else outcome = Outcome.Continue;
                break;
        }
        var (ok, next) = await ApplyAndCommitAsync(rec, outcome, ct);
        return (ok, next ?? await LoadAsync(d.Id, ct));
    }

    /// <summary>
    /// Applies <paramref name="outcome"/> to the execution and commits. A conflict on a related item (a parent, a
    /// sibling) re-applies the same outcome to fresh copies; a conflict on the execution itself means someone else moved
    /// it (a callback, a timeout): the outcome is stale and dropped (returns false, null).
    /// </summary>
    private async Task<(bool Committed, Rec? Rec)> ApplyAndCommitAsync(Rec rec, Outcome outcome, CancellationToken ct)
    {
        var version = rec.Version;
        for (var attempt = 0; attempt < MaxCommitAttempts; attempt++)
        {
            var tx = new Tx(_time.GetUtcNow());
            await ApplyAsync(tx, rec, outcome, ct);
            // Side-effect-free states that follow (Pass, Choice, Succeed, Fail, a Wait already due) are applied into the
            // same transaction: a crash replays them deterministically, so grouping loses nothing and saves commits.
            // Task and Parallel states are never grouped: their side effects start only after their entry is committed.
            for (var grouped = 0; grouped < MaxGroupedSteps && IsPureAndDue(tx, rec); grouped++)
                await ApplyAsync(tx, rec, Outcome.Continue, ct);
            try
            {
                await CommitAsync(tx, ct);
                foreach (var sibling in tx.AfterCommit) await AbortIfOrphanedAsync(sibling, ct);
                if (tx.Touches.Count > 1) Wake();
                return (true, rec);
            }
            catch (ConditionFailedException)
            {
                var fresh = await LoadAsync(rec.D.Id, ct);
                if (fresh is null || fresh.Version != version) return (false, null);
                rec = fresh;
            }
        }
        throw new InvalidOperationException($"Execution '{rec.D.Id}': gave up after {MaxCommitAttempts} conflicting commits.");
    }

    /// <summary>The definition's TimeoutSeconds elapsed: the execution ends TIMED_OUT (Step Functions' status), error States.Timeout.</summary>
    private async Task<(bool Committed, Rec? Next)> TimeOutExecutionAsync(Rec rec, CancellationToken ct)
    {
        var tx = new Tx(_time.GetUtcNow());
        var d = rec.D;
        ClearTokens(tx, d);
        d.Status = ExecutionStatus.TimedOut;
        d.Error = StatesErrors.Timeout;
        d.Cause = "The execution ran longer than the definition's TimeoutSeconds.";
        d.StopDate = tx.Now;
        Emit(rec, "ExecutionTimedOut", d.State, new JsonObject { ["error"] = d.Error, ["cause"] = d.Cause }.ToJsonString(), tx.Now);
        tx.Stage(rec, null);
        try
        {
            await CommitAsync(tx, ct);
            return (true, rec);
        }
        catch (ConditionFailedException)
        {
            return (false, await LoadAsync(d.Id, ct));
        }
    }

    private bool IsPureAndDue(Tx tx, Rec rec)
    {
        var d = rec.D;
        if (tx.Touches.Count != 1 || tx.Ops.Count != 0 || tx.AfterCommit.Count != 0) return false;
        if (d.Status != ExecutionStatus.Running || d.Phase != Phase.Ready || d.WakeAt > tx.Now) return false;
        return StateOf(d).Type is StateType.Pass or StateType.Choice or StateType.Succeed or StateType.Fail or StateType.Wait;
    }

    /// <summary>Runs a Task's handler (the side effect, outside any transaction).</summary>
    private async Task<Outcome> InvokeAsync(Rec rec, StateDef def, CancellationToken ct)
    {
        var d = rec.D;
        string? token = null;
        if (def.WaitForTaskToken)
        {
            // The token's hash is committed before the handler sees the token, so a callback that arrives at once finds it.
            // After a crash the handler runs again with a new token; earlier tokens of this attempt stay valid.
            token = NewToken();
            var hash = HashToken(token);
            (d.TokenHashes ??= []).Add(hash);
            var tx = new Tx(_time.GetUtcNow());
            var tokenItem = new Item(TokenPrefix + hash, "token") { ["exec"] = d.Id, ["gen"] = d.Gen };
            tx.Ops.Add(TransactOp.Put(tokenItem, Condition.ItemAbsent));
            tx.Stage(rec, rec.DueTime ?? tx.Now);
            try { await CommitAsync(tx, ct); }
            catch (ConditionFailedException) { return Outcome.Reload; }
        }

        JsonNode? effective;
        int? timeout, heartbeat;
        try
        {
            effective = EffectiveInput(def, d, token);
            timeout = Seconds(def.TimeoutSeconds, def.TimeoutSecondsPath, d.StateInput, def, "TimeoutSecondsPath");
            heartbeat = Seconds(def.HeartbeatSeconds, def.HeartbeatSecondsPath, d.StateInput, def, "HeartbeatSecondsPath");
        }
        catch (WorkflowErrorException e)
        {
            return Outcome.Failure(e.Error, e.Cause);
        }
        if (!_handlers.TryGet(def.Handler!, out var handler))
            return Outcome.Failure(StatesErrors.Runtime,
                $"State '{def.Name}': no handler is registered for ${{{def.Handler}Arn}} (handler name '{def.Handler}').");

        var input = def.LambdaInvoke ? (effective as JsonObject)?["Payload"]?.DeepClone() : effective;
        var context = new WorkflowTaskContext(d.RootId, d.RootName, d.Workflow, def.Name, d.RetryCount, token);
        JsonNode? result;
        try
        {
            var call = handler(input, context, ct);
            result = timeout is { } t && !def.WaitForTaskToken ? await call.WaitAsync(TimeSpan.FromSeconds(t), _time, ct) : await call;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (TimeoutException)
        {
            return Outcome.Failure(StatesErrors.Timeout, $"State '{def.Name}' ran longer than {timeout} seconds.");
        }
        catch (WorkflowErrorException e)
        {
            return Outcome.Failure(e.Error, e.Cause);
        }
        catch (Exception e)
        {
            return Outcome.Failure(StatesErrors.TaskFailed, $"{e.GetType().Name}: {e.Message}");
        }
        if (def.WaitForTaskToken) return Outcome.Wait(timeout, heartbeat);
        if (def.LambdaInvoke)
            result = new JsonObject { ["ExecutedVersion"] = "$LATEST", ["Payload"] = result, ["StatusCode"] = 200 };
        return Outcome.Success(result);
    }

    /// <summary>
    /// Creates the branch executions of a Parallel state, one transaction each (an existing branch is left as it is, so a
    /// re-run after a crash creates only the missing ones).
    /// </summary>
    private async Task SpawnBranchesAsync(Rec rec, StateDef def, CancellationToken ct)
    {
        var d = rec.D;
        var effective = EffectiveInput(def, d, null);
        for (var i = 0; i < def.Branches.Count; i++)
        {
            var branch = def.Branches[i];
            var now = _time.GetUtcNow();
            var childId = BranchExecutionId(d.Id, d.Gen, i);
            var child = new Rec(new ExecutionData
            {
                Id = childId, Workflow = d.Workflow, Machine = branch.Key, Name = childId, ParentId = d.Id, BranchIndex = i,
                ParentGen = d.Gen, RootId = d.RootId, RootName = d.RootName, RootInput = d.RootInput ?? d.Input?.DeepClone(),
                RootStart = d.RootStart, Input = effective?.DeepClone(), StartDate = now,
            }, version: 0, dueSk: null, isNew: true);
            Emit(child, "ExecutionStarted", null, null, now);
            EnterState(child, branch.States[branch.StartAt], effective?.DeepClone(), now);
            var tx = new Tx(now);
            tx.Stage(child, now);
            try { await CommitAsync(tx, ct); }
            catch (ConditionFailedException) { } // created before a crash
        }
        Wake();
    }

    private async Task CallbackAsync(string token, Outcome outcome, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(token) || token.Length > 1024) throw new TaskTokenException("InvalidToken", "The task token is malformed.");
        var hash = HashToken(token);
        var tokenItem = await _store.GetAsync(new ItemKey(TokenPrefix + hash, "token"), ct)
                        ?? throw new TaskTokenException("TaskTimedOut", "The task token is not active (its task finished, timed out or never existed).");
        var id = tokenItem.RequireString("exec");
        var gen = tokenItem.RequireNumber("gen");
        for (var attempt = 0; attempt < MaxCommitAttempts; attempt++)
        {
            var rec = await LoadAsync(id, ct);
            if (rec is null || rec.D.Status != ExecutionStatus.Running || rec.D.Gen != gen || rec.D.TokenHashes?.Contains(hash) != true)
                throw new TaskTokenException("TaskTimedOut", "The task token is not active (its task finished, timed out or never existed).");
            if (outcome.Kind == OutcomeKind.Heartbeat)
            {
                if (rec.D.Phase != Phase.Waiting || rec.D.HeartbeatSeconds is not { } seconds) return;
                var tx = new Tx(_time.GetUtcNow());
                rec.D.HeartbeatAt = tx.Now.AddSeconds(seconds);
                tx.Stage(rec, Min(rec.D.TimeoutAt, rec.D.HeartbeatAt));
                try { await CommitAsync(tx, ct); return; }
                catch (ConditionFailedException) { continue; }
            }
            var (committed, _) = await ApplyAndCommitAsync(rec, outcome, ct);
            if (committed)
            {
                Wake();
                return;
            }
        }
        throw new InvalidOperationException($"Execution '{id}': the callback kept conflicting.");
    }

    // ---------------------------------------------------------------- state semantics

    private async Task ApplyAsync(Tx tx, Rec rec, Outcome outcome, CancellationToken ct)
    {
        var d = rec.D;
        var def = StateOf(d);
        try
        {
            switch (def.Type)
            {
                case StateType.Pass:
                {
                    var effective = EffectiveInput(def, d, null);
                    var result = def.HasResult ? def.Result?.DeepClone() : effective;
                    await ExitAsync(tx, rec, def, def.Next, ProcessResult(def, d, result, applySelector: false), ct);
                    break;
                }
                case StateType.Choice:
                {
                    var effective = InputPathOnly(def, d.StateInput);
                    var next = def.Choices.FirstOrDefault(c => c.Matches(effective))?.Next ?? def.Default
                               ?? throw new WorkflowErrorException(StatesErrors.NoChoiceMatched, $"State '{def.Name}': no Choice rule matched and there is no Default.");
                    await ExitAsync(tx, rec, def, next, OutputPathOnly(def, effective), ct);
                    break;
                }
                case StateType.Wait:
                {
                    var effective = InputPathOnly(def, d.StateInput);
                    if (d.Phase == Phase.Ready)
                    {
                        var until = WaitUntil(def, d, effective);
                        if (until > tx.Now)
                        {
                            d.Phase = Phase.Timer;
                            d.WakeAt = until;
                            tx.Stage(rec, until);
                            break;
                        }
                    }
                    await ExitAsync(tx, rec, def, def.Next, OutputPathOnly(def, effective), ct);
                    break;
                }
                case StateType.Succeed:
                    await ExitAsync(tx, rec, def, null, OutputPathOnly(def, InputPathOnly(def, d.StateInput)), ct);
                    break;
                case StateType.Fail:
                {
                    var error = def.Error ?? (def.ErrorPath is { } ep && ep.TryGet(d.StateInput, out var ev) ? ChoiceRule.AsString(ev) : null);
                    var cause = def.Cause ?? (def.CausePath is { } cp && cp.TryGet(d.StateInput, out var cv) ? ChoiceRule.AsString(cv) : null);
                    Emit(rec, "FailStateEntered", def.Name, null, tx.Now);
                    await FailExecutionAsync(tx, rec, error, cause, ct);
                    break;
                }
                case StateType.Task:
                case StateType.Parallel:
                    await ApplyWorkAsync(tx, rec, def, outcome, ct);
                    break;
            }
        }
        catch (WorkflowErrorException e)
        {
            if (def.Type is StateType.Task or StateType.Parallel) await HandleErrorAsync(tx, rec, def, e.Error, e.Cause, ct);
            else await FailExecutionAsync(tx, rec, e.Error, e.Cause, ct);
        }
    }

    private async Task ApplyWorkAsync(Tx tx, Rec rec, StateDef def, Outcome outcome, CancellationToken ct)
    {
        var d = rec.D;
        switch (outcome.Kind)
        {
            case OutcomeKind.Success:
                Emit(rec, def.Type == StateType.Task ? "TaskSucceeded" : "ParallelStateSucceeded", def.Name,
                    Detail("output", outcome.Result), tx.Now);
                await ExitAsync(tx, rec, def, def.Next, ProcessResult(def, d, outcome.Result, applySelector: true), ct);
                break;
            case OutcomeKind.Failure:
                await HandleErrorAsync(tx, rec, def, outcome.Error!, outcome.Cause, ct);
                break;
            case OutcomeKind.Wait:
                d.Phase = Phase.Waiting;
                d.WakeAt = null;
                d.TimeoutAt = outcome.TimeoutSeconds is { } t ? tx.Now.AddSeconds(t) : null;
                d.HeartbeatSeconds = outcome.HeartbeatSeconds;
                d.HeartbeatAt = outcome.HeartbeatSeconds is { } h ? tx.Now.AddSeconds(h) : null;
                Emit(rec, "TaskSubmitted", def.Name, null, tx.Now);
                tx.Stage(rec, Min(d.TimeoutAt, d.HeartbeatAt));
                break;
            case OutcomeKind.Continue when def.Type == StateType.Parallel:
                // Validate the input now (a path error is the state's error); the branches are created by the worker
                // right after this commit, each in its own transaction (SpawnPending keeps the state due until then).
                EffectiveInput(def, d, null);
                d.Phase = Phase.Waiting;
                d.WakeAt = null;
                d.SpawnPending = true;
                d.BranchResults = new JsonArray(new JsonNode?[def.Branches.Count]);
                d.BranchesDone = 0;
                Emit(rec, "ParallelStateStarted", def.Name, null, tx.Now);
                tx.Stage(rec, tx.Now);
                break;
            case OutcomeKind.Spawned:
                d.SpawnPending = false;
                tx.Stage(rec, null);
                break;
            default:
                throw new InvalidOperationException($"State '{def.Name}': unexpected outcome {outcome.Kind}.");
        }
    }

    /// <summary>Retry (the first retrier whose ErrorEquals matches, while it has attempts left), else Catch, else fail.</summary>
    private async Task HandleErrorAsync(Tx tx, Rec rec, StateDef def, string error, string? cause, CancellationToken ct)
    {
        var d = rec.D;
        Emit(rec, def.Type == StateType.Task ? "TaskFailed" : "ParallelStateFailed", def.Name,
            new JsonObject { ["error"] = error, ["cause"] = cause }.ToJsonString(), tx.Now);
        ClearTokens(tx, d);
        if (!StatesErrors.IsTerminal(error))
        {
            for (var i = 0; i < def.Retry.Count; i++)
            {
                var r = def.Retry[i];
                if (!r.ErrorEquals.Any(p => StatesErrors.Matches(p, error))) continue;
                var key = i.ToString(CultureInfo.InvariantCulture);
                var count = d.RetriesByRetrier?.GetValueOrDefault(key) ?? 0;
                if (count >= r.MaxAttempts) break; // this retrier is spent: on to Catch (spec: later retriers are not tried)
                var delay = r.IntervalSeconds * Math.Pow(r.BackoffRate, count);
                if (r.MaxDelaySeconds is { } max) delay = Math.Min(delay, max);
                if (r.FullJitter) delay *= Random.NextDouble();
                (d.RetriesByRetrier ??= [])[key] = count + 1;
                d.RetryCount++;
                d.Gen++;
                d.Phase = Phase.Ready;
                d.WakeAt = tx.Now.AddSeconds(delay);
                d.TimeoutAt = d.HeartbeatAt = null;
                d.BranchResults = null;
                d.SpawnPending = false;
                Emit(rec, "RetryScheduled", def.Name, new JsonObject { ["retrier"] = i, ["attempt"] = count + 1, ["delaySeconds"] = delay }.ToJsonString(), tx.Now);
                tx.Stage(rec, d.WakeAt);
                return;
            }
            foreach (var c in def.Catch)
            {
                if (!c.ErrorEquals.Any(p => StatesErrors.Matches(p, error))) continue;
                var errorOutput = new JsonObject { ["Error"] = error, ["Cause"] = cause };
                JsonNode? output;
                try
                {
                    output = c.DiscardResult ? d.StateInput?.DeepClone() : c.ResultPath is { } rp ? rp.Set(d.StateInput, errorOutput) : errorOutput;
                }
                catch (WorkflowErrorException e)
                {
                    await FailExecutionAsync(tx, rec, e.Error, e.Cause, ct);
                    return;
                }
                Emit(rec, "CatchMatched", def.Name, new JsonObject { ["error"] = error, ["next"] = c.Next }.ToJsonString(), tx.Now);
                await ExitAsync(tx, rec, def, c.Next, output, ct);
                return;
            }
        }
        await FailExecutionAsync(tx, rec, error, cause, ct);
    }

    private async Task ExitAsync(Tx tx, Rec rec, StateDef def, string? next, JsonNode? output, CancellationToken ct)
    {
        var d = rec.D;
        Emit(rec, $"{def.Type}StateExited", def.Name, Detail("output", output), tx.Now);
        ClearTokens(tx, d);
        if (next is null)
        {
            d.Status = ExecutionStatus.Succeeded;
            d.Output = output;
            d.StopDate = tx.Now;
            Emit(rec, "ExecutionSucceeded", null, Detail("output", output), tx.Now);
            tx.Stage(rec, null);
            if (d.ParentId is not null) await NotifyParentAsync(tx, rec, ct);
            return;
        }
        EnterState(rec, _definitions.Get(d.Machine).States[next], output, tx.Now);
        tx.Stage(rec, tx.Now);
    }

    private async Task FailExecutionAsync(Tx tx, Rec rec, string? error, string? cause, CancellationToken ct)
    {
        var d = rec.D;
        ClearTokens(tx, d);
        d.Status = ExecutionStatus.Failed;
        d.Error = error;
        d.Cause = cause;
        d.StopDate = tx.Now;
        Emit(rec, "ExecutionFailed", d.State, new JsonObject { ["error"] = error, ["cause"] = cause }.ToJsonString(), tx.Now);
        tx.Stage(rec, null);
        if (d.ParentId is not null) await NotifyParentAsync(tx, rec, ct);
    }

    /// <summary>A branch finished: record its output in the Parallel state, or fail the state and abort the other branches.</summary>
    private async Task NotifyParentAsync(Tx tx, Rec child, CancellationToken ct)
    {
        var parent = tx.Find(child.D.ParentId!) ?? await LoadAsync(child.D.ParentId!, ct);
        if (parent is null || parent.D.Status != ExecutionStatus.Running || parent.D.Phase != Phase.Waiting || parent.D.Gen != child.D.ParentGen)
            return; // the Parallel state already moved on (failed, retried): this branch's result is stale
        var p = parent.D;
        var def = StateOf(p);
        if (child.D.Status == ExecutionStatus.Succeeded)
        {
            p.BranchResults![child.D.BranchIndex] = child.D.Output?.DeepClone();
            p.BranchesDone++;
            if (p.BranchesDone < p.BranchResults.Count)
            {
                tx.Stage(parent, null);
                return;
            }
            await ApplyAsync(tx, parent, Outcome.Success(p.BranchResults.DeepClone()), ct);
            return;
        }
        for (var i = 0; i < p.BranchResults!.Count; i++)
            if (i != child.D.BranchIndex) tx.AfterCommit.Add(BranchExecutionId(p.Id, p.Gen, i));
        await ApplyAsync(tx, parent, Outcome.Failure(child.D.Error ?? StatesErrors.BranchFailed, child.D.Cause), ct);
    }

    private void EnterState(Rec rec, StateDef def, JsonNode? input, DateTimeOffset now)
    {
        var d = rec.D;
        d.State = def.Name;
        d.StateInput = input;
        d.EnteredTime = now;
        d.Phase = Phase.Ready;
        d.WakeAt = null;
        d.Gen++;
        d.RetryCount = 0;
        d.RetriesByRetrier = null;
        d.TimeoutAt = d.HeartbeatAt = null;
        d.HeartbeatSeconds = null;
        d.BranchResults = null;
        d.SpawnPending = false;
        d.BranchesDone = 0;
        Emit(rec, $"{def.Type}StateEntered", def.Name, Detail("input", input), now);
    }

    private StateDef StateOf(ExecutionData d) => _definitions.Get(d.Machine).States[d.State!];

    // ---------------------------------------------------------------- path processing (spec, "Input and Output Processing")

    private static JsonNode? InputPathOnly(StateDef def, JsonNode? raw)
    {
        if (def.DiscardInput) return new JsonObject();
        if (def.InputPath is null) return raw?.DeepClone();
        return def.InputPath.TryGet(raw, out var v)
            ? v?.DeepClone()
            : throw new WorkflowErrorException(StatesErrors.Runtime, $"State '{def.Name}': InputPath '{def.InputPath}' matched nothing in the input.");
    }

    private static JsonNode? OutputPathOnly(StateDef def, JsonNode? value)
    {
        if (def.DiscardOutput) return new JsonObject();
        if (def.OutputPath is null) return value;
        return def.OutputPath.TryGet(value, out var v)
            ? v?.DeepClone()
            : throw new WorkflowErrorException(StatesErrors.Runtime, $"State '{def.Name}': OutputPath '{def.OutputPath}' matched nothing.");
    }

    private JsonNode? EffectiveInput(StateDef def, ExecutionData d, string? token)
    {
        var input = InputPathOnly(def, d.StateInput);
        return def.Parameters is null ? input : def.Parameters.Build(input, def.Parameters.UsesContext ? ContextObject(d, token) : null);
    }

    /// <summary>ResultSelector (Task/Parallel), then ResultPath into the raw input, then OutputPath.</summary>
    private JsonNode? ProcessResult(StateDef def, ExecutionData d, JsonNode? result, bool applySelector)
    {
        if (applySelector && def.ResultSelector is not null)
            result = def.ResultSelector.Build(result, def.ResultSelector.UsesContext ? ContextObject(d, null) : null);
        JsonNode? combined;
        if (def.DiscardResult) combined = d.StateInput?.DeepClone();
        else if (def.ResultPath is null) combined = result;
        else combined = def.ResultPath.Set(d.StateInput, result);
        return OutputPathOnly(def, combined);
    }

    private static JsonObject ContextObject(ExecutionData d, string? token)
    {
        var context = new JsonObject
        {
            ["Execution"] = new JsonObject
            {
                ["Id"] = d.RootId,
                ["Name"] = d.RootName,
                ["Input"] = (d.RootInput ?? d.Input)?.DeepClone(),
                ["StartTime"] = Iso(d.RootStart),
            },
            ["StateMachine"] = new JsonObject { ["Id"] = d.Workflow, ["Name"] = d.Workflow },
            ["State"] = new JsonObject { ["Name"] = d.State, ["EnteredTime"] = Iso(d.EnteredTime), ["RetryCount"] = d.RetryCount },
        };
        if (token is not null) context["Task"] = new JsonObject { ["Token"] = token };
        return context;
    }

    private static DateTimeOffset WaitUntil(StateDef def, ExecutionData d, JsonNode? effective)
    {
        if (def.Seconds is { } s) return d.EnteredTime.AddSeconds(s);
        if (def.Timestamp is { } t) return t;
        if (def.SecondsPath is { } sp)
        {
            if (sp.TryGet(effective, out var v) && JsonNumber.TryGetDouble(v, out var secs) && secs >= 0)
                return d.EnteredTime.AddSeconds(secs);
            throw new WorkflowErrorException(StatesErrors.Runtime, $"State '{def.Name}': SecondsPath '{sp}' is not a non-negative number.");
        }
        var tp = def.TimestampPath!;
        if (tp.TryGet(effective, out var tv) && ChoiceRule.AsTimestamp(tv) is { } ts) return ts;
        throw new WorkflowErrorException(StatesErrors.Runtime, $"State '{def.Name}': TimestampPath '{tp}' is not an RFC 3339 timestamp.");
    }

    private static int? Seconds(int? literal, ReferencePath? path, JsonNode? input, StateDef def, string field)
    {
        if (literal is not null || path is null) return literal;
        if (path.TryGet(input, out var v) && JsonNumber.TryGetDouble(v, out var s) && s >= 1)
            return (int)s;
        throw new WorkflowErrorException(StatesErrors.Runtime, $"State '{def.Name}': {field} '{path}' is not a positive number.");
    }

    // ---------------------------------------------------------------- persistence

    private async Task<Rec?> LoadAsync(string id, CancellationToken ct)
    {
        var item = await _store.GetAsync(new ItemKey(ExecPrefix + id, ExecSk), ct);
        if (item is null) return null;
        return new Rec(JsonText.Deserialize(item.RequireString("data")), (long)item.RequireNumber("version"), item.GetString("dueSk"), isNew: false);
    }

    private async Task CommitAsync(Tx tx, CancellationToken ct)
    {
        var ops = new List<TransactOp>(tx.Ops);
        var applied = new List<(Rec Rec, string? DueSk)>();
        foreach (var rec in tx.Touches)
        {
            var d = rec.D;
            var dueSk = rec.DueSk;
            if (d.Status == ExecutionStatus.Running && d.Deadline is { } deadline && (rec.Due is null || rec.Due > deadline))
                rec.Due = deadline; // a waiting execution still wakes up to time out
            if (rec.Due is not { } due)
            {
                if (dueSk is not null) ops.Add(TransactOp.Delete(new ItemKey(DuePk, dueSk)));
                dueSk = null;
            }
            else
            {
                var wanted = DuePrefix(due) + "#" + d.Id;
                // A runnable execution keeps its past-due entry: no index churn on every step.
                var keep = dueSk is not null && (dueSk == wanted || (due <= tx.Now && DueTime(dueSk) <= tx.Now));
                if (!keep)
                {
                    if (dueSk is not null) ops.Add(TransactOp.Delete(new ItemKey(DuePk, dueSk)));
                    ops.Add(TransactOp.Put(new Item(DuePk, wanted) { ["exec"] = d.Id }));
                    dueSk = wanted;
                }
            }
            var item = new Item(ExecPrefix + d.Id, ExecSk)
            {
                ["status"] = d.Status,
                ["version"] = rec.Version + 1,
                ["data"] = JsonText.Serialize(d),
            };
            if (dueSk is not null) item["dueSk"] = dueSk;
            ops.Add(TransactOp.Put(item, rec.IsNew ? Condition.ItemAbsent : Condition.VersionEquals(rec.Version)));
            if (rec.Events.Count > 0)
            {
                // One history item per execution per transaction (keeps transactions small: DynamoDB Local allows 10 items).
                var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
                using (var w = new Utf8JsonWriter(buffer))
                {
                    w.WriteStartArray();
                    foreach (var e in rec.Events)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("id", e.Id);
                        w.WriteString("type", e.Type);
                        w.WriteString("ts", Iso(e.Timestamp));
                        if (e.State is not null) w.WriteString("state", e.State);
                        if (e.DetailsJson is not null)
                        {
                            w.WritePropertyName("details");
                            w.WriteRawValue(e.DetailsJson, skipInputValidation: true);
                        }
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }
                var events = Encoding.UTF8.GetString(buffer.WrittenSpan);
                ops.Add(TransactOp.Put(new Item(ExecPrefix + d.Id, HistoryPrefix + rec.Events[0].Id.ToString("D10", CultureInfo.InvariantCulture))
                {
                    ["events"] = events,
                }));
            }
            applied.Add((rec, dueSk));
        }
        await _store.TransactWriteAsync(ops, ct);
        foreach (var (rec, dueSk) in applied)
        {
            rec.Version++;
            rec.DueSk = dueSk;
            rec.IsNew = false;
            rec.Events.Clear();
        }
    }

    private static void Emit(Rec rec, string type, string? state, string? detailsJson, DateTimeOffset now) =>
        rec.Events.Add(new PendingEvent(++rec.D.EventSeq, type, now, state, detailsJson));

    /// <summary>{"key": value} as JSON text, without copying the value's node tree.</summary>
    private static string Detail(string key, JsonNode? value)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WritePropertyName(key);
            if (value is null) w.WriteNullValue();
            else value.WriteTo(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private sealed record PendingEvent(long Id, string Type, DateTimeOffset Timestamp, string? State, string? DetailsJson);

    private static void ClearTokens(Tx tx, ExecutionData d)
    {
        if (d.TokenHashes is null) return;
        foreach (var hash in d.TokenHashes) tx.Ops.Add(TransactOp.Delete(new ItemKey(TokenPrefix + hash, "token")));
        d.TokenHashes = null;
    }

    private static string DuePrefix(DateTimeOffset t) => t.UtcTicks.ToString("D19", CultureInfo.InvariantCulture);

    private static DateTimeOffset DueTime(string sk) =>
        new(long.Parse(sk.AsSpan(0, 19), NumberStyles.None, CultureInfo.InvariantCulture), TimeSpan.Zero);

    private static DateTimeOffset? Min(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>256 random bits, base64url: unguessable. Only its SHA-256 is stored.</summary>
    private static string NewToken() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string HashToken(string token) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    /// <summary>Step Functions' execution-name rules, so a name that works here works in AWS.</summary>
    internal static void ValidateName(string name)
    {
        const string forbidden = " <>{}[]?*\"#%\\^|~`$&,;:/";
        if (name.Length is 0 or > 80 || name.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || forbidden.Contains(c)))
            throw new ArgumentException(
                $"Execution name '{name}' is invalid: 1..80 characters, no whitespace, control characters or any of {forbidden.Trim()}.", nameof(name));
    }

    // ---------------------------------------------------------------- types

    private sealed class Rec(ExecutionData data, long version, string? dueSk, bool isNew)
    {
        public ExecutionData D { get; } = data;
        public long Version { get; set; } = version;
        public string? DueSk { get; set; } = dueSk;
        public bool IsNew { get; set; } = isNew;
        public DateTimeOffset? Due { get; set; }
        public List<PendingEvent> Events { get; } = [];
        public DateTimeOffset? DueTime => DueSk is null ? null : WorkflowEngine.DueTime(DueSk);
    }

    private sealed class Tx(DateTimeOffset now)
    {
        public DateTimeOffset Now { get; } = now;
        public List<TransactOp> Ops { get; } = [];
        public List<Rec> Touches { get; } = [];

        /// <summary>Branch executions to abort once this transaction has committed (their Parallel state failed).</summary>
        public List<string> AfterCommit { get; } = [];

        public void Stage(Rec rec, DateTimeOffset? due)
        {
            rec.Due = due;
            if (!Touches.Contains(rec)) Touches.Add(rec);
        }

        public Rec? Find(string id) => Touches.FirstOrDefault(r => r.D.Id == id);
    }

    private enum OutcomeKind { Continue, Success, Failure, Wait, Heartbeat, Reload, Spawned }

    private sealed record Outcome(OutcomeKind Kind, JsonNode? Result = null, string? Error = null, string? Cause = null,
        int? TimeoutSeconds = null, int? HeartbeatSeconds = null)
    {
        public static readonly Outcome Continue = new(OutcomeKind.Continue);
        public static readonly Outcome Heartbeat = new(OutcomeKind.Heartbeat);
        public static readonly Outcome Reload = new(OutcomeKind.Reload);
        public static readonly Outcome Spawned = new(OutcomeKind.Spawned);
        public static Outcome Success(JsonNode? result) => new(OutcomeKind.Success, result);
        public static Outcome Failure(string error, string? cause) => new(OutcomeKind.Failure, Error: error, Cause: cause);
        public static Outcome Wait(int? timeout, int? heartbeat) => new(OutcomeKind.Wait, TimeoutSeconds: timeout, HeartbeatSeconds: heartbeat);
    }
}
