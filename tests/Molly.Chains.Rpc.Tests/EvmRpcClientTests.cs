using System.Numerics;
using Molly.Chains.Evm;
using Molly.Chains.Rpc.Evm;
using Molly.Chains.Signing;
using Molly.Testing;
using Xunit;

namespace Molly.Chains.Rpc.Tests;

/// <summary>EvmRpcClient against a real Hardhat node (the shared one: these tests only add transactions).</summary>
public class EvmRpcClientTests
{
    private static EvmAddress FreshAddress() => EvmAddress.FromBytes(Guid.NewGuid().ToByteArray().Concat(new byte[4]).ToArray());

    [Fact]
    public async Task Chain_id_and_block_number_come_from_the_node()
    {
        var node = await HardhatNode.Shared;
        Assert.Equal(31337, await node.Rpc.GetChainIdAsync());
        var before = await node.Rpc.GetBlockNumberAsync();
        await node.WaitForReceiptAsync(await node.SendEthAsync(node.DevAccount(8), FreshAddress(), 1), TimeSpan.FromSeconds(10));
        Assert.True(await node.Rpc.GetBlockNumberAsync() > before);
    }

    [Fact]
    public async Task A_signed_eip1559_transfer_is_accepted_mined_and_found_in_its_block_by_number_and_by_hash()
    {
        var node = await HardhatNode.Shared;
        var rpc = node.Rpc;
        var from = node.DevAccount(2);
        var to = FreshAddress();
        var signer = new InMemorySigner().Add("dev2", SignerKeyAlgorithm.Secp256k1, from.PrivateKey);
        var fees = await new EvmFeeEstimator(rpc, new EvmFeeOptions()).EstimateAsync();
        var tx = new Eip1559Transaction
        {
            ChainId = 31337,
            Nonce = await rpc.GetTransactionCountAsync(from.Address),
            MaxPriorityFeePerGas = fees.MaxPriorityFeePerGas,
            MaxFeePerGas = fees.MaxFeePerGas,
            GasLimit = 21_000,
            To = to,
            Value = 123_456_789,
        };
        var signed = await tx.SignAsync(signer, "dev2");
        var balanceBefore = await rpc.GetBalanceAsync(from.Address);

        var hash = await rpc.SendRawTransactionAsync(signed.RawBytes);
        Assert.Equal(EvmHex.Encode(signed.Hash), hash);
        Assert.Equal(hash, await rpc.SendRawTransactionAsync(signed.RawBytes)); // a re-send is not an error

        var receipt = await node.WaitForReceiptAsync(hash, TimeSpan.FromSeconds(10));
        Assert.True(receipt.Succeeded);
        Assert.Equal(21_000, (int)receipt.GasUsed);
        Assert.True(receipt.EffectiveGasPrice <= fees.MaxFeePerGas);
        Assert.Null(receipt.ContractAddress);
        Assert.Equal(123_456_789, (long)await rpc.GetBalanceAsync(to));
        Assert.Equal(balanceBefore - 123_456_789 - receipt.GasUsed * receipt.EffectiveGasPrice, await rpc.GetBalanceAsync(from.Address));

        var byNumber = await rpc.GetBlockByNumberAsync(receipt.BlockNumber);
        Assert.NotNull(byNumber);
        Assert.Equal(receipt.BlockHash, byNumber.Hash);
        var inBlock = Assert.Single(byNumber.Transactions, t => t.Hash == hash);
        Assert.Equal(from.Address, inBlock.From);
        Assert.Equal(to, inBlock.To);
        Assert.Equal(123_456_789, (long)inBlock.Value);
        Assert.Equal("0x", inBlock.Input);
        Assert.NotNull(byNumber.BaseFeePerGas);

        var byHash = await rpc.GetBlockByHashAsync(receipt.BlockHash);
        Assert.NotNull(byHash);
        Assert.Equal(byNumber.Number, byHash.Number);
        Assert.Equal(byNumber.ParentHash, byHash.ParentHash);
        Assert.Equal(byNumber.Transactions, byHash.Transactions);
        var parent = await rpc.GetBlockByNumberAsync(receipt.BlockNumber - 1);
        Assert.Equal(parent!.Hash, byNumber.ParentHash);
        Assert.True(byNumber.Timestamp >= parent.Timestamp);
    }

    [Fact]
    public async Task Unknown_blocks_and_transactions_are_null()
    {
        var rpc = (await HardhatNode.Shared).Rpc;
        Assert.Null(await rpc.GetBlockByNumberAsync(await rpc.GetBlockNumberAsync() + 1000));
        Assert.Null(await rpc.GetBlockByHashAsync("0x" + new string('1', 64)));
        Assert.Null(await rpc.GetTransactionReceiptAsync("0x" + new string('2', 64)));
    }

