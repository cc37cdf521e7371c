using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Numerics;
using Molly.Chains.Rpc.Evm;

namespace Molly.Testing;

/// <summary>
/// A real Hardhat 2.29.1 node for tests (tools/devchain/hardhat.config.js: chain id 31337, Hardhat's public test
/// accounts), on a free port of 127.0.0.1, stopped by process id on dispose or when the test process exits. On start it
/// deploys the test ERC-20 (account #0's first transaction, so at <see cref="HardhatDevChain.DeterministicTokenAddress"/>)
/// with our own EIP-1559 signer and mints <see cref="MintedPerAccount"/> to accounts #1..#9.
/// <code>
/// var node = await HardhatNode.Shared;                 // one node per test process, shared by every test
/// await using var own = await HardhatNode.StartAsync(); // a chain nobody else touches (reorg tests)
/// var hash = await node.SendTokenAsync(node.DevAccount(1), payee, 5_000_000);   // 5 USDT, signed by our code
/// var receipt = await node.WaitForReceiptAsync(hash, TimeSpan.FromSeconds(10));
/// var snapshot = await node.SnapshotAsync(); ... await node.RevertAsync(snapshot);
/// </code>
/// Tests sharing <see cref="Shared"/> must not revert or stop mining on it: use a node of their own for that.
/// Needs `npm ci` and tools/setup.d/devchain.sh (both run by tools/setup.sh, which ./test.sh runs first).
/// </summary>
public sealed class HardhatNode : HardhatDevChain, IAsyncDisposable
{
    /// <summary>Test USDT minted to each of accounts #1..#9 at start: 1,000,000.000000.</summary>
    public static readonly BigInteger MintedPerAccount = BigInteger.Pow(10, 12);

    private static readonly Lazy<Task<HardhatNode>> SharedNode = new(() => StartAsync());
    private static readonly HttpClient Http = new() { Timeout = Timeout.InfiniteTimeSpan };

    private readonly ConcurrentQueue<string> _output;
    private Process? _process;

    private HardhatNode(EvmRpcClient rpc, Process process, ConcurrentQueue<string> output, string rpcUrl, byte[] tokenInitCode) : base(rpc)
    {
        TokenInitCode = tokenInitCode;
        _process = process;
        _output = output;
        RpcUrl = rpcUrl;
        ProcessId = process.Id;
    }

    /// <summary>The node of this test process, started (and the token deployed) on first await.</summary>
    public static Task<HardhatNode> Shared => SharedNode.Value;

    /// <summary>http://127.0.0.1:port</summary>
    public string RpcUrl { get; }

    public int ProcessId { get; }

    /// <summary>The test token's init code (to deploy more tokens: SendAsync(account, null, 0, TokenInitCode)).</summary>
    public byte[] TokenInitCode { get; }

    /// <summary>How long the start took (process launch to token deployed and minted).</summary>
    public TimeSpan StartupTime { get; private set; }

    /// <summary>The last lines the node printed (for failure messages).</summary>
    public string RecentOutput => string.Join(Environment.NewLine, _output);

    /// <summary>A new client of this node with other settings (e.g. a dead endpoint first, small log limits).</summary>
    public EvmRpcClient CreateClient(Action<EvmRpcOptions>? configure = null, TimeProvider? time = null)
    {
        var options = new EvmRpcOptions { Endpoints = [RpcUrl] };
        configure?.Invoke(options);
        return new EvmRpcClient(Http, options, time);
    }

    /// <summary>Starts a node of its own (stop it with DisposeAsync), deploys the token and mints to accounts #1..#9.</summary>
    public static async Task<HardhatNode> StartAsync(CancellationToken ct = default)
    {
        var root = RepositoryRoot();
        var cli = Path.Combine(root, "node_modules", "hardhat", "internal", "cli", "cli.js");
        var artifact = Path.Combine(root, ".local", "devchain", "TestUsd.json");
        if (!File.Exists(cli)) throw new InvalidOperationException($"Hardhat is not installed ({cli} is missing): run ./test.sh or tools/setup.sh (npm ci) first.");
        var initCode = LoadTokenBytecode(artifact);

        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                return await LaunchAsync(root, cli, initCode, ct).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                last = e; // the port was taken between probe and bind: try another
            }
        }
        throw new InvalidOperationException("Hardhat did not start.", last);
    }

    private static async Task<HardhatNode> LaunchAsync(string root, string cli, byte[] initCode, CancellationToken ct)
    {
        var started = Stopwatch.StartNew();
        var port = FreeLoopbackPort();
        var info = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = root,
        };
        // The preload stops the node if this process dies without running its exit handlers (test hosts get killed).
        foreach (var arg in new[] { "--require", Path.Combine(root, "tools", "devchain", "exit-with-parent.cjs"), cli, "node", "--hostname", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--config", Path.Combine("tools", "devchain", "hardhat.config.js") })
            info.ArgumentList.Add(arg);
        info.Environment["HARDHAT_DISABLE_TELEMETRY_PROMPT"] = "true";

        var output = new ConcurrentQueue<string>();
        var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Keep(output, e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Keep(output, e.Data); };
        if (!process.Start()) throw new InvalidOperationException("Could not start node for Hardhat.");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var url = $"http://127.0.0.1:{port}";
        var rpc = new EvmRpcClient(Http, new EvmRpcOptions { Endpoints = [url], RequestTimeout = TimeSpan.FromSeconds(30) });
        var node = new HardhatNode(rpc, process, output, url, initCode);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => node.Stop();
        try
        {
            await node.WaitUntilReadyAsync(port, ct).ConfigureAwait(false);
            var chainId = await rpc.GetChainIdAsync(ct).ConfigureAwait(false);
            if (chainId != HardhatChainId) throw new InvalidOperationException($"The dev chain reports chain id {chainId}, expected {HardhatChainId}.");
            await node.EnsureTokenAsync(initCode, ct).ConfigureAwait(false);
            var mints = new List<string>();
            for (var i = 1; i <= 9; i++) mints.Add(await node.MintAsync(Account(i).Address, MintedPerAccount, ct).ConfigureAwait(false));
            foreach (var hash in mints)
                if (!(await node.WaitForReceiptAsync(hash, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false)).Succeeded)
                    throw new InvalidOperationException($"Minting test USDT failed ({hash}).");
        }
        catch
        {
            node.Stop();
            throw;
        }
        node.StartupTime = started.Elapsed;
        return node;
    }

    private async Task WaitUntilReadyAsync(int port, CancellationToken ct)
    {
        using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            if (_process is null || _process.HasExited)
            {
                var text = RecentOutput;
                if (text.Contains("EADDRINUSE", StringComparison.Ordinal)) throw new IOException($"Port {port} was taken: {text}");
                throw new InvalidOperationException($"Hardhat exited before it was ready: {text}");
            }
            try
            {
                using var content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}""", System.Text.Encoding.UTF8, "application/json");
                using var response = await probe.PostAsync(new Uri(RpcUrl), content, ct).ConfigureAwait(false);
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("Hardhat did not answer within 90 s: " + RecentOutput);
            await Task.Delay(100, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the node by its process id.</summary>
    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }

    private void Stop()
    {
        var process = Interlocked.Exchange(ref _process, null);
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

    private static void Keep(ConcurrentQueue<string> lines, string line)
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

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln")) && Directory.Exists(Path.Combine(dir.FullName, "tools")))
                return dir.FullName;
        throw new InvalidOperationException($"No repository root (Serverless.sln) above {AppContext.BaseDirectory}.");
    }
}
