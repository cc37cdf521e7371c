using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Molly.Chains.Crypto;
using Molly.Chains.Evm;
using Molly.Chains.Signing;

namespace Molly.Chains.Tron;

/// <summary>A contract call inside a TRON transaction (Tron protocol's Transaction.Contract).</summary>
public abstract record TronContract
{
    /// <summary>Transaction.Contract.ContractType value.</summary>
    public abstract int ContractType { get; }

    /// <summary>The google.protobuf.Any type_url.</summary>
    public abstract string TypeUrl { get; }

    /// <summary>The serialised contract message (the Any value).</summary>
    public abstract byte[] ToByteArray();
}

/// <summary>TRX transfer (protocol.TransferContract: owner_address=1, to_address=2, amount=3 in sun).</summary>
public sealed record TransferContract(TronAddress Owner, TronAddress To, long AmountSun) : TronContract
{
    public override int ContractType => 1;

    public override string TypeUrl => "type.googleapis.com/protocol.TransferContract";

    public override byte[] ToByteArray()
    {
        if (AmountSun <= 0) throw new ArgumentOutOfRangeException(nameof(AmountSun), "TRX transfer amount must be positive.");
        return TronProto.Message(o =>
        {
            TronProto.Bytes(o, 1, Owner.Bytes);
            TronProto.Bytes(o, 2, To.Bytes);
            TronProto.Varint(o, 3, AmountSun);
        });
    }
}

/// <summary>Smart contract call (protocol.TriggerSmartContract: owner_address=1, contract_address=2, call_value=3, data=4).</summary>
public sealed record TriggerSmartContract(TronAddress Owner, TronAddress Contract, ReadOnlyMemory<byte> Data, long CallValueSun = 0) : TronContract
{
    public override int ContractType => 31;

    public override string TypeUrl => "type.googleapis.com/protocol.TriggerSmartContract";

    /// <summary>A TRC-20 transfer(to, amount) call; amount in token base units.</summary>
    public static TriggerSmartContract Trc20Transfer(TronAddress owner, TronAddress token, TronAddress to, System.Numerics.BigInteger amount) =>
        new(owner, token, Erc20.EncodeTransfer(to.ToEvm(), amount));

    public override byte[] ToByteArray() => TronProto.Message(o =>
    {
        TronProto.Bytes(o, 1, Owner.Bytes);
        TronProto.Bytes(o, 2, Contract.Bytes);
        TronProto.Varint(o, 3, CallValueSun);
        TronProto.Bytes(o, 4, Data.Span);
    });
}

/// <summary>
/// Transaction.raw: ref_block_bytes=1, ref_block_hash=4, expiration=8, contract=11, timestamp=14, fee_limit=18 (times in
/// milliseconds). The txID is SHA-256 of these bytes; the signature is r||s||v (v = recovery id) over the txID.
/// </summary>
public sealed record TronTransaction
{
    public required ReadOnlyMemory<byte> RefBlockBytes { get; init; }

    public required ReadOnlyMemory<byte> RefBlockHash { get; init; }

    public required long Expiration { get; init; }

    public required long Timestamp { get; init; }

    public required TronContract Contract { get; init; }

    /// <summary>Max energy fee in sun for smart contract calls; 0 leaves the field out.</summary>
    public long FeeLimit { get; init; }

    /// <summary>Reference block fields from a block: bytes 6..8 of the 8-byte big-endian height and bytes 8..16 of the block id.</summary>
    public static (byte[] RefBlockBytes, byte[] RefBlockHash) ReferenceBlock(long blockNumber, ReadOnlySpan<byte> blockId32)
    {
        if (blockId32.Length != 32) throw new ArgumentException($"A block id is 32 bytes, got {blockId32.Length}.", nameof(blockId32));
        var height = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(height, blockNumber);
        return (height[6..8], blockId32[8..16].ToArray());
    }

