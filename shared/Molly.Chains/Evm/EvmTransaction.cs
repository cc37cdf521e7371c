using System.Numerics;
using Molly.Chains.Crypto;
using Molly.Chains.Signing;

namespace Molly.Chains.Evm;

/// <summary>One entry of an EIP-2930 access list.</summary>
public sealed record AccessListEntry(EvmAddress Address, IReadOnlyList<ReadOnlyMemory<byte>> StorageKeys);

/// <summary>
/// An unsigned EVM transaction. <see cref="GetSigningHash"/> is what the key signs; <see cref="SignAsync"/> asks an
/// <see cref="ISigner"/> (KMS or the local keystore) for the signature and returns the serialised, signed transaction.
/// </summary>
public abstract record EvmTransaction
{
    public BigInteger Nonce { get; init; }

    public required BigInteger GasLimit { get; init; }

    /// <summary>The recipient; null creates a contract.</summary>
    public EvmAddress? To { get; init; }

    /// <summary>Wei sent with the call.</summary>
    public BigInteger Value { get; init; }

    public ReadOnlyMemory<byte> Data { get; init; }

    /// <summary>EIP-2718 type: 0 legacy, 1 EIP-2930, 2 EIP-1559.</summary>
    public abstract byte Type { get; }

    /// <summary>The bytes whose keccak256 is signed.</summary>
    public abstract byte[] GetSigningPayload();

    public byte[] GetSigningHash() => Keccak256.Compute(GetSigningPayload());

    /// <summary>Serialises the transaction with a signature over <see cref="GetSigningHash"/>.</summary>
    public abstract SignedEvmTransaction WithSignature(EcdsaSignature signature);

    public async Task<SignedEvmTransaction> SignAsync(ISigner signer, string keyId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(signer);
        var signature = await signer.SignDigestAsync(keyId, GetSigningHash(), cancellationToken).ConfigureAwait(false);
        return WithSignature(signature);
    }

    protected void Validate()
    {
        foreach (var (name, value) in new[] { ("nonce", Nonce), ("gas limit", GasLimit), ("value", Value) })
            if (value.Sign < 0) throw new ArgumentOutOfRangeException(name, $"Transaction {name} must not be negative.");
    }

    protected IEnumerable<RlpItem> CommonTail() =>
        [RlpItem.UInt(GasLimit), To is null ? RlpItem.Empty : RlpItem.String(To.Bytes), RlpItem.UInt(Value), RlpItem.String(Data.Span)];

    protected static RlpItem EncodeAccessList(IReadOnlyList<AccessListEntry> list) =>
        RlpItem.List(list.Select(e => RlpItem.List(
            RlpItem.String(e.Address.Bytes),
            RlpItem.List(e.StorageKeys.Select(k => k.Length == 32 ? RlpItem.String(k.Span)
                : throw new ArgumentException($"Access list storage keys are 32 bytes, got {k.Length}."))))));

    protected static IEnumerable<RlpItem> SignatureItems(BigInteger v, EcdsaSignature signature) =>
        [RlpItem.UInt(v), RlpItem.String(signature.R.ToByteArrayUnsigned()), RlpItem.String(signature.S.ToByteArrayUnsigned())];

    protected static byte[] Typed(byte type, RlpItem body)
    {
        var rlp = Rlp.Encode(body);
        var result = new byte[rlp.Length + 1];
        result[0] = type;
        rlp.CopyTo(result, 1);
        return result;
    }

    /// <summary>
    /// Decodes a signed transaction in its canonical binary form (legacy RLP list, or type byte || RLP). Strict: the RLP
    /// must be canonical, integers minimal, the field count exact.
    /// </summary>
    public static SignedEvmTransaction DecodeSigned(ReadOnlySpan<byte> raw)
    {
        if (raw.IsEmpty) throw new FormatException("Signed EVM transaction is empty.");
        if (raw[0] >= 0xc0) return LegacyEvmTransaction.DecodeSignedBody(raw);
        var body = Rlp.Decode(raw[1..]);
        return raw[0] switch
        {
            1 => Eip2930Transaction.DecodeSignedBody(body, raw),
            2 => Eip1559Transaction.DecodeSignedBody(body, raw),
            _ => throw new FormatException($"EVM transaction type {raw[0]} is not supported (legacy, 1 and 2 are)."),
        };
    }