    [Fact]
    public async Task A_token_transfer_log_is_found_by_address_and_topic_filters()
    {
        var node = await HardhatNode.Shared;
        var payee = FreshAddress();
        var hash = await node.SendTokenAsync(node.DevAccount(1), payee, 4_200_000);
        var receipt = await node.WaitForReceiptAsync(hash, TimeSpan.FromSeconds(10));
        Assert.True(receipt.Succeeded);
        Assert.Single(receipt.Logs);

        var transferTopic = EvmHex.Encode(Erc20.TransferEventTopic.Span);
        var payeeTopic = EvmHex.Encode(Abi.LeftPad(payee.Bytes));
        var logs = await node.Rpc.GetLogsAsync(new EvmLogFilter(receipt.BlockNumber - 5, receipt.BlockNumber, [node.TokenAddress],
            [[transferTopic], null, [payeeTopic]]));

        var log = Assert.Single(logs);
        Assert.Equal(hash, log.TransactionHash);
        Assert.Equal(receipt.BlockHash, log.BlockHash);
        Assert.Equivalent(receipt.Logs[0], log, strict: true);
        Assert.True(Erc20.TryDecodeTransferLog(log.Address, log.Topics.Select(t => (ReadOnlyMemory<byte>)EvmHex.Decode(t)).ToList(),
            EvmHex.Decode(log.Data), out var transfer));
        Assert.Equal(node.DevAccount(1).Address, transfer.From);
        Assert.Equal(payee, transfer.To);
        Assert.Equal(4_200_000, (long)transfer.Value);

        var otherPayee = EvmHex.Encode(Abi.LeftPad(FreshAddress().Bytes));
        Assert.Empty(await node.Rpc.GetLogsAsync(new EvmLogFilter(receipt.BlockNumber, receipt.BlockNumber, [node.TokenAddress], [[transferTopic], null, [otherPayee]])));
        Assert.Empty(await node.Rpc.GetLogsAsync(new EvmLogFilter(receipt.BlockNumber, receipt.BlockNumber, [FreshAddress()], null)));
        Assert.Empty(await node.Rpc.GetLogsAsync(new EvmLogFilter(receipt.BlockNumber, receipt.BlockNumber, [], null)));
    }

    [Fact]
    public async Task Gas_estimates_match_what_the_transactions_use()
    {
        var node = await HardhatNode.Shared;
        var from = node.DevAccount(4).Address;
        // Hardhat's binary search may land a unit above the exact need (21001 for a plain transfer).
        Assert.InRange((long)await node.Rpc.EstimateGasAsync(new EvmCall(from, FreshAddress(), 1, null)), 21_000, 21_100);
        var payee = FreshAddress();
        var transfer = EvmHex.Encode(Erc20.EncodeTransfer(payee, 1_000_000));
        var tokenGas = await node.Rpc.EstimateGasAsync(new EvmCall(from, node.TokenAddress, 0, transfer));
        Assert.InRange((long)tokenGas, 30_000, 80_000);
        var receipt = await node.WaitForReceiptAsync(await node.SendTokenAsync(node.DevAccount(4), payee, 1_000_000), TimeSpan.FromSeconds(10));
        Assert.True(receipt.Succeeded);
        Assert.InRange(receipt.GasUsed, tokenGas * 9 / 10, tokenGas);

        // More than the balance: the node refuses, and the client says which error it was.
        var tooMuch = EvmHex.Encode(Erc20.EncodeTransfer(FreshAddress(), HardhatNode.MintedPerAccount + 1));
        var error = await Assert.ThrowsAsync<EvmRpcErrorException>(() => node.Rpc.EstimateGasAsync(new EvmCall(from, node.TokenAddress, 0, tooMuch)));
        Assert.Contains("insufficient balance", error.Message);
        Assert.Equal("eth_estimateGas", error.Method);
    }

