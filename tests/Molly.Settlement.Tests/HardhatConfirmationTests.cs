using System.Numerics;
using Molly.Chains.Evm;
using Molly.Chains.Rpc.Evm;
using Molly.Domain;
using Molly.Ledger;
using Molly.Payments;
using Molly.Storage;
using Molly.Testing;
using Xunit;
using static Molly.Settlement.Tests.Detection;

namespace Molly.Settlement.Tests;

/// <summary>A Hardhat node of this class's own (it reverts and mines), started once for the class and stopped by pid.</summary>
public sealed class OwnHardhatNode : IAsyncLifetime
{
    public HardhatNode Node { get; private set; } = null!;

    public async Task InitializeAsync() => Node = await HardhatNode.StartAsync();

    public async Task DisposeAsync() => await Node.DisposeAsync();
}

/// <summary>
/// CheckConfirmations, VerifyCanonical, CreditPayment and UndoDetection against a real Hardhat node through the real
/// EvmRpcClient: a test USDT transfer signed by our EIP-1559 signer, its confirmations counted as blocks are mined, and a
/// deposit whose block is taken away by evm_revert found orphaned and never credited.
/// </summary>
[Trait("Category", "Slow")]
public sealed class HardhatConfirmationTests(OwnHardhatNode fixture) : IClassFixture<OwnHardhatNode>, IAsyncLifetime
{
    private readonly SqliteStoreFactory _stores = new();
    private readonly ManualTimeProvider _time = new(DateTimeOffset.UtcNow);
    private IItemStore _store = null!;
    private Ledger.Ledger _ledger = null!;
    private DepositConfirmTasks _tasks = null!;
    private PaymentService _payments = null!;

    private HardhatNode Node => fixture.Node;

    public async Task InitializeAsync()
    {
        _store = await _stores.CreateAsync();
        _ledger = new Ledger.Ledger(_store, _time);
        var assets = AssetRegistry.ForNetworks(["local"], [SettlementContractTests.Usdt]);
        _tasks = new DepositConfirmTasks(_store, _ledger, assets, new Dictionary<string, IEvmRpc> { ["ethereum"] = Node.Rpc },
            new SettlementOptions { BlockTimeSeconds = new() { ["ethereum"] = 1 } }, _time);
        _payments = new PaymentService(_store, assets, new IndexedTargets(), new PaymentOptions { PublicBaseUrl = "http://127.0.0.1" }, _time);
    }

    public async Task DisposeAsync() => await _stores.DisposeAsync();

    /// <summary>Creates a payment of 5 USDT, pays it from dev account #1 with a signed ERC-20 transfer and records the deposit
    /// from the mined receipt, as the watcher would.</summary>
    private async Task<(string PaymentId, string DepositId, EvmReceipt Receipt)> PayAsync(BigInteger amount)
    {
        var created = await _payments.CreateAsync(new MerchantPaymentSettings("m_chain", new HashSet<string> { "USDT@ethereum" }),
            Guid.NewGuid().ToString("N"), new CreatePaymentCommand(Guid.NewGuid().ToString("N"), "5", "USDT", "ethereum"));
        var payment = Assert.IsType<CreatePaymentOutcome.Created>(created).Payment;
        var hash = await Node.SendTokenAsync(Node.DevAccount(1), EvmAddress.Parse(payment.Address), amount);
        var receipt = await Node.WaitForReceiptAsync(hash, TimeSpan.FromSeconds(30));
        Assert.True(receipt.Succeeded);
        var log = Assert.Single(receipt.Logs);
        var depositId = await DetectAsync(_store, payment.Id, amount, _time.GetUtcNow(), receipt.BlockNumber, receipt.BlockHash,
            receipt.TransactionHash, log.LogIndex.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return (payment.Id, depositId, receipt);
    }

    [Fact]
    public async Task Confirmations_are_counted_as_blocks_are_mined_then_the_payment_is_credited()
    {
        var (paymentId, depositId, receipt) = await PayAsync(5_000_000);

        // Automine put the transfer in the head block: 1 of the 2 confirmations the local USDT needs.
        var first = await _tasks.CheckConfirmationsAsync(depositId);
        Assert.Equal(new ConfirmationsResult("waiting", 1, 2, 1), first);
        await Node.MineAsync(1);
        Assert.Equal(new ConfirmationsResult("confirmed", 2, 2, 0), await _tasks.CheckConfirmationsAsync(depositId));
        await Node.MineAsync(3);
        Assert.Equal(5, (await _tasks.CheckConfirmationsAsync(depositId)).Confirmations);
        Assert.True((await _tasks.VerifyCanonicalAsync(depositId)).Canonical);

        var credit = await _tasks.CreditPaymentAsync(depositId);
        Assert.Equal(new CreditResult(paymentId, "paid", $"dep:ethereum:{receipt.TransactionHash}:{receipt.Logs[0].LogIndex}:net"), credit);
        var merchant = await _ledger.GetBalanceAsync(AccountId.Create("m_chain", "USDT-ethereum", AccountKind.MerchantAvailable));
        Assert.Equal(new BigInteger(5_000_000), merchant!.CreditBalance);
    }

    [Fact]
    public async Task A_deposit_whose_block_is_reverted_is_orphaned_and_never_credited()
    {
        var snapshot = await Node.SnapshotAsync();
        var (paymentId, depositId, receipt) = await PayAsync(5_000_000);
        Assert.Equal("waiting", (await _tasks.CheckConfirmationsAsync(depositId)).State);

        Assert.True(await Node.RevertAsync(snapshot));
        // The node is now below the deposit's height: that alone is not proof of a reorg (a lagging node looks the same).
        var below = await _tasks.CheckConfirmationsAsync(depositId);
        Assert.Equal(("waiting", 0L), (below.State, below.Confirmations));

        // The replacement chain grows past the deposit's height with other blocks: now it is orphaned.
        await Node.MineAsync(3);
        var replaced = await Node.Rpc.GetBlockByNumberAsync(receipt.BlockNumber);
        Assert.NotEqual(receipt.BlockHash, replaced!.Hash);
        Assert.Equal(new ConfirmationsResult("orphaned", 0, 2, 0), await _tasks.CheckConfirmationsAsync(depositId));
        Assert.False((await _tasks.VerifyCanonicalAsync(depositId)).Canonical);

        Assert.Equal(new UndoResult(paymentId, "created"), await _tasks.UndoDetectionAsync(depositId));
        await Assert.ThrowsAsync<PermanentTaskException>(() => _tasks.CreditPaymentAsync(depositId));
        Assert.Null(await _ledger.GetBalanceAsync(AccountId.Create("m_chain", "USDT-ethereum", AccountKind.MerchantAvailable)));
        Assert.Null(await _ledger.GetTransferAsync(TransferId.Parse(DepositConfirmTasks.TransferBase((await ReadDeposit(depositId))) + ":net")));
    }

    private async Task<Deposit> ReadDeposit(string depositId) => Deposit.Read(depositId, (await _store.GetAsync(Deposit.Key(depositId)))!);
}