    internal static IReadOnlyList<RlpItem> Fields(RlpItem body, int count, string what)
    {
        var items = body.Items;
        if (items.Count != count) throw new FormatException($"A signed {what} transaction has {count} RLP fields, got {items.Count}.");
        return items;
    }

    internal static EvmAddress? ReadTo(RlpItem item)
    {
        var bytes = item.Bytes.Span;
        return bytes.Length == 0 ? null : EvmAddress.FromBytes(bytes);
    }

    internal static EcdsaSignature ReadSignature(RlpItem r, RlpItem s, int recoveryId)
    {
        var rValue = r.ToUInt("r");
        var sValue = s.ToUInt("s");
        var signature = new EcdsaSignature(ToBc(rValue), ToBc(sValue), recoveryId);
        if (!signature.HasValidRange) throw new FormatException("Signature r or s is outside 1..n-1.");
        return signature;
    }

    private static Org.BouncyCastle.Math.BigInteger ToBc(BigInteger value) =>
        new(1, value.IsZero ? [0] : value.ToByteArray(isUnsigned: true, isBigEndian: true));

    internal static IReadOnlyList<AccessListEntry> DecodeAccessList(RlpItem item) =>
        item.Items.Select(e =>
        {
            if (e.Items.Count != 2) throw new FormatException("An access list entry is [address, storageKeys].");
            return new AccessListEntry(EvmAddress.FromBytes(e.Items[0].Bytes.Span),
                e.Items[1].Items.Select(k => k.Bytes.Length == 32 ? k.Bytes : throw new FormatException("Access list storage keys are 32 bytes.")).ToList());
        }).ToList();
}

/// <summary>A legacy transaction; with <see cref="ChainId"/> set it is signed with EIP-155 replay protection, without it as pre-EIP-155 (Homestead).</summary>
public sealed record LegacyEvmTransaction : EvmTransaction
{
    public required BigInteger GasPrice { get; init; }

    /// <summary>EIP-155 chain id; null signs the pre-EIP-155 way (v = 27/28), which any chain accepts: avoid it.</summary>
    public BigInteger? ChainId { get; init; }

    public override byte Type => 0;

    public override byte[] GetSigningPayload()
    {
        Validate();
        IEnumerable<RlpItem> fields = [RlpItem.UInt(Nonce), RlpItem.UInt(GasPrice), .. CommonTail()];
        if (ChainId is { } chainId) fields = [.. fields, RlpItem.UInt(chainId), RlpItem.Empty, RlpItem.Empty];
        return Rlp.Encode(RlpItem.List(fields));
    }

    public override SignedEvmTransaction WithSignature(EcdsaSignature signature)
    {
        var v = ChainId is { } chainId ? chainId * 2 + 35 + signature.RequireRecoveryId() : 27 + signature.RequireRecoveryId();
        var raw = Rlp.Encode(RlpItem.List([RlpItem.UInt(Nonce), RlpItem.UInt(GasPrice), .. CommonTail(), .. SignatureItems(v, signature)]));
        return new SignedEvmTransaction(this, signature, raw);
    }

    internal static SignedEvmTransaction DecodeSignedBody(ReadOnlySpan<byte> raw)
    {
        var f = Fields(Rlp.Decode(raw), 9, "legacy");
        var v = f[6].ToUInt("v");
        BigInteger? chainId;
        int recoveryId;
        if (v == 27 || v == 28) { chainId = null; recoveryId = (int)(v - 27); }
        else if (v >= 35) { chainId = (v - 35) / 2; recoveryId = (int)((v - 35) % 2); }
        else throw new FormatException($"Legacy transaction v = {v} is neither 27/28 nor EIP-155 (>= 35).");
        var tx = new LegacyEvmTransaction
        {
            Nonce = f[0].ToUInt("nonce", 8), GasPrice = f[1].ToUInt("gasPrice"), GasLimit = f[2].ToUInt("gasLimit"),
            To = ReadTo(f[3]), Value = f[4].ToUInt("value"), Data = f[5].Bytes.ToArray(), ChainId = chainId,
        };
        return new SignedEvmTransaction(tx, ReadSignature(f[7], f[8], recoveryId), raw.ToArray());
    }
}

/// <summary>EIP-2930 (type 1): a legacy gas price with a chain id and an access list.</summary>
public sealed record Eip2930Transaction : EvmTransaction
{
    public required BigInteger ChainId { get; init; }

    public required BigInteger GasPrice { get; init; }

    public IReadOnlyList<AccessListEntry> AccessList { get; init; } = [];

