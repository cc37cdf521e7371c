using System.Text.Json.Nodes;
using Molly.Storage;
using Molly.Storage.Sqlite;
using Molly.Testing;
using Xunit;

namespace Molly.Workflows.Tests;

/// <summary>A clock the tests move by hand, with timers (Microsoft.Extensions.TimeProvider.Testing is not on this feed).</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate) return _now;
    }

    public void Advance(TimeSpan by)
    {
        List<ManualTimer> due;
        lock (_gate)
        {
            _now += by;
            due = _timers.Where(t => t.DueAt <= _now).ToList();
            foreach (var t in due) _timers.Remove(t);
        }
        foreach (var t in due) t.Fire();
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset DueAt { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._gate)
            {
                owner._timers.Remove(this);
                if (dueTime == Timeout.InfiniteTimeSpan) return true;
                DueAt = owner._now + dueTime;
                owner._timers.Add(this);
            }
            return true;
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            lock (owner._gate) owner._timers.Remove(this);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}

public enum StoreKind { Sqlite, DynamoDb }

/// <summary>One engine over a fresh store (SQLite file or a DynamoDB Local table), a manual clock and test handlers.</summary>
public sealed class Harness : IAsyncDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private readonly string? _folder;
    private readonly SqliteItemStore? _sqlite;

    private Harness(IItemStore store, string? folder, SqliteItemStore? sqlite)
    {
        Store = store;
        _folder = folder;
        _sqlite = sqlite;
    }

    public IItemStore Store { get; }
    public ManualTimeProvider Time { get; } = new(Start);
    public WorkflowDefinitions Definitions { get; } = new();
    public WorkflowTaskHandlers Handlers { get; } = new();
    public WorkflowEngine Engine => _engine ??= new WorkflowEngine(Store, Definitions, Handlers, Time) { Random = new Random(42) };
    private WorkflowEngine? _engine;

    public static async Task<Harness> CreateAsync(StoreKind kind = StoreKind.Sqlite)
    {
        if (kind == StoreKind.DynamoDb) return new Harness(await DynamoDbLocal.Shared.CreateStoreAsync(), null, null);
        var folder = Directory.CreateTempSubdirectory("molly-wf-").FullName;
        var store = SqliteItemStore.Open(new SqliteItemStoreOptions { Path = Path.Combine(folder, "wf.db") });
        return new Harness(store, folder, store);
    }

    /// <summary>A second engine over the same store: what a restarted host has.</summary>
    public WorkflowEngine NewEngine() => new(Store, Definitions, Handlers, Time) { Random = new Random(7) };

    public Harness Workflow(string name, string json)
    {
        Definitions.Add(name, json);
        return this;
    }

    public Harness Handler(string name, Func<JsonNode?, JsonNode?> handler)
    {
        Handlers.Add(name, (input, _, _) => Task.FromResult(handler(input)));
        return this;
    }

    /// <summary>Starts <paramref name="workflow"/> and runs it until nothing is due now.</summary>
    public async Task<ExecutionDescription> RunAsync(string workflow, string input, string? name = null)
    {
        var started = await Engine.StartAsync(workflow, name, JsonNode.Parse(input));
        await Engine.RunUntilIdleAsync();
        return (await Engine.DescribeAsync(started.ExecutionId))!;
    }

    public async Task<ExecutionDescription> DescribeAsync(string id) => (await Engine.DescribeAsync(id))!;

    /// <summary>Moves the clock and runs what became due.</summary>
    public async Task AdvanceAsync(TimeSpan by)
    {
        Time.Advance(by);
        await Engine.RunUntilIdleAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_sqlite is not null) await _sqlite.DisposeAsync();
        if (_folder is not null) Directory.Delete(_folder, true);
    }
}

public static class Json
{
    public static void Equal(string expected, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), actual), $"expected {expected}\nactual   {actual?.ToJsonString() ?? "null"}");

    /// <summary>A one-state (or few-state) definition: <paramref name="states"/> is the body of the States object.</summary>
    public static string Machine(string startAt, string states) => "{\"StartAt\": \"" + startAt + "\", \"States\": {" + states + "}}";
}
