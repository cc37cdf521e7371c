using Molly.Chains.Evm;
using Molly.Chains.Rpc.Evm;
using Molly.Chains.Signing;
using Molly.Storage;
using Molly.Storage.Sqlite;
using Molly.Testing;
using Xunit;

namespace Molly.Chains.Rpc.Tests;

/// <summary>The nonce manager on both stores, against real Hardhat nodes (fresh random wallets on the shared node; a node of
/// its own where transactions are sent with managed nonces).</summary>
public abstract class NonceManagerTests : IAsyncLifetime
{
    private IItemStore _store = null!;

    /// <summary>The dev account whose nonces the store classes manage (on a node of the test's own).</summary>
    protected abstract int AccountIndex { get; }

    protected abstract Task<IItemStore> CreateStoreAsync();

    public async Task InitializeAsync() => _store = await CreateStoreAsync();

    public virtual async Task DisposeAsync()
    {
        if (_store is IAsyncDisposable d) await d.DisposeAsync();
    }

    private static EvmAddress FreshWallet() => EvmAddress.FromBytes(Guid.NewGuid().ToByteArray().Concat(new byte[4]).ToArray());

    [Fact]
    public async Task Thirty_two_concurrent_allocations_get_distinct_gapless_nonces()
    {
        var node = await HardhatNode.Shared;
        var wallet = FreshWallet();
        var managers = Enumerable.Range(0, 4).Select(_ => new EvmNonceManager(_store, node.Rpc, "ethereum")).ToList(); // as if 4 senders
        using var start = new ManualResetEventSlim();
        var tasks = Enumerable.Range(0, 32).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await managers[i % managers.Count].AllocateAsync(wallet);
        })).ToList();
        start.Set();
        var nonces = await Task.WhenAll(tasks);

        Assert.Equal(Enumerable.Range(0, 32).Select(i => (ulong)i), nonces.Order());
        var state = await managers[0].PeekAsync(wallet);
        Assert.Equal(32UL, state!.Value.Next);
        Assert.Empty(state.Value.Released);
        Assert.Equal(32UL, await managers[1].AllocateAsync(wallet));
    }

    [Fact]
    public async Task Released_nonces_are_reused_lowest_first_and_the_highest_one_lowers_next()
    {
        var node = await HardhatNode.Shared;
        var wallet = FreshWallet();
        var manager = new EvmNonceManager(_store, node.Rpc, "ethereum");
        for (ulong i = 0; i < 5; i++) Assert.Equal(i, await manager.AllocateAsync(wallet));

        await manager.ReleaseAsync(wallet, 1);
        await manager.ReleaseAsync(wallet, 1); // twice is once
        await manager.ReleaseAsync(wallet, 9); // never handed out: ignored
        var afterOne = (await manager.PeekAsync(wallet))!.Value;
        Assert.Equal(5UL, afterOne.Next);
        Assert.Equal([1UL], afterOne.Released);
        await manager.ReleaseAsync(wallet, 3);
        await manager.ReleaseAsync(wallet, 4); // the highest: next drops to 4, then 3 (released) folds in too
        var state = (await manager.PeekAsync(wallet))!.Value;
        Assert.Equal(3UL, state.Next);
        Assert.Equal([1UL], state.Released);

        Assert.Equal(1UL, await manager.AllocateAsync(wallet));
        Assert.Equal(3UL, await manager.AllocateAsync(wallet));
        Assert.Equal(4UL, await manager.AllocateAsync(wallet));
    }

    [Fact]
    public async Task Allocation_resyncs_with_the_nodes_pending_count_and_the_node_accepts_managed_nonces()
    {
        await using var node = await HardhatNode.StartAsync(); // its own: automine goes off below
        var account = node.DevAccount(AccountIndex);
        var manager = new EvmNonceManager(_store, node.Rpc, "ethereum");
        var onChain = await node.Rpc.GetTransactionCountAsync(account.Address);

        // Concurrent allocations for a wallet the store has never seen start at the node's count.
        var nonces = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => manager.AllocateAsync(account.Address))));
        Assert.Equal(Enumerable.Range(0, 8).Select(i => onChain + (ulong)i), nonces.Order());

        // Sign with our EIP-1559 signer and send highest nonce first (as concurrent senders may): the pool queues the gap
        // and one mined block takes all eight once it closes.
        var signer = new InMemorySigner().Add("hot", SignerKeyAlgorithm.Secp256k1, account.PrivateKey);
        var fees = await new EvmFeeEstimator(node.Rpc, new EvmFeeOptions()).EstimateAsync();
        var hashes = new List<string>();
        await node.SetAutomineAsync(false);
        foreach (var nonce in nonces.OrderDescending())
        {
            var tx = new Eip1559Transaction
            {
                ChainId = node.ChainId, Nonce = nonce, GasLimit = 21_000, To = FreshWallet(), Value = 1000 + (long)nonce,
                MaxFeePerGas = fees.MaxFeePerGas, MaxPriorityFeePerGas = fees.MaxPriorityFeePerGas,
            };
            hashes.Add(await node.Rpc.SendRawTransactionAsync((await tx.SignAsync(signer, "hot")).RawBytes));
        }
        await node.MineAsync();
        await node.SetAutomineAsync(true);
        var receipts = new List<EvmReceipt>();
        foreach (var hash in hashes) receipts.Add(await node.WaitForReceiptAsync(hash, TimeSpan.FromSeconds(20)));
        Assert.All(receipts, r => Assert.True(r.Succeeded));
        Assert.Single(receipts.Select(r => r.BlockNumber).Distinct());
        Assert.Equal(onChain + 8, await node.Rpc.GetTransactionCountAsync(account.Address, "latest"));

        // Two transactions sent outside the manager: the next allocation skips the nonces they used.
        await node.WaitForReceiptAsync(await node.SendEthAsync(account, FreshWallet(), 1), TimeSpan.FromSeconds(10));
        await node.WaitForReceiptAsync(await node.SendEthAsync(account, FreshWallet(), 1), TimeSpan.FromSeconds(10));
        Assert.Equal(onChain + 10, await manager.AllocateAsync(account.Address));

        // Reset (operator): back to the node's pending count.
        Assert.Equal(onChain + 10, await manager.ResetAsync(account.Address));
        Assert.Equal(onChain + 10, await manager.AllocateAsync(account.Address));
    }

    [Fact]
    public async Task Wallets_and_chains_have_separate_counters()
    {
        var node = await HardhatNode.Shared;
        var wallet = FreshWallet();
        var eth = new EvmNonceManager(_store, node.Rpc, "ethereum");
        var bsc = new EvmNonceManager(_store, node.Rpc, "bsc");
        Assert.Equal(0UL, await eth.AllocateAsync(wallet));
        Assert.Equal(1UL, await eth.AllocateAsync(wallet));
        Assert.Equal(0UL, await bsc.AllocateAsync(wallet));
        Assert.Equal(0UL, await eth.AllocateAsync(FreshWallet()));
        Assert.NotEqual(eth.KeyOf(wallet), bsc.KeyOf(wallet));
        Assert.Throws<ArgumentException>(() => new EvmNonceManager(_store, node.Rpc, "a#b"));
    }
}

public sealed class SqliteNonceManagerTests : NonceManagerTests
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "molly-nonce-" + Guid.NewGuid().ToString("N"));

    protected override int AccountIndex => 6;

    protected override Task<IItemStore> CreateStoreAsync()
    {
        Directory.CreateDirectory(_folder);
        return Task.FromResult<IItemStore>(SqliteItemStore.Open(new SqliteItemStoreOptions { Path = Path.Combine(_folder, "store.db") }));
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}

public sealed class DynamoDbNonceManagerTests : NonceManagerTests
{
    protected override int AccountIndex => 7;

    protected override async Task<IItemStore> CreateStoreAsync() => await DynamoDbLocal.Shared.CreateStoreAsync();
}