    public byte[] RawDataBytes()
    {
        if (RefBlockBytes.Length != 2) throw new ArgumentException("ref_block_bytes is 2 bytes.");
        if (RefBlockHash.Length != 8) throw new ArgumentException("ref_block_hash is 8 bytes.");
        if (Expiration <= Timestamp) throw new ArgumentException("Expiration must be after the timestamp.");
        var any = TronProto.Message(o =>
        {
            TronProto.String(o, 1, Contract.TypeUrl);
            TronProto.Bytes(o, 2, Contract.ToByteArray());
        });
        var contract = TronProto.Message(o =>
        {
            TronProto.Varint(o, 1, Contract.ContractType);
            TronProto.Bytes(o, 2, any);
        });
        return TronProto.Message(o =>
        {
            TronProto.Bytes(o, 1, RefBlockBytes.Span);
            TronProto.Bytes(o, 4, RefBlockHash.Span);
            TronProto.Varint(o, 8, Expiration);
            TronProto.Bytes(o, 11, contract);
            TronProto.Varint(o, 14, Timestamp);
            TronProto.Varint(o, 18, FeeLimit);
        });
    }

    public byte[] TxId() => SHA256.HashData(RawDataBytes());

    public SignedTronTransaction WithSignature(EcdsaSignature signature) => new(RawDataBytes(), signature.ToRsv());

    public async Task<SignedTronTransaction> SignAsync(ISigner signer, string keyId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(signer);
        var raw = RawDataBytes();
        var signature = await signer.SignDigestAsync(keyId, SHA256.HashData(raw), cancellationToken).ConfigureAwait(false);
        return new SignedTronTransaction(raw, signature.ToRsv());
    }
}

/// <summary>A signed TRON transaction (protocol.Transaction: raw_data=1, signature=2).</summary>
public sealed record SignedTronTransaction(ReadOnlyMemory<byte> RawData, ReadOnlyMemory<byte> Signature)
{
    public byte[] TxId => SHA256.HashData(RawData.Span);

    public byte[] ToByteArray() => TronProto.Message(o =>
    {
        TronProto.Bytes(o, 1, RawData.Span);
        TronProto.Bytes(o, 2, Signature.Span);
    });

    /// <summary>The signer's address, recovered from the signature over the txID.</summary>
    public TronAddress RecoverOwner() =>
        TronAddress.FromPublicKey(Secp256k1.RecoverPublicKey(TxId, EcdsaSignatureRsv.FromRsv(Signature.Span)));
}

/// <summary>TronWeb signMessage: keccak256("\x19TRON Signed Message:\n" + length + message), signature r||s||(27+v).</summary>
public static class TronMessage
{
    public static byte[] Hash(ReadOnlySpan<byte> message)
    {
        var prefix = Encoding.UTF8.GetBytes("\x19TRON Signed Message:\n" + message.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return Keccak256.Compute([.. prefix, .. message]);
    }

    public static async Task<byte[]> SignAsync(ISigner signer, string keyId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        (await signer.SignDigestAsync(keyId, Hash(message.Span), cancellationToken).ConfigureAwait(false)).ToRsv(27);
}

/// <summary>Hand-written protobuf writing with Google.Protobuf's CodedOutputStream (proto3: default values are omitted).</summary>
internal static class TronProto
{
    public static byte[] Message(Action<CodedOutputStream> write)
    {
        using var ms = new MemoryStream();
        var o = new CodedOutputStream(ms);
        write(o);
        o.Flush();
        return ms.ToArray();
    }

    public static void Bytes(CodedOutputStream o, int field, ReadOnlySpan<byte> value)
    {
        if (value.IsEmpty) return;
        o.WriteTag(field, WireFormat.WireType.LengthDelimited);
        o.WriteBytes(ByteString.CopyFrom(value));
    }

    public static void String(CodedOutputStream o, int field, string value) => Bytes(o, field, Encoding.UTF8.GetBytes(value));

    public static void Varint(CodedOutputStream o, int field, long value)
    {
        if (value == 0) return;
        o.WriteTag(field, WireFormat.WireType.Varint);
        o.WriteInt64(value);
    }
}
