using System.Globalization;
using System.Numerics;
using System.Text.Json;
using Molly.Chains.Evm;
using Molly.Chains.Rpc.Evm;
using Molly.Domain;
using Molly.Domain.Payments;
using Molly.Payments;
using Molly.Storage;
using Molly.Testing;
using Xunit;

namespace Molly.Settlement.Tests;

/// <summary>A clock the tests move by hand.</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

public interface IStoreFactory : IAsyncDisposable
{
    Task<IItemStore> CreateAsync();
}

public sealed class SqliteStoreFactory : IStoreFactory
{
    private readonly TempSqliteStores _stores = new("molly-settlement-");

    public Task<IItemStore> CreateAsync() => _stores.CreateAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}

public sealed class DynamoDbLocalStoreFactory : IStoreFactory
{
    public async Task<IItemStore> CreateAsync() => await DynamoDbLocal.Shared.CreateStoreAsync();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Deterministic deposit targets (the real xpub factory is proven in the payments tests).</summary>
public sealed class IndexedTargets : IDepositTargetFactory
{
    public DepositTarget Create(Asset asset, long index, BigInteger amount, string label) =>
        new(Address(index), $"m/0/{index}", $"ethereum:{Address(index)}", null);

    // Never the zero address; in the EvmAddress text form, as the real factory and the chain watcher write it.
    private static string Address(long index) => EvmAddress.Parse($"0x{index + 0xA11CE:x40}").ToString();
}

/// <summary>
/// What the chain watcher does on a detection (DEPOSITS.md), written here in exactly that shape until the watcher lands:
/// the deposit item, the payment's Detect transition (through the aggregate) and a PaymentDetectedV1 outbox item, one transaction.
/// </summary>
public static class Detection
{
    public const string Chain = "ethereum";
    public const string Network = "local";

    public static async Task<string> DetectAsync(IItemStore store, string paymentId, BigInteger amount, DateTimeOffset seenAt,
        ulong blockNumber, string blockHash, string txHash, string index = "0", string asset = "USDT", bool transition = true)
    {
        var payment = (await store.GetAsync(Keys.Payment(paymentId)))!;
        var depositId = $"{Chain}#{txHash}#{index}";
        var ops = new List<TransactOp>
        {
            TransactOp.Put(new Item(Deposit.Key(depositId))
            {
                ["depositId"] = depositId,
                ["paymentId"] = paymentId,
                ["merchantId"] = payment.RequireString("merchantId"),
                ["chain"] = Chain,
                ["network"] = Network,
                ["asset"] = asset,
                ["amount"] = amount,
                ["address"] = payment.RequireString("address"),
                ["txHash"] = txHash,
                ["index"] = index,
                ["blockNumber"] = (long)blockNumber,
                ["blockHash"] = blockHash,
                ["status"] = DepositStatus.Detected,
                ["detectedAt"] = seenAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
                ["version"] = 1,
            }, Condition.ItemAbsent),
            TransactOp.Put(new Item(Keys.Outbox("det-" + txHash)) { ["type"] = "PaymentDetectedV1", ["payload"] = "{}", ["occurredAt"] = "x" }, Condition.ItemAbsent),
        };
        if (transition)
        {
            var p = Restore(payment);
            var version = p.StatusVersion;
            p.Detect(amount, seenAt);
            var status = PaymentService.StatusName(p.Status);
            ops.Add(TransactOp.Update(Keys.Payment(paymentId), new Update()
                .Set("status", status).Set("statusVersion", p.StatusVersion).Set("received", p.Received.ToString(CultureInfo.InvariantCulture))
                .Set("late", p.Late).Set("GSI2PK", Keys.MerchantPaymentsByStatus(payment.RequireString("merchantId"), status))
                .Set("detectedBy", depositId),
                Condition.VersionEquals(version, "statusVersion")));
        }
        await store.TransactWriteAsync(ops);
        return depositId;
    }

