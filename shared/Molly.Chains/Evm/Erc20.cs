using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Text;
using Molly.Chains.Crypto;

namespace Molly.Chains.Evm;

/// <summary>ERC-20 calldata and event decoding (the token standard's transfer call and Transfer log).</summary>
public static class Erc20
{
    public const string TransferSignature = "transfer(address,uint256)";
    public const string TransferEventSignature = "Transfer(address,address,uint256)";

    /// <summary>a9059cbb.</summary>
    public static ReadOnlyMemory<byte> TransferSelector { get; } = Abi.Selector(TransferSignature);

    /// <summary>topic0 of a Transfer log: keccak256("Transfer(address,address,uint256)").</summary>
    public static ReadOnlyMemory<byte> TransferEventTopic { get; } = Keccak256.Compute(Encoding.ASCII.GetBytes(TransferEventSignature));

    /// <summary>Calldata of transfer(to, amount); amount in token base units.</summary>
    public static byte[] EncodeTransfer(EvmAddress to, BigInteger amount) => Abi.EncodeCall(TransferSignature, to, amount);

    /// <summary>Reads transfer(address,uint256) calldata; rejects another selector, wrong length or a dirty address word.</summary>
    public static bool TryDecodeTransfer(ReadOnlySpan<byte> calldata, [MaybeNullWhen(false)] out EvmAddress to, out BigInteger amount)
    {
        to = null;
        amount = default;
        if (calldata.Length != 4 + 64 || !calldata[..4].SequenceEqual(TransferSelector.Span)) return false;
        if (!TryReadAddressWord(calldata.Slice(4, 32), out to)) return false;
        amount = new BigInteger(calldata.Slice(36, 32), isUnsigned: true, isBigEndian: true);
        return true;
    }

    /// <summary>
    /// Decodes a Transfer(address indexed from, address indexed to, uint256 value) log: exactly three topics, topic0 the
    /// event signature, 32-byte address topics with zero padding, and 32 bytes of data.
    /// </summary>
    public static bool TryDecodeTransferLog(EvmAddress token, IReadOnlyList<ReadOnlyMemory<byte>> topics, ReadOnlySpan<byte> data,
        [MaybeNullWhen(false)] out Erc20TransferLog log)
    {
        log = null;
        if (topics.Count != 3 || !topics[0].Span.SequenceEqual(TransferEventTopic.Span) || data.Length != 32) return false;
        if (!TryReadAddressWord(topics[1].Span, out var from) || !TryReadAddressWord(topics[2].Span, out var to)) return false;
        log = new Erc20TransferLog(token, from, to, new BigInteger(data, isUnsigned: true, isBigEndian: true));
        return true;
    }

    private static bool TryReadAddressWord(ReadOnlySpan<byte> word, [MaybeNullWhen(false)] out EvmAddress address)
    {
        address = null;
        if (word.Length != 32 || word[..12].ContainsAnyExcept((byte)0)) return false;
        address = EvmAddress.FromBytes(word[12..]);
        return true;
    }
}

/// <summary>A decoded ERC-20 Transfer event; Value is in the token's base units.</summary>
public sealed record Erc20TransferLog(EvmAddress Token, EvmAddress From, EvmAddress To, BigInteger Value);
