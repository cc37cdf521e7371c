using System.Globalization;
using System.Numerics;
using Molly.Chains.Evm;
using Molly.Chains.Rpc.Evm;
using Molly.Domain;

namespace Molly.Deposits;

/// <summary>A transfer into a watched address, found in a block: a native value transfer or an ERC-20 Transfer log.</summary>
/// <param name="Index">The deposit's index within its transaction's block position: the log index (decimal) for a Transfer
/// log, <c>n{transactionIndex}</c> for a native transfer (a transaction carries at most one top-level value).</param>
public sealed record DepositCandidate(
    Asset Asset,
    EvmAddress To,
    EvmAddress From,
    BigInteger Amount,
    string TxHash,
    string Index,
    ulong BlockNumber,
    string BlockHash,
    DateTimeOffset BlockTime);

/// <summary>
/// Matching of a block range against the watched addresses: transactions' <c>to</c> for the chain's native coin, and
/// ERC-20 <c>Transfer(address,address,uint256)</c> logs (recipient in topic 2, amount in data) of the token contracts the
/// asset registry knows for the chain and network. Anything malformed is not a deposit.
/// </summary>
public static class TransferMatcher
{
    /// <summary>keccak256("Transfer(address,address,uint256)") as the node writes it (lower-case hex).</summary>
    public static readonly string TransferTopic = EvmHex.Encode(Erc20.TransferEventTopic.Span);

    /// <summary>True when the log is a well-formed Transfer whose recipient is in <paramref name="watched"/>; the hot path of
    /// matching (no allocation unless it matches).</summary>
    public static bool IsTransferToWatched(EvmLog log, AddressSet watched)
    {
        var topics = log.Topics;
        if (topics.Count != 3 || log.Removed) return false;
        var to = topics[2].AsSpan();
        // 0x + 24 zero digits of padding + 40 address digits. The recipient is looked up before topic 0 is compared: almost
        // every log is not ours, and this way its topic-0 string is never read.
        return to.Length == 66 && to[..26].IndexOfAnyExcept('0', 'x') < 0 && to[1] == 'x' && watched.ContainsHex(to[26..])
            && string.Equals(topics[0], TransferTopic, StringComparison.Ordinal);
    }

    public static List<DepositCandidate> Match(
        IReadOnlyList<EvmBlock> blocks, IReadOnlyList<EvmLog> logs, AddressSet watched, Asset? native, IReadOnlyDictionary<EvmAddress, Asset> tokens)
    {
        var found = new List<DepositCandidate>();
        var byNumber = blocks.ToDictionary(b => b.Number);
        foreach (var block in blocks)
        {
            if (native is null) break;
            foreach (var tx in block.Transactions)
            {
                if (tx.To is null || tx.Value.Sign <= 0 || !watched.Contains(tx.To.Bytes)) continue;
                found.Add(new DepositCandidate(native, tx.To, tx.From, tx.Value, tx.Hash.ToLowerInvariant(),
                    $"n{tx.TransactionIndex.ToString(CultureInfo.InvariantCulture)}", block.Number, block.Hash, block.Timestamp));
            }
        }
        for (var i = 0; i < logs.Count; i++)
        {
            var log = logs[i];
            if (!IsTransferToWatched(log, watched) || !tokens.TryGetValue(log.Address, out var token)) continue;
            if (!byNumber.TryGetValue(log.BlockNumber, out var block)) continue;
            var data = log.Data.AsSpan();
            if (data.Length != 66 || !data.StartsWith("0x", StringComparison.Ordinal)) continue; // a uint256, nothing else
            var amount = BigInteger.Parse("0" + new string(data[2..]), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            if (amount.Sign <= 0) continue; // zero-value transfers are address-poisoning noise, never a payment
            var from = EvmAddress.FromBytes(Convert.FromHexString(log.Topics[1].AsSpan(26)));
            var to = EvmAddress.FromBytes(Convert.FromHexString(log.Topics[2].AsSpan(26)));
            found.Add(new DepositCandidate(token, to, from, amount, log.TransactionHash.ToLowerInvariant(),
                log.LogIndex.ToString(CultureInfo.InvariantCulture), block.Number, block.Hash, block.Timestamp));
        }
        return found;
    }
}