    [Fact]
    public async Task A_batch_returns_answers_in_request_order_with_per_request_errors()
    {
        var node = await HardhatNode.Shared;
        var head = await node.Rpc.GetBlockNumberAsync();
        var results = await node.Rpc.BatchAsync(
        [
            new("eth_chainId"),
            new("no_such_method"),
            new("eth_getBlockByNumber", [HexQuantity.Format(head), false]),
            new("eth_getBalance", [node.DevAccount(5).Address.ToLowerHex(), "latest"]),
        ]);
        Assert.Equal(4, results.Count);
        Assert.Equal("0x7a69", results[0].GetResultOrThrow().GetString());
        Assert.NotNull(results[1].Error);
        Assert.Contains("no_such_method", results[1].Error!.RpcMessage);
        Assert.Throws<EvmRpcErrorException>(() => results[1].GetResultOrThrow());
        Assert.True(results[2].GetResultOrThrow().GetProperty("number").GetString() is { } n && HexQuantity.Parse(n) >= head);
        Assert.Equal(await node.Rpc.GetBalanceAsync(node.DevAccount(5).Address), HexQuantity.Parse(results[3].GetResultOrThrow().GetString()));

        var numbers = Enumerable.Range(0, (int)Math.Min(head + 1, 7)).Select(i => (ulong)i).Append(head + 100).ToList();
        var blocks = await node.Rpc.GetBlocksByNumberAsync(numbers);
        Assert.Equal(numbers.Count, blocks.Count);
        Assert.Null(blocks[^1]);
        for (var i = 0; i < numbers.Count - 1; i++)
            Assert.Equal((await node.Rpc.GetBlockByNumberAsync(numbers[i]))!.Hash, blocks[i]!.Hash);
    }

    [Fact]
    public async Task Batches_larger_than_the_limit_are_sent_in_several_requests()
    {
        var node = await HardhatNode.Shared;
        var requests = 0;
        await using var stub = new RpcStub(async (_, body) => { Interlocked.Increment(ref requests); return await RpcStub.ForwardAsync(node.RpcUrl, body); });
        var client = node.CreateClient(o => { o.Endpoints = [stub.Url]; o.MaxBatchSize = 3; });
        var results = await client.BatchAsync(Enumerable.Range(0, 8).Select(i => new EvmRpcRequest("eth_getBlockByNumber", [HexQuantity.Format((ulong)i), false])).ToList());
        Assert.Equal(3, requests);
        for (var i = 0; i < 8; i++) Assert.Equal(HexQuantity.Format((ulong)i), results[i].GetResultOrThrow().GetProperty("number").GetString());
    }

    [Fact]
    public async Task Fee_history_and_the_estimate_follow_the_nodes_base_fee()
    {
        var node = await HardhatNode.Shared;
        await node.WaitForReceiptAsync(await node.SendEthAsync(node.DevAccount(3), FreshAddress(), 1), TimeSpan.FromSeconds(10));
        var history = await node.Rpc.GetFeeHistoryAsync(4, "latest", [10, 50, 90]);
        Assert.Equal(5, history.BaseFeePerGas.Count);
        Assert.Equal(4, history.GasUsedRatio.Count);
        Assert.Equal(4, history.Reward.Count);
        Assert.All(history.Reward, r => Assert.Equal(3, r.Count));
        Assert.All(history.Reward, r => Assert.True(r[0] <= r[1] && r[1] <= r[2]));
        var head = await node.Rpc.GetBlockNumberAsync();
        Assert.Equal(head - 3, history.OldestBlock);
        var latest = await node.Rpc.GetBlockByNumberAsync(head);
        Assert.Equal(latest!.BaseFeePerGas, history.BaseFeePerGas[^2]);

        var options = new EvmFeeOptions { HistoryBlocks = 4 };
        var estimate = await new EvmFeeEstimator(node.Rpc, options).EstimateAsync();
        var pending = await node.Rpc.CallAsync("eth_getBlockByNumber", ["pending", false]);
        var pendingBaseFee = HexQuantity.Parse(pending.GetProperty("baseFeePerGas").GetString());
        Assert.Equal(pendingBaseFee, estimate.NextBaseFeePerGas);
        Assert.InRange(estimate.MaxPriorityFeePerGas, options.MinPriorityFeePerGas, options.MaxPriorityFeePerGas);
        Assert.Equal(estimate.NextBaseFeePerGas * 2 + estimate.MaxPriorityFeePerGas, estimate.MaxFeePerGas);
    }

    [Fact]
    public async Task Node_errors_carry_code_and_message_and_reverts_are_not_retried()
    {
        var node = await HardhatNode.Shared;
        var calls = 0;
        await using var stub = new RpcStub(async (_, body) => { Interlocked.Increment(ref calls); return await RpcStub.ForwardAsync(node.RpcUrl, body); });
        var client = node.CreateClient(o => o.Endpoints = [stub.Url]);
        var error = await Assert.ThrowsAsync<EvmRpcErrorException>(() => client.CallAsync("eth_getBalance", ["0x1234", "latest"]));
        Assert.NotEqual(0, error.Code);
        Assert.False(string.IsNullOrEmpty(error.RpcMessage));
        Assert.Equal(1, calls);
        Assert.Contains("127.0.0.1", error.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => client.GetBalanceAsync(node.DevAccount(0).Address, "yesterday"));
        Assert.Equal(1, calls);
    }
}
