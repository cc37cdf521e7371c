using System.Collections.Concurrent;
using System.Net;
using System.Numerics;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Molly.Storage;
using Xunit;

namespace Molly.Api.Tests;

/// <summary>Counts the store calls whose keys match a filter (other callers, such as background workers, are not counted).</summary>
public sealed class CountingStore(IItemStore inner) : IItemStore
{
    private readonly ConcurrentQueue<string> _calls = new();

    public Func<ItemKey, bool> Counts { get; set; } = _ => false;

    public IReadOnlyList<string> Calls => _calls.ToArray();

    public void Reset() => _calls.Clear();

    private void Note(string call, IEnumerable<ItemKey> keys)
    {
        if (keys.Any(Counts)) _calls.Enqueue(call);
    }

    public Task<Item?> GetAsync(ItemKey key, CancellationToken ct = default)
    {
        Note("get", [key]);
        return inner.GetAsync(key, ct);
    }

    public Task<Page<Item>> QueryAsync(Query query, CancellationToken ct = default) => inner.QueryAsync(query, ct);

    public Task PutAsync(Item item, Condition? condition = null, CancellationToken ct = default)
    {
        Note("write", [item.Key]);
        return inner.PutAsync(item, condition, ct);
    }

    public Task<Item> UpdateAsync(ItemKey key, Update update, Condition? condition = null, CancellationToken ct = default)
    {
        Note("write", [key]);
        return inner.UpdateAsync(key, update, condition, ct);
    }

    public Task<Item?> DeleteAsync(ItemKey key, Condition? condition = null, CancellationToken ct = default)
    {
        Note("write", [key]);
        return inner.DeleteAsync(key, condition, ct);
    }

    public Task<BigInteger> IncrementAsync(ItemKey key, string attribute, BigInteger delta, CancellationToken ct = default)
    {
        Note("write", [key]);
        return inner.IncrementAsync(key, attribute, delta, ct);
    }

    public Task TransactWriteAsync(IReadOnlyList<TransactOp> operations, CancellationToken ct = default)
    {
        Note($"transaction of {operations.Count}", operations.Select(o => o.Key));
        return inner.TransactWriteAsync(operations, ct);
    }

    public IChangeFeed ChangeFeed => inner.ChangeFeed;
}

public sealed class CountingPaymentsFactory : PaymentsFactory
{
    public CountingPaymentsFactory() : base("Sqlite") { }

    public CountingStore Store { get; private set; } = null!;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureTestServices(services =>
        {
            var original = services.Last(d => d.ServiceType == typeof(IItemStore));
            services.Remove(original);
            services.AddSingleton<IItemStore>(sp => Store = new CountingStore((IItemStore)original.ImplementationFactory!(sp)));
        });
    }
}

/// <summary>What one signed create costs the store: the calls are the performance budget of POST /v1/payments.</summary>
public sealed class CreateCostTests(CountingPaymentsFactory factory) : IClassFixture<CountingPaymentsFactory>
{
    [Fact]
    public async Task A_signed_create_is_one_store_write_and_one_read()
    {
        var http = factory.CreateClient();
        var cred = factory.AdminCredential();
        var admin = new SignedClient(http, cred.KeyId, cred.Secret, factory.Clock.GetUtcNow);
        var merchant = JsonDocument.Parse(await (await admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants", """{"name":"Counted shop"}"""))
            .Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var key = JsonDocument.Parse(await (await admin.SendAsync(HttpMethod.Post, $"/v1/admin/merchants/{merchant}/api-keys"))
            .Content.ReadAsStringAsync()).RootElement;
        var keyId = key.GetProperty("keyId").GetString()!;
        var shop = new SignedClient(http, keyId, key.GetProperty("secret").GetString()!, factory.Clock.GetUtcNow);

        async Task<HttpStatusCode> Create(int n)
        {
            var request = shop.Build(HttpMethod.Post, "/v1/payments", $$"""{"merchantOrderId":"o-{{n}}","amount":"1","asset":"USDT","chain":"tron"}""");
            request.Headers.Add("Idempotency-Key", $"k-{n}");
            return (await http.SendAsync(request)).StatusCode;
        }

        Assert.Equal(HttpStatusCode.Created, await Create(0)); // reserves the address block and caches the merchant's settings
        factory.Store.Counts = k => k.PK.Contains(merchant, StringComparison.Ordinal) || k.PK.Contains(keyId, StringComparison.Ordinal);
        factory.Store.Reset();
        Assert.Equal(HttpStatusCode.Created, await Create(1));
        // The API key; then the payment's transaction of 5 items plus the signature record (a used idempotency key is found by
        // the transaction's condition, not by a read first).
        Assert.Equal(["get", "transaction of 6"], factory.Store.Calls);
    }
}
