using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Molly.Api.Endpoints;
using Molly.Api.Model;
using Molly.Api.Security;
using Molly.Storage;
using Molly.Storage.Sqlite;
using Xunit;

namespace Molly.Api.Tests;

/// <summary>
/// The built Api runs as a child process (dotnet Molly.Api.dll) on the embedded SQLite store; it is SIGKILLed in the middle
/// of a stream of merchant creations, restarted on the same data dir, and every acknowledged creation must be there with
/// all of its records, and no creation half-applied.
/// </summary>
[Trait("Category", "Slow")]
public sealed class CrashSafetyTests : IDisposable
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("molly-crash-").FullName;
    private Process? _child;

    [Fact]
    public async Task Acknowledged_writes_survive_sigkill_and_none_is_half_applied()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var baseUri = await StartAsync(http);
        var cred = JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(_dataDir, AdminBootstrap.FileName)), ApiJsonContext.Default.AdminCredentialFile)!;
        var admin = new SignedClient(http, cred.KeyId, cred.Secret, () => DateTimeOffset.UtcNow);

        var acknowledged = new ConcurrentDictionary<string, string>(); // id -> name
        var attempted = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var name = $"crash-{w}-{i}-{Guid.NewGuid():N}";
                attempted.Add(name);
                try
                {
                    var request = admin.Build(HttpMethod.Post, "/v1/admin/merchants", $$"""{"name":"{{name}}"}""");
                    request.RequestUri = new Uri(baseUri, "/v1/admin/merchants");
                    var response = await http.SendAsync(request);
                    if (response.StatusCode == HttpStatusCode.Created)
                        acknowledged[(await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.MerchantResponse))!.Id] = name;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    return; // the server is gone
                }
            }
        })).ToList();

        while (acknowledged.Count < 150) await Task.Delay(20);
        _child!.Kill(); // SIGKILL on Unix: no shutdown code runs
        await _child.WaitForExitAsync();
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        Assert.True(acknowledged.Count >= 150);

        // Restart on the same data dir: every acknowledged merchant reads back through the API.
        baseUri = await StartAsync(http);
        foreach (var (id, name) in acknowledged)
        {
            var request = admin.Build(HttpMethod.Get, $"/v1/admin/merchants/{id}");
            request.RequestUri = new Uri(baseUri, $"/v1/admin/merchants/{id}");
            var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(name, (await response.Content.ReadFromJsonAsync(ApiJsonContext.Default.MerchantResponse))!.Name);
        }
        StopChild();

        // No transaction half-applied: for every attempted name, the claim exists iff a profile with its event exists.
        using var store = SqliteItemStore.Open(new SqliteItemStoreOptions { Path = Path.Combine(_dataDir, "molly.db") });
        var complete = 0;
        foreach (var name in attempted)
        {
            var claim = await store.GetAsync(TableKeys.MerchantName(Merchants.NormalizeName(name)));
            if (claim is null) continue;
            Assert.True(MerchantId.TryParse(claim.GetString(Attr.MerchantId), out var id));
            var profile = await store.GetAsync(TableKeys.Merchant(id));
            Assert.NotNull(profile);
            Assert.Equal(name, profile.GetString(Attr.Name));
            Assert.NotNull(await store.GetAsync(TableKeys.MerchantEvent(id, 1, nameof(MerchantCreatedV1))));
            complete++;
        }
        var profiles = new List<Item>();
        string? cursor = null;
        do
        {
            var page = await store.QueryAsync(new Query(TableKeys.MerchantsIndexPartition) { Index = "GSI1", Cursor = cursor });
            profiles.AddRange(page.Items);
            cursor = page.Cursor;
        } while (cursor is not null);
        Assert.Equal(complete, profiles.Count); // no profile without its claim
        Assert.True(complete >= acknowledged.Count);
    }

    private async Task<Uri> StartAsync(HttpClient http)
    {
        var port = FreePort();
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { ApiDll(), "--urls", $"http://127.0.0.1:{port}", "--Molly:DataDir", _dataDir }) psi.ArgumentList.Add(a);
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
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

    private void StopChild()
    {
        if (_child is { HasExited: false }) { _child.Kill(); _child.WaitForExit(); }
        _child?.Dispose();
        _child = null;
    }

    public void Dispose()
    {
        StopChild();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }
}