    public static Payment Restore(Item i)
    {
        Assert.True(PaymentService.TryParseStatus(i.RequireString("status"), out var status));
        return Payment.Restore(BigInteger.Parse(i.RequireString("amount"), CultureInfo.InvariantCulture),
            DateTimeOffset.Parse(i.RequireString("createdAt"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
            DateTimeOffset.Parse(i.RequireString("expiresAt"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
            (int)i.RequireNumber("toleranceBps"), status, i.GetInt64("statusVersion") ?? 0, i.GetBool("late") ?? false,
            BigInteger.Parse(i.GetString("received") ?? "0", CultureInfo.InvariantCulture));
    }

    public static string Hash(int n) => "0x" + n.ToString("x64", CultureInfo.InvariantCulture);
}

/// <summary>
/// A scripted EVM node for unit tests of the confirmation logic (the real client is tested against Hardhat elsewhere):
/// the head, the hash of each block height, and receipts. Calls it does not script throw.
/// </summary>
public sealed class ScriptedEvmRpc : IEvmRpc
{
    public ulong Head { get; set; }
    public Dictionary<ulong, string> Blocks { get; } = [];
    public Dictionary<string, EvmReceipt> Receipts { get; } = new(StringComparer.OrdinalIgnoreCase);
    public Exception? Fail { get; set; }
    public int Calls;

    public void Mine(ulong upTo)
    {
        for (var n = Head + 1; n <= upTo; n++) Blocks.TryAdd(n, Detection.Hash(1_000_000 + (int)n));
        Head = upTo;
    }

    public void Include(string txHash, ulong block, bool succeeded = true, params int[] logIndexes)
    {
        Mine(Math.Max(Head, block));
        Receipts[txHash] = new EvmReceipt(txHash, block, Blocks[block], succeeded, 21_000, 1, null,
            logIndexes.Select(i => new EvmLog(EvmAddress.Parse("0x5FbDB2315678afecb367f032d93F642f64180aa3"), [], "0x", block, Blocks[block], txHash, 0, i, false)).ToList());
    }

    private T Answer<T>(T value)
    {
        Interlocked.Increment(ref Calls);
        if (Fail is { } e) throw e;
        return value;
    }

    public Task<ulong> GetBlockNumberAsync(CancellationToken ct = default) => Task.FromResult(Answer(Head));

    public Task<EvmBlock?> GetBlockByNumberAsync(ulong number, CancellationToken ct = default) =>
        Task.FromResult(Answer(number <= Head && Blocks.TryGetValue(number, out var h)
            ? new EvmBlock(number, h, "0x", DateTimeOffset.UnixEpoch, null, [])
            : null));

    public Task<EvmReceipt?> GetTransactionReceiptAsync(string transactionHash, CancellationToken ct = default) =>
        Task.FromResult(Answer(Receipts.TryGetValue(transactionHash, out var r) ? r : null));

    public Task<long> GetChainIdAsync(CancellationToken ct = default) => throw new NotSupportedException();
    public Task<EvmBlock?> GetBlockByHashAsync(string blockHash, CancellationToken ct = default) => throw new NotSupportedException();
    public Task<IReadOnlyList<EvmLog>> GetLogsAsync(EvmLogFilter filter, CancellationToken ct = default) => throw new NotSupportedException();
    public Task<BigInteger> GetBalanceAsync(EvmAddress address, string blockTag = "latest", CancellationToken ct = default) => throw new NotSupportedException();
    public Task<ulong> GetTransactionCountAsync(EvmAddress address, string blockTag = "pending", CancellationToken ct = default) => throw new NotSupportedException();
    public Task<EvmFeeHistory> GetFeeHistoryAsync(int blockCount, string newestBlock, IReadOnlyList<double> rewardPercentiles, CancellationToken ct = default) => throw new NotSupportedException();
    public Task<BigInteger> EstimateGasAsync(EvmCall call, CancellationToken ct = default) => throw new NotSupportedException();
    public Task<string> SendRawTransactionAsync(ReadOnlyMemory<byte> signedTransaction, CancellationToken ct = default) => throw new NotSupportedException();
}

/// <summary>A crash of the process at a chosen write: the Nth write (put, update, delete, increment or transaction) throws,
/// before it reaches the store or after the store committed it (the acknowledgement is lost).</summary>
public sealed class CrashingStore(IItemStore inner, int crashAtWrite, bool afterCommit) : IItemStore
{
    private int _writes;

    public IChangeFeed ChangeFeed => inner.ChangeFeed;

    public Task<Item?> GetAsync(ItemKey key, CancellationToken ct = default) => inner.GetAsync(key, ct);

    public Task<Page<Item>> QueryAsync(Query query, CancellationToken ct = default) => inner.QueryAsync(query, ct);

    public Task PutAsync(Item item, Condition? condition = null, CancellationToken ct = default) =>
        Write(async () => { await inner.PutAsync(item, condition, ct); return 0; });

    public Task<Item> UpdateAsync(ItemKey key, Update update, Condition? condition = null, CancellationToken ct = default) =>
        Write(() => inner.UpdateAsync(key, update, condition, ct));

    public Task<Item?> DeleteAsync(ItemKey key, Condition? condition = null, CancellationToken ct = default) =>
        Write(() => inner.DeleteAsync(key, condition, ct));

    public Task<BigInteger> IncrementAsync(ItemKey key, string attribute, BigInteger delta, CancellationToken ct = default) =>
        Write(() => inner.IncrementAsync(key, attribute, delta, ct));

    public Task TransactWriteAsync(IReadOnlyList<TransactOp> operations, CancellationToken ct = default) =>
        Write(async () => { await inner.TransactWriteAsync(operations, ct); return 0; });

    public bool Crashed { get; private set; }

    private async Task<T> Write<T>(Func<Task<T>> write)
    {
        var n = Interlocked.Increment(ref _writes);
        if (n != crashAtWrite) return await write();
        Crashed = true;
        if (afterCommit) await write();
        throw new SimulatedCrashException(n, afterCommit);
    }
}

public sealed class SimulatedCrashException(int write, bool afterCommit)
    : Exception($"simulated crash at write {write} ({(afterCommit ? "after" : "before")} commit)");

/// <summary>A store that is unreachable for reads (DynamoDB throttling after its own retries).</summary>
public sealed class UnavailableStore(IItemStore inner) : IItemStore
{
    public IChangeFeed ChangeFeed => inner.ChangeFeed;
    public Task<Item?> GetAsync(ItemKey key, CancellationToken ct = default) => throw new StoreUnavailableException("throttled");
    public Task<Page<Item>> QueryAsync(Query query, CancellationToken ct = default) => throw new StoreUnavailableException("throttled");
    public Task PutAsync(Item item, Condition? condition = null, CancellationToken ct = default) => inner.PutAsync(item, condition, ct);
    public Task<Item> UpdateAsync(ItemKey key, Update update, Condition? condition = null, CancellationToken ct = default) => inner.UpdateAsync(key, update, condition, ct);
    public Task<Item?> DeleteAsync(ItemKey key, Condition? condition = null, CancellationToken ct = default) => inner.DeleteAsync(key, condition, ct);
    public Task<BigInteger> IncrementAsync(ItemKey key, string attribute, BigInteger delta, CancellationToken ct = default) => inner.IncrementAsync(key, attribute, delta, ct);
    public Task TransactWriteAsync(IReadOnlyList<TransactOp> operations, CancellationToken ct = default) => inner.TransactWriteAsync(operations, ct);
}

public static class JsonHelpers
{
    public static System.Text.Json.Nodes.JsonNode Parse(string json) => System.Text.Json.Nodes.JsonNode.Parse(json)!;
}

public static class TaskContext
{
    public static readonly Molly.Workflows.WorkflowTaskContext Value = new("deposit-confirm:test", "test", "deposit-confirm", "Task", 0, null);
}
