using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
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
    private readonly string _dataDir;
    private readonly ApiProcess _api;

    public CrashSafetyTests()
    {
        _dataDir = Directory.CreateTempSubdirectory("molly-crash-").FullName;
        _api = new ApiProcess(_dataDir);
    }

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
        await _api.KillAsync(); // SIGKILL on Unix: no shutdown code runs
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

    private Task<Uri> StartAsync(HttpClient http) => _api.StartAsync(http);

    private void StopChild() => _api.Stop();

    public void Dispose()
    {
        StopChild();
        try { Directory.Delete(_dataDir, recursive: true); } catch (IOException) { }
    }
}
