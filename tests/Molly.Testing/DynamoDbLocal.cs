using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Molly.Storage.DynamoDb;

namespace Molly.Testing;

/// <summary>
/// DynamoDB Local for tests. <see cref="Shared"/> starts ONE server per test process on first use (in memory, a free port
/// on 127.0.0.1, through the loopback launcher installed by tools/setup.d/dynamodb-local.sh) and stops it by process id
/// when the process exits. If it is not installed the calling test fails, telling you to run ./test.sh.
/// <code>
/// var store = await DynamoDbLocal.Shared.CreateStoreAsync();   // a DynamoDbItemStore on a new, empty table
/// var client = DynamoDbLocal.Shared.CreateClient();            // after any call that started it (or await StartAsync())
/// var table = await DynamoDbLocal.Shared.CreateTableAsync();   // a new table with the single-table definition
/// </code>
/// </summary>
public sealed class DynamoDbLocal : IAsyncDisposable
{
    public const string Region = "us-east-1";
    private static readonly BasicAWSCredentials LocalCredentials = new("local", "local-secret");
    private static readonly HttpClient StreamsHttp = new() { Timeout = TimeSpan.FromSeconds(30) };
    private static readonly Lazy<DynamoDbLocal> SharedInstance = new(() => new DynamoDbLocal());

    private readonly SemaphoreSlim _startLock = new(1, 1);
    private Process? _process;
    private Uri? _endpoint;
    private int _tables;

    /// <summary>The server of this test process, started on first use.</summary>
    public static DynamoDbLocal Shared => SharedInstance.Value;

    /// <summary>Credentials the local server accepts (any are accepted; these are dummies).</summary>
    public static AWSCredentials Credentials => LocalCredentials;

    /// <summary>The endpoint (http://127.0.0.1:port/); only after <see cref="StartAsync"/>.</summary>
    public Uri Endpoint => _endpoint ?? throw new InvalidOperationException("DynamoDB Local is not started: await StartAsync() first.");

    /// <summary>How long the last start took (process launch to first answer).</summary>
    public TimeSpan StartupTime { get; private set; }

    /// <summary>Starts the server if it is not running; safe to call from many tests at once.</summary>
    public async Task StartAsync(CancellationToken ct = default)
    {
        if (_endpoint is not null) return;
        await _startLock.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            if (_endpoint is not null) return;
            var home = InstallDirectory();
            Exception? last = null;
            for (var attempt = 0; attempt < 3 && _endpoint is null; attempt++)
            {
                try { await LaunchAsync(home, ct).ConfigureAwait(false); }
                catch (IOException e) { last = e; } // port taken between probe and bind: try another
            }
            if (_endpoint is null) throw new InvalidOperationException("DynamoDB Local did not start.", last);
        }
        finally
        {
            _startLock.Release();
        }
    }

    /// <summary>A client of the running server (dummy credentials, us-east-1).</summary>
    public AmazonDynamoDBClient CreateClient() => new(LocalCredentials, new AmazonDynamoDBConfig
    {
        ServiceURL = Endpoint.ToString(),
        AuthenticationRegion = Region,
        Timeout = TimeSpan.FromSeconds(30),
    });

    /// <summary>Creates a new table with <see cref="DynamoDbTableDefinition"/> and returns its name.</summary>
    public async Task<string> CreateTableAsync(CancellationToken ct = default)
    {
        await StartAsync(ct).ConfigureAwait(false);
        var name = $"molly-test-{Environment.ProcessId}-{Interlocked.Increment(ref _tables)}-{Guid.NewGuid():N}";
        using var client = CreateClient();
        await DynamoDbTableDefinition.CreateAsync(client, name, ct).ConfigureAwait(false);
        return name;
    }

    /// <summary>A <see cref="DynamoDbItemStore"/> on a new, empty table (its change feed reads the table's stream).</summary>
    public async Task<DynamoDbItemStore> CreateStoreAsync(TimeProvider? time = null, CancellationToken ct = default)
    {
        var table = await CreateTableAsync(ct).ConfigureAwait(false);
        return DynamoDbItemStore.Create(CreateClient(), table, LocalCredentials, StreamsHttp, time);
    }

    /// <summary>Stops the server by its process id.</summary>
    public async ValueTask DisposeAsync()
    {
        Stop();
        await Task.CompletedTask.ConfigureAwait(false);
    }

    private void Stop()
    {
        var process = Interlocked.Exchange(ref _process, null);
        _endpoint = null;
        if (process is null) return;
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // already gone
        }
        process.Dispose();
    }

    private async Task LaunchAsync(string home, CancellationToken ct)
    {
        var port = FreeLoopbackPort();
        var started = Stopwatch.StartNew();
        var info = new ProcessStartInfo("java")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = home,
        };
        foreach (var arg in new[]
                 {
                     "-Xms64m", "-Xmx512m", "-XX:+UseSerialGC",
                     "-Djava.library.path=" + Path.Combine(home, "DynamoDBLocal_lib"),
                     "-cp", Path.Combine(home, "launcher") + Path.PathSeparator + Path.Combine(home, "DynamoDBLocal.jar"),
                     "LoopbackLauncher", "-inMemory", "-sharedDb", "-port", port.ToString(CultureInfo.InvariantCulture),
                 })
            info.ArgumentList.Add(arg);

        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Keep(output, e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Keep(output, e.Data); };
        if (!process.Start()) throw new InvalidOperationException("Could not start java for DynamoDB Local.");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop();

        var endpoint = new Uri($"http://127.0.0.1:{port}/");
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (process.HasExited)
            {
                _process = null;
                var text = string.Join(Environment.NewLine, output);
                if (text.Contains("Address already in use", StringComparison.OrdinalIgnoreCase) || text.Contains("BindException", StringComparison.Ordinal))
                    throw new IOException($"Port {port} was taken: {text}");
                throw new InvalidOperationException($"DynamoDB Local exited with code {process.ExitCode}: {text}");
            }
            try
            {
                // Any HTTP answer means Jetty is serving (an unsigned GET is answered with an error document).
                using var response = await probe.GetAsync(endpoint, ct).ConfigureAwait(false);
                break;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
            if (DateTime.UtcNow > deadline)
            {
                Stop();
                throw new TimeoutException("DynamoDB Local did not answer within 60 s: " + string.Join(Environment.NewLine, output));
            }
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
        StartupTime = started.Elapsed;
        _endpoint = endpoint;
    }

    private static void Keep(System.Collections.Concurrent.ConcurrentQueue<string> lines, string line)
    {
        lines.Enqueue(line);
        while (lines.Count > 50) lines.TryDequeue(out _);
    }

    private static int FreeLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try { return ((IPEndPoint)listener.LocalEndpoint).Port; }
        finally { listener.Stop(); }
    }

    /// <summary>The install folder .tools/dynamodb-local of the repository; fails the test when it is missing.</summary>
    public static string InstallDirectory()
    {
        var root = RepositoryRoot();
        var home = Path.Combine(root, ".tools", "dynamodb-local");
        if (!File.Exists(Path.Combine(home, "DynamoDBLocal.jar")) || !File.Exists(Path.Combine(home, "launcher", "LoopbackLauncher.class")))
            throw new InvalidOperationException(
                $"DynamoDB Local is not installed in {home}. Run ./test.sh (or tools/setup.sh, which runs tools/setup.d/dynamodb-local.sh) first.");
        return home;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln")) && Directory.Exists(Path.Combine(dir.FullName, "tools")))
                return dir.FullName;
        throw new InvalidOperationException($"No repository root (Serverless.sln) above {AppContext.BaseDirectory}.");
    }
}
