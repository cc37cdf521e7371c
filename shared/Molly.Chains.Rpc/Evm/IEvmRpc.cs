using System.Numerics;
using Molly.Chains.Evm;

namespace Molly.Chains.Rpc.Evm;

/// <summary>
/// What the gateway reads from and sends to an EVM node (the JSON-RPC methods of the execution API). The implementation
/// over HTTP is <c>EvmRpcClient</c>; the chain watcher and the withdrawal sender depend only on this interface, so a test
/// can feed them a scripted chain and a real package (Nethereum) could stand behind it.
/// Hashes and data are 0x-prefixed lower-case hex strings, quantities are integers, addresses are <see cref="EvmAddress"/>.
/// </summary>
public interface IEvmRpc
{
    Task<long> GetChainIdAsync(CancellationToken ct = default);

    Task<ulong> GetBlockNumberAsync(CancellationToken ct = default);

    /// <summary>The block with its full transactions, or null when the node has no block at that height (yet).</summary>
    Task<EvmBlock?> GetBlockByNumberAsync(ulong number, CancellationToken ct = default);

    /// <summary>The block with its full transactions, or null when the node does not know the hash (e.g. after a reorg).</summary>
    Task<EvmBlock?> GetBlockByHashAsync(string blockHash, CancellationToken ct = default);

    /// <summary>Several blocks with their transactions, in order; null where the node has no block at that height. The HTTP
    /// client sends them as JSON-RPC batches; this default asks one by one (scripted test chains need not override it).</summary>
    async Task<IReadOnlyList<EvmBlock?>> GetBlocksByNumberAsync(IReadOnlyList<ulong> numbers, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(numbers);
        var blocks = new EvmBlock?[numbers.Count];
        for (var i = 0; i < numbers.Count; i++) blocks[i] = await GetBlockByNumberAsync(numbers[i], ct).ConfigureAwait(false);
        return blocks;
    }

    /// <summary>Logs in [FromBlock, ToBlock] matching the filter. Implementations split ranges and address sets to stay
    /// within the node's limits and return the union, ordered by block number then log index.</summary>
    Task<IReadOnlyList<EvmLog>> GetLogsAsync(EvmLogFilter filter, CancellationToken ct = default);

    Task<BigInteger> GetBalanceAsync(EvmAddress address, string blockTag = "latest", CancellationToken ct = default);

    /// <summary>eth_getTransactionCount: "latest" for mined, "pending" to include the node's pool.</summary>
    Task<ulong> GetTransactionCountAsync(EvmAddress address, string blockTag = "pending", CancellationToken ct = default);

    Task<EvmFeeHistory> GetFeeHistoryAsync(int blockCount, string newestBlock, IReadOnlyList<double> rewardPercentiles, CancellationToken ct = default);

    Task<BigInteger> EstimateGasAsync(EvmCall call, CancellationToken ct = default);

    /// <summary>eth_sendRawTransaction; returns the transaction hash. Re-sending a transaction the node already has is not an error.</summary>
    Task<string> SendRawTransactionAsync(ReadOnlyMemory<byte> signedTransaction, CancellationToken ct = default);

    /// <summary>The receipt, or null while the transaction is not mined.</summary>
    Task<EvmReceipt?> GetTransactionReceiptAsync(string transactionHash, CancellationToken ct = default);
}

public sealed record EvmBlock(
    ulong Number,
    string Hash,
    string ParentHash,
    DateTimeOffset Timestamp,
    BigInteger? BaseFeePerGas,
    IReadOnlyList<EvmBlockTransaction> Transactions);

/// <summary>A transaction as it appears in a block. <see cref="To"/> is null for a contract creation.</summary>
public sealed record EvmBlockTransaction(
    string Hash,
    int TransactionIndex,
    EvmAddress From,
    EvmAddress? To,
    BigInteger Value,
    string Input);

public sealed record EvmLog(
    EvmAddress Address,
    IReadOnlyList<string> Topics,
    string Data,
    ulong BlockNumber,
    string BlockHash,
    string TransactionHash,
    int TransactionIndex,
    int LogIndex,
    bool Removed);

/// <summary>eth_getLogs filter. A null <see cref="Addresses"/> means any contract; each entry of <see cref="Topics"/> is
/// null (any) or the alternatives for that position.</summary>
public sealed record EvmLogFilter(
    ulong FromBlock,
    ulong ToBlock,
    IReadOnlyList<EvmAddress>? Addresses,
    IReadOnlyList<IReadOnlyList<string>?>? Topics);

/// <summary>eth_feeHistory result: per block, base fee and the rewards at the requested percentiles. BaseFeePerGas has
/// one more entry than the block count (the next block's).</summary>
public sealed record EvmFeeHistory(
    ulong OldestBlock,
    IReadOnlyList<BigInteger> BaseFeePerGas,
    IReadOnlyList<double> GasUsedRatio,
    IReadOnlyList<IReadOnlyList<BigInteger>> Reward);

public sealed record EvmCall(EvmAddress? From, EvmAddress? To, BigInteger Value, string? Data);

public sealed record EvmReceipt(
    string TransactionHash,
    ulong BlockNumber,
    string BlockHash,
    bool Succeeded,
    BigInteger GasUsed,
    BigInteger EffectiveGasPrice,
    EvmAddress? ContractAddress,
    IReadOnlyList<EvmLog> Logs);
