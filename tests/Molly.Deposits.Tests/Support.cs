using System.Numerics;
using Microsoft.Extensions.Logging.Abstractions;
using Molly.Chains.Evm;
using Molly.Domain;
using Molly.Payments;
using Molly.Storage;
using Xunit;

namespace Molly.Deposits.Tests;

/// <summary>A clock the tests move by hand.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;
    public override DateTimeOffset GetUtcNow() => _now;
    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>The process "dies" here: thrown by <see cref="CrashingStore"/>.</summary>
public sealed class SimulatedCrash() : Exception("simulated crash");

/// <summary>
/// A store that crashes on its N-th write (any put, update, delete, increment or transaction), either before the write or
/// right after it committed (the caller never hears it succeeded). Reads pass through. Unless <paramref name="recover"/>,
/// every later write fails too (the process is gone); with it, only that one write fails (a transient store error).
/// </summary>
public sealed class CrashingStore(IItemStore inner, int crashAtWrite, bool afterCommit, bool recover = false) : IItemStore
{
    private int _writes;

    public bool Crashed { get; private set; }

    public Task<Item?> GetAsync(ItemKey key, CancellationToken ct = default) => inner.GetAsync(key, ct);
    public Task<Page<Item>> QueryAsync(Query query, CancellationToken ct = default) => inner.QueryAsync(query, ct);
    public IChangeFeed ChangeFeed => inner.ChangeFeed;

    public Task PutAsync(Item item, Condition? condition = null, CancellationToken ct = default) =>
        Write(() => inner.PutAsync(item, condition, ct));

    public async Task<Item> UpdateAsync(ItemKey key, Update update, Condition? condition = null, CancellationToken ct = default)
    {
        Item? result = null;
        await Write(async () => result = await inner.UpdateAsync(key, update, condition, ct));
        return result!;
    }

    public async Task<Item?> DeleteAsync(ItemKey key, Condition? condition = null, CancellationToken ct = default)
    {
        Item? result = null;
        await Write(async () => result = await inner.DeleteAsync(key, condition, ct));
        return result;
    }

    public async Task<BigInteger> IncrementAsync(ItemKey key, string attribute, BigInteger delta, CancellationToken ct = default)
    {
        BigInteger result = 0;
        await Write(async () => result = await inner.IncrementAsync(key, attribute, delta, ct));
        return result;
    }

    public Task TransactWriteAsync(IReadOnlyList<TransactOp> operations, CancellationToken ct = default) =>
        Write(() => inner.TransactWriteAsync(operations, ct));

    private async Task Write(Func<Task> write)
    {
        if (Crashed && !recover) throw new SimulatedCrash();
        if (Interlocked.Increment(ref _writes) == crashAtWrite)
        {
            Crashed = true;
            if (afterCommit) await write();
            throw new SimulatedCrash();
        }
        await write();
    }
}

/// <summary>Payments, assets and watcher construction for the deposit tests, over one store.</summary>
public sealed class DepositWorld
{
    public static readonly EvmAddress Token = EvmAddress.Parse("0x5FbDB2315678afecb367f032d93F642f64180aa3");
    public static readonly EvmAddress OtherToken = EvmAddress.Parse("0x00000000000000000000000000000000000000aa");

    public static readonly AssetRegistry Assets = AssetRegistry.ForNetworks(["local"],
        [new Asset("ethereum", "local", ChainFamily.Evm, 31337, "USDT", 6, Token.ToString(), 2)]);

    private static readonly MerchantPaymentSettings Shop = new("m_shop", new HashSet<string> { "ETH@ethereum", "USDT@ethereum" });
    private static readonly IReadOnlyDictionary<string, string> Xpubs =
        ChainDepositTargets.NewDevelopmentAccount("test test test test test test test test test test test junk").Xpubs;

    private readonly PaymentService _payments;
    private int _orders;

    public DepositWorld(IItemStore store, ManualClock? clock = null)
    {
        Store = store;
        Clock = clock ?? new ManualClock(DateTimeOffset.UtcNow);
        _payments = new PaymentService(store, Assets, new ChainDepositTargets(Xpubs),
            new PaymentOptions { PublicBaseUrl = "https://pay.example" }, Clock);
    }

    public IItemStore Store { get; }
    public ManualClock Clock { get; }

    public static EvmChainOptions Options(int maxBlocks = 500, int window = 16) => new()
    {
        Chain = "ethereum", Network = "local", Endpoints = ["http://127.0.0.1:8545"], MaxBlocksPerPass = maxBlocks,
        StartBlock = 1, ReorgWindow = window, PollIntervalMs = 50,
    };

    public EvmChainWatcher Watcher(Molly.Chains.Rpc.Evm.IEvmRpc chain, EvmChainOptions? options = null, IItemStore? store = null) =>
        new(store ?? Store, chain, options ?? Options(), Assets, Clock, NullLogger.Instance);

    /// <summary>A payment through the real payments service: its address is derived and written to the watched index.</summary>
    public async Task<PaymentView> PayableAsync(string asset, string amount, int expiresInSeconds = 900)
    {
        var n = Interlocked.Increment(ref _orders);
        var outcome = await _payments.CreateAsync(Shop, $"k-{n}", new CreatePaymentCommand($"o-{n}", amount, asset, "ethereum", expiresInSeconds));
        return Assert.IsType<CreatePaymentOutcome.Created>(outcome).Payment;
    }

    public Task<Item?> PaymentAsync(string id) => Store.GetAsync(PaymentRecords.Key(id));

    public Task<Item?> DepositAsync(string depositId) => Store.GetAsync(DepositKeys.Deposit(depositId));

    /// <summary>Every item the change feed has inserted or modified, last image per key (outbox items and deposits).</summary>
    public async Task<Dictionary<ItemKey, List<Change>>> ChangesAsync()
    {
        var all = new Dictionary<ItemKey, List<Change>>();
        string? checkpoint = null;
        while (true)
        {
            var batch = await Store.ChangeFeed.ReadAsync(checkpoint, 1000);
            foreach (var c in batch.Changes)
            {
                if (!all.TryGetValue(c.Key, out var list)) all[c.Key] = list = [];
                list.Add(c);
            }
            if (batch.Changes.Count == 0 || batch.Checkpoint == checkpoint) return all;
            checkpoint = batch.Checkpoint;
        }
    }

    /// <summary>Outbox events by type (counted from the change feed: the outbox has no listing index).</summary>
    public async Task<List<Item>> OutboxAsync(string type) =>
        (await ChangesAsync()).Where(kv => kv.Key.PK.StartsWith("outbox#", StringComparison.Ordinal))
            .Select(kv => kv.Value[0].NewImage!).Where(i => i.GetString("type") == type).ToList();

    /// <summary>Every deposit item (from the change feed), current state.</summary>
    public async Task<List<Item>> DepositsAsync()
    {
        var keys = (await ChangesAsync()).Keys.Where(k => k.SK == DepositKeys.Item).ToList();
        var items = new List<Item>();
        foreach (var k in keys) items.Add((await Store.GetAsync(k))!);
        return items;
    }
}