    public override byte Type => 1;

    private IEnumerable<RlpItem> Body() =>
        [RlpItem.UInt(ChainId), RlpItem.UInt(Nonce), RlpItem.UInt(GasPrice), .. CommonTail(), EncodeAccessList(AccessList)];

    public override byte[] GetSigningPayload()
    {
        Validate();
        return Typed(Type, RlpItem.List(Body()));
    }

    public override SignedEvmTransaction WithSignature(EcdsaSignature signature) =>
        new(this, signature, Typed(Type, RlpItem.List([.. Body(), .. SignatureItems(signature.RequireRecoveryId(), signature)])));

    internal static SignedEvmTransaction DecodeSignedBody(RlpItem body, ReadOnlySpan<byte> raw)
    {
        var f = Fields(body, 11, "EIP-2930");
        var yParity = f[8].ToUInt("yParity", 1);
        if (yParity > 1) throw new FormatException($"yParity must be 0 or 1, got {yParity}.");
        var tx = new Eip2930Transaction
        {
            ChainId = f[0].ToUInt("chainId"), Nonce = f[1].ToUInt("nonce", 8), GasPrice = f[2].ToUInt("gasPrice"),
            GasLimit = f[3].ToUInt("gasLimit"), To = ReadTo(f[4]), Value = f[5].ToUInt("value"), Data = f[6].Bytes.ToArray(),
            AccessList = DecodeAccessList(f[7]),
        };
        return new SignedEvmTransaction(tx, ReadSignature(f[9], f[10], (int)yParity), raw.ToArray());
    }
}

/// <summary>EIP-1559 (type 2): base fee market fields.</summary>
public sealed record Eip1559Transaction : EvmTransaction
{
    public required BigInteger ChainId { get; init; }

    public required BigInteger MaxPriorityFeePerGas { get; init; }

    public required BigInteger MaxFeePerGas { get; init; }

    public IReadOnlyList<AccessListEntry> AccessList { get; init; } = [];

    public override byte Type => 2;

    private IEnumerable<RlpItem> Body() =>
        [RlpItem.UInt(ChainId), RlpItem.UInt(Nonce), RlpItem.UInt(MaxPriorityFeePerGas), RlpItem.UInt(MaxFeePerGas), .. CommonTail(), EncodeAccessList(AccessList)];

    public override byte[] GetSigningPayload()
    {
        Validate();
        if (MaxPriorityFeePerGas > MaxFeePerGas)
            throw new ArgumentException("maxPriorityFeePerGas must not exceed maxFeePerGas.");
        return Typed(Type, RlpItem.List(Body()));
    }

    public override SignedEvmTransaction WithSignature(EcdsaSignature signature) =>
        new(this, signature, Typed(Type, RlpItem.List([.. Body(), .. SignatureItems(signature.RequireRecoveryId(), signature)])));

    internal static SignedEvmTransaction DecodeSignedBody(RlpItem body, ReadOnlySpan<byte> raw)
    {
        var f = Fields(body, 12, "EIP-1559");
        var yParity = f[9].ToUInt("yParity", 1);
        if (yParity > 1) throw new FormatException($"yParity must be 0 or 1, got {yParity}.");
        var tx = new Eip1559Transaction
        {
            ChainId = f[0].ToUInt("chainId"), Nonce = f[1].ToUInt("nonce", 8), MaxPriorityFeePerGas = f[2].ToUInt("maxPriorityFeePerGas"),
            MaxFeePerGas = f[3].ToUInt("maxFeePerGas"), GasLimit = f[4].ToUInt("gasLimit"), To = ReadTo(f[5]), Value = f[6].ToUInt("value"),
            Data = f[7].Bytes.ToArray(), AccessList = DecodeAccessList(f[8]),
        };
        return new SignedEvmTransaction(tx, ReadSignature(f[10], f[11], (int)yParity), raw.ToArray());
    }
}

/// <summary>A signed transaction: the bytes for eth_sendRawTransaction and the transaction hash.</summary>
public sealed record SignedEvmTransaction(EvmTransaction Transaction, EcdsaSignature Signature, ReadOnlyMemory<byte> RawBytes)
{
    /// <summary>keccak256 of the raw bytes: the id nodes and explorers use.</summary>
    public byte[] Hash => Keccak256.Compute(RawBytes.Span);

    public string ToHex() => EvmHex.Encode(RawBytes.Span);
}
