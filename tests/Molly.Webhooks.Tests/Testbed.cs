using System.Security.Cryptography;
using System.Text;
using Molly.Storage;
using Molly.Storage.Sqlite;
using Molly.Testing;
using Xunit;

namespace Molly.Webhooks.Tests;

/// <summary>A clock the tests move by hand (Microsoft.Extensions.TimeProvider.Testing is not on this feed). Timers stay real.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;
    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);
    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    public void Set(DateTimeOffset at) => Interlocked.Exchange(ref _ticks, at.UtcTicks);
}

/// <summary>AES-256-GCM under a random in-memory key: the seam's behaviour (context bound as associated data) for unit
/// tests; the real local protector (a key file) is functions/Api's and is tested there.</summary>
public sealed class TestProtector : ISecretProtector
{
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    public string KeyId => "test";

    public byte[] Protect(ReadOnlySpan<byte> plaintext, string context)
    {
        var output = new byte[12 + plaintext.Length + 16];
        RandomNumberGenerator.Fill(output.AsSpan(0, 12));
        using var aes = new AesGcm(_key, 16);
        aes.Encrypt(output.AsSpan(0, 12), plaintext, output.AsSpan(12, plaintext.Length), output.AsSpan(12 + plaintext.Length), Encoding.UTF8.GetBytes(context));
        return output;
    }

    public byte[] Unprotect(ReadOnlySpan<byte> ciphertext, string context)
    {
        var plaintext = new byte[ciphertext.Length - 28];
        using var aes = new AesGcm(_key, 16);
        aes.Decrypt(ciphertext[..12], ciphertext[12..^16], ciphertext[^16..], plaintext, Encoding.UTF8.GetBytes(context));
        return plaintext;
    }
}

/// <summary>
/// The webhook parts over a real store (SQLite file or DynamoDB Local), a manual clock and a real receiver on 127.0.0.1.
/// Events go through the store's change feed (a named ChangeFeedConsumer) exactly as in the local host.
/// </summary>
public sealed class Testbed : IAsyncDisposable
{
    public const string Merchant = "mch_0v4k9s2m8q1r7t3x5z6a";

    private string? _dir;

    public required IItemStore Store { get; init; }
    public required ManualClock Clock { get; init; }
    public required WebhookOptions Options { get; init; }
    public required ISecretProtector Protector { get; init; }
    public required SsrfGuard Guard { get; init; }
    public required WebhookEndpoints Endpoints { get; init; }
    public required WebhookDeliveries Deliveries { get; init; }
    public required WebhookDispatcher Dispatcher { get; init; }
    public required WebhookReceiver Receiver { get; init; }
    public required ChangeFeedConsumer FanOut { get; init; }

    public static async Task<Testbed> CreateAsync(string storeKind, Action<WebhookOptions>? configure = null)
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 21, 3, 0, 0, TimeSpan.Zero));
        var options = new WebhookOptions { AllowHttpLoopback = true, Timeout = TimeSpan.FromSeconds(2), LeaseDuration = TimeSpan.FromSeconds(30) };
        configure?.Invoke(options);
        Assert.Empty(options.Validate());
        string? dir = null;
        IItemStore store;
        if (storeKind == "Sqlite")
        {
            dir = Directory.CreateTempSubdirectory("molly-webhooks-").FullName;
            store = SqliteItemStore.Open(new SqliteItemStoreOptions { Path = Path.Combine(dir, "molly.db") }, clock);
        }
        else
        {
            store = await DynamoDbLocal.Shared.CreateStoreAsync(clock);
        }
        var protector = new TestProtector();
        var guard = new SsrfGuard(options.AllowHttpLoopback);
        var endpoints = new WebhookEndpoints(store, protector, guard, options, clock);
        var deliveries = new WebhookDeliveries(store, clock);
        var bed = new Testbed
        {
            Store = store, Clock = clock, Options = options, Protector = protector, Guard = guard, Endpoints = endpoints, Deliveries = deliveries,
            Dispatcher = new WebhookDispatcher(store, endpoints, WebhookDispatcher.CreateHttpClient(guard, options), guard, options, clock, new Random(42)),
            Receiver = await WebhookReceiver.StartAsync(),
            FanOut = new ChangeFeedConsumer(store, "webhooks-fanout", async (changes, ct) =>
            {
                foreach (var c in changes.Where(WebhookDeliveries.IsOutboxInsert)) await deliveries.FanOutAsync(c.NewImage!, ct);
            }, time: clock),
        };
        bed._dir = dir;
        return bed;
    }

    public WebhookDispatcher NewDispatcher() =>
        new(Store, Endpoints, WebhookDispatcher.CreateHttpClient(Guard, Options), Guard, Options, Clock, new Random(7));

    public async Task<(WebhookEndpoint Endpoint, string Secret)> AddEndpointAsync(string? url = null, string[]? events = null, string merchant = Merchant)
    {
        var outcome = await Endpoints.CreateAsync(merchant, url ?? Receiver.Url(), events ?? ["*"], null, null, default);
        var created = Assert.IsType<EndpointOutcome.Created>(outcome);
        return (created.Endpoint, created.Secret);
    }

    /// <summary>Writes an outbox item (as the payment code does) and runs the fan-out consumer over the feed.</summary>
    public async Task<string> EmitAsync(string type = "PaymentCreatedV1", long statusVersion = 0, string merchant = Merchant)
    {
        var eventId = "evt_" + Guid.NewGuid().ToString("N")[..20];
        var payload = $$"""{"eventId":"{{eventId}}","paymentId":"pay_1","merchantId":"{{merchant}}","status":"created","statusVersion":{{statusVersion}},"amount":"12.50"}""";
        await Store.PutAsync(new Item($"outbox#{eventId}", "event")
        {
            ["type"] = type,
            ["payload"] = payload,
            ["occurredAt"] = Clock.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture),
        }, Condition.ItemAbsent);
        await FanOut.RunOnceAsync();
        return eventId;
    }

    public Task<Item?> DeliveryItemAsync(string deliveryId) => Store.GetAsync(WebhookKeys.Delivery(deliveryId));

    public async Task<WebhookDelivery> DeliveryAsync(string deliveryId) =>
        (await Deliveries.GetAsync(Merchant, deliveryId, default)) ?? throw new InvalidOperationException("no delivery " + deliveryId);

    public async ValueTask DisposeAsync()
    {
        await Receiver.DisposeAsync();
        (Store as IDisposable)?.Dispose();
        if (_dir is not null) try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
