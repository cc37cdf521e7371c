using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace Molly.Api.Tests;

/// <summary>The built Api (dotnet Molly.Api.dll) as a child process on a data dir: started on a free 127.0.0.1 port,
/// killed with SIGKILL (<see cref="Kill"/>: no shutdown code runs), restarted on the same data dir.</summary>
public sealed class ApiProcess(string dataDir, params string[] extraArgs) : IDisposable
{
    private Process? _child;

    /// <summary>Environment variables of the child (e.g. the dummy AWS credentials DynamoDB Local takes).</summary>
    public Dictionary<string, string> Environment { get; } = [];

    public async Task<Uri> StartAsync(HttpClient http)
    {
        var port = FreePort();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { ApiDll(), "--urls", $"http://127.0.0.1:{port}", "--Molly:DataDir", dataDir }.Concat(extraArgs)) psi.ArgumentList.Add(a);
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        foreach (var (name, value) in Environment) psi.Environment[name] = value;
        _child = Process.Start(psi)!;
        _child.OutputDataReceived += (_, _) => { };
        _child.ErrorDataReceived += (_, _) => { };
        _child.BeginOutputReadLine();
        _child.BeginErrorReadLine();
        var uri = new Uri($"http://127.0.0.1:{port}");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            Assert.False(_child.HasExited, "the Api process exited during start-up");
            try
            {
                if ((await http.GetAsync(new Uri(uri, "/health"))).IsSuccessStatusCode) return uri;
            }
            catch (HttpRequestException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("The Api did not answer /health within 60 s.");
    }

    /// <summary>SIGKILL on Unix, then waits for the exit.</summary>
    public async Task KillAsync()
    {
        _child!.Kill();
        await _child.WaitForExitAsync();
    }

    public void Stop()
    {
        if (_child is { HasExited: false }) { _child.Kill(); _child.WaitForExit(); }
        _child?.Dispose();
        _child = null;
    }

    public void Dispose() => Stop();

    /// <summary>functions/Api's own build output, same configuration as this test assembly.</summary>
    private static string ApiDll()
    {
        var here = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar); // tests/Molly.Api.Tests/bin/<Configuration>/net10.0/
        var configuration = new DirectoryInfo(here).Parent!.Name;
        var root = new DirectoryInfo(here);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Serverless.sln"))) root = root.Parent;
        var dll = Path.Combine(root!.FullName, "functions", "Api", "bin", configuration, "net10.0", "Molly.Api.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build functions/Api first");
        return dll;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
