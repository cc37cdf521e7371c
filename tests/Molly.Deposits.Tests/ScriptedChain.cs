using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using Molly.Chains.Crypto;
using Molly.Chains.Evm;
using Molly.Chains.Rpc.Evm;
using Molly.Deposits;

namespace Molly.Deposits.Tests;

/// <summary>One transfer to put in a scripted block: native when <see cref="Token"/> is null, else an ERC-20 Transfer log.</summary>
public sealed record ScriptedTransfer(EvmAddress To, BigInteger Amount, EvmAddress? Token = null, string? TxHash = null)
{
    public EvmAddress From { get; init; } = EvmAddress.Parse("0x00000000000000000000000000000000000000f1");
    /// <summary>Raw topics/data instead of a well-formed Transfer (malformed-log cases).</summary>
    public (IReadOnlyList<string> Topics, string Data)? RawLog { get; init; }
}

/// <summary>
/// An in-memory EVM chain for unit tests of the watcher's logic: blocks with real 32-byte hashes linked by parent hash,
/// native transfers as block transactions, ERC-20 transfers as Transfer logs, and forks (<see cref="Fork"/> drops the blocks
/// above a height so the next <see cref="Mine"/> builds a competing branch). Not a proof that an RPC adapter works (the Hardhat
/// tests are); it lets tests script reorgs and failures exactly.
/// </summary>
public sealed class ScriptedChain : IEvmRpc
{
    private readonly object _gate = new();
    private readonly List<(EvmBlock Block, List<EvmLog> Logs)> _blocks = [];
    private int _salt;

    public ScriptedChain(int initialBlocks = 1)
    {
        for (var i = 0; i < initialBlocks; i++) Mine();
    }

    /// <summary>Called before each block read with the block number; a test throws or cancels from here to stop a pass.</summary>
    public Action<ulong>? BeforeGetBlock { get; set; }

    public int GetLogsCalls { get; private set; }

    public ulong Head { get { lock (_gate) return (ulong)_blocks.Count - 1; } }

    public EvmBlock Block(ulong number) { lock (_gate) return _blocks[(int)number].Block; }

    /// <summary>Appends a block holding the transfers (in order) and returns it.</summary>
    public EvmBlock Mine(params ScriptedTransfer[] transfers)
    {
        lock (_gate)
        {
            var number = (ulong)_blocks.Count;
            var parent = number == 0 ? EvmHex.Encode(new byte[32]) : _blocks[^1].Block.Hash;
            var hash = EvmHex.Encode(Keccak256.Compute(
                System.Text.Encoding.ASCII.GetBytes($"{parent}/{number}/{_salt++}/{Guid.NewGuid()}")));
            var txs = new List<EvmBlockTransaction>();
            var logs = new List<EvmLog>();
            foreach (var t in transfers)
            {
                var txHash = t.TxHash ?? RandomHash();
                var txIndex = txs.Count;
                if (t.Token is null && t.RawLog is null)
                {
                    txs.Add(new EvmBlockTransaction(txHash, txIndex, t.From, t.To, t.Amount, "0x"));
                    continue;
                }
                var token = t.Token ?? EvmAddress.Parse("0x5FbDB2315678afecb367f032d93F642f64180aa3");
                txs.Add(new EvmBlockTransaction(txHash, txIndex, t.From, token, 0,
                    EvmHex.Encode(Erc20.EncodeTransfer(t.To, t.Amount))));
                var (topics, data) = t.RawLog ?? ([TransferMatcher.TransferTopic, Word(t.From), Word(t.To)],
                    "0x" + t.Amount.ToString("x64", CultureInfo.InvariantCulture)[^64..]);
                logs.Add(new EvmLog(token, topics, data, number, hash, txHash, txIndex, logs.Count, false));
            }
            var block = new EvmBlock(number, hash, parent, DateTimeOffset.UtcNow, 1, txs);
            _blocks.Add((block, logs));
            return block;
        }
    }

    /// <summary>Drops every block above <paramref name="height"/>; the next <see cref="Mine"/> builds the competing branch.</summary>
    public void Fork(ulong height)
    {
        lock (_gate) _blocks.RemoveRange((int)height + 1, _blocks.Count - (int)height - 1);
    }

    public static string RandomHash() => EvmHex.Encode(RandomNumberGenerator.GetBytes(32));

    private static string Word(EvmAddress a) => "0x" + new string('0', 24) + Convert.ToHexStringLower(a.Bytes);

    public Task<ulong> GetBlockNumberAsync(CancellationToken ct = default) => Task.FromResult(Head);

    public Task<EvmBlock?> GetBlockByNumberAsync(ulong number, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        BeforeGetBlock?.Invoke(number);
        lock (_gate) return Task.FromResult(number < (ulong)_blocks.Count ? _blocks[(int)number].Block : null);
    }

    public Task<EvmBlock?> GetBlockByHashAsync(string blockHash, CancellationToken ct = default)
    {
        lock (_gate) return Task.FromResult(_blocks.Select(b => b.Block).FirstOrDefault(b => b.Hash == blockHash));
    }

    public Task<IReadOnlyList<EvmLog>> GetLogsAsync(EvmLogFilter filter, CancellationToken ct = default)
    {
        ct.ThrowIfCancellationRequested();
        lock (_gate)
        {
            GetLogsCalls++;
            var topic0 = filter.Topics is { Count: > 0 } t && t[0] is { } alternatives ? alternatives : null;
            IReadOnlyList<EvmLog> logs = _blocks
                .Where(b => b.Block.Number >= filter.FromBlock && b.Block.Number <= filter.ToBlock)
                .SelectMany(b => b.Logs)
                .Where(l => filter.Addresses is null || filter.Addresses.Contains(l.Address))
                .Where(l => topic0 is null || (l.Topics.Count > 0 && topic0.Contains(l.Topics[0])))
                .ToList();
            return Task.FromResult(logs);
        }
    }

    public long ChainId { get; set; } = 31337;

    public Task<long> GetChainIdAsync(CancellationToken ct = default) => Task.FromResult(ChainId);

    public Task<BigInteger> GetBalanceAsync(EvmAddress address, string blockTag = "latest", CancellationToken ct = default) => throw new NotSupportedException();

    public Task<ulong> GetTransactionCountAsync(EvmAddress address, string blockTag = "pending", CancellationToken ct = default) => throw new NotSupportedException();

    public Task<EvmFeeHistory> GetFeeHistoryAsync(int blockCount, string newestBlock, IReadOnlyList<double> rewardPercentiles, CancellationToken ct = default) =>
        throw new NotSupportedException();

    public Task<BigInteger> EstimateGasAsync(EvmCall call, CancellationToken ct = default) => throw new NotSupportedException();

    public Task<string> SendRawTransactionAsync(ReadOnlyMemory<byte> signedTransaction, CancellationToken ct = default) => throw new NotSupportedException();

    public Task<EvmReceipt?> GetTransactionReceiptAsync(string transactionHash, CancellationToken ct = default) => throw new NotSupportedException();
}
