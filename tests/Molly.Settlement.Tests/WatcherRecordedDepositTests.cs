using System.Numerics;
using Microsoft.Extensions.Logging.Abstractions;
using Molly.Chains.Evm;
using Molly.Chains.Rpc.Evm;
using Molly.Deposits;
using Molly.Domain;
using Molly.Ledger;
using Molly.Payments;
using Xunit;

namespace Molly.Settlement.Tests;

/// <summary>The contract between the chain watcher and these handlers: a deposit recorded by the real DepositRecorder
/// (its item shape, its payment transition and detectedBy mark) is settled and undone by them.</summary>
public sealed class WatcherRecordedDepositTests : IAsyncLifetime
{
    private readonly SqliteStoreFactory _stores = new();
    private readonly ManualTimeProvider _time = new(SettlementContractTests.T0);
    private Molly.Storage.IItemStore _store = null!;
    private Ledger.Ledger _ledger = null!;
    private DepositConfirmTasks _tasks = null!;
    private PaymentService _payments = null!;
    private DepositRecorder _recorder = null!;

    public async Task InitializeAsync()
    {
        _store = await _stores.CreateAsync();
        _ledger = new Ledger.Ledger(_store, _time);
        var assets = AssetRegistry.ForNetworks(["local"], [SettlementContractTests.Usdt]);
        _tasks = new DepositConfirmTasks(_store, _ledger, assets, new Dictionary<string, IEvmRpc>(), new SettlementOptions(), _time);
        _payments = new PaymentService(_store, assets, new IndexedTargets(), new PaymentOptions { PublicBaseUrl = "http://127.0.0.1" }, _time);
        _recorder = new DepositRecorder(_store, "ethereum", "local", _time, NullLogger.Instance);
    }

    public async Task DisposeAsync() => await _stores.DisposeAsync();

    private async Task<(string PaymentId, string DepositId)> RecordAsync(BigInteger amount, int tx)
    {
        var payment = Assert.IsType<CreatePaymentOutcome.Created>(await _payments.CreateAsync(
            new MerchantPaymentSettings("m_w", new HashSet<string> { "USDT@ethereum" }), $"k{tx}",
            new CreatePaymentCommand($"o{tx}", "1", "USDT", "ethereum"))).Payment;
        var candidate = new DepositCandidate(SettlementContractTests.Usdt, EvmAddress.Parse(payment.Address),
            EvmAddress.Parse("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"), amount, Detection.Hash(tx), "7", 100, Detection.Hash(100), _time.GetUtcNow());
        Assert.Equal(RecordOutcome.Recorded, await _recorder.RecordAsync(candidate, default));
        return (payment.Id, $"ethereum#{Detection.Hash(tx)}#7");
    }

    [Fact]
    public async Task A_watcher_recorded_deposit_is_credited()
    {
        var (paymentId, depositId) = await RecordAsync(1_000_000, 1);
        Assert.Equal("confirming", (await _store.GetAsync(Keys.Payment(paymentId)))!.GetString("status"));
        var credit = await _tasks.CreditPaymentAsync(depositId);
        Assert.Equal("paid", credit.PaymentStatus);
        Assert.Equal(new BigInteger(1_000_000),
            (await _ledger.GetBalanceAsync(AccountId.Create("m_w", "USDT-ethereum", AccountKind.MerchantAvailable)))!.CreditBalance);
    }

    [Fact]
    public async Task A_watcher_recorded_deposit_is_undone_back_to_created()
    {
        var (paymentId, depositId) = await RecordAsync(1_000_000, 2);
        Assert.Equal("created", (await _tasks.UndoDetectionAsync(depositId)).PaymentStatus);
        var payment = (await _store.GetAsync(Keys.Payment(paymentId)))!;
        Assert.Equal("created", payment.GetString("status"));
        Assert.Null(payment.GetString("detectedBy"));
    }
}
