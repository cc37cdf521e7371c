using System.Buffers.Binary;
using Molly.Chains.Crypto;

namespace Molly.Chains.Bitcoin;

/// <summary>An outpoint's spend. <see cref="PrevTxId"/> is in internal (serialised) byte order.</summary>
public sealed class TxIn
{
    public required byte[] PrevTxId { get; init; }

    public required uint PrevIndex { get; init; }

    public byte[] ScriptSig { get; set; } = [];

    public uint Sequence { get; set; } = 0xFFFFFFFF;

    public List<byte[]> Witness { get; set; } = [];
}

/// <summary>An output: value in satoshis (integer base units) and its scriptPubKey.</summary>
public sealed record TxOut(long Value, byte[] ScriptPubKey);

/// <summary>A Bitcoin-family transaction with segwit serialisation (BIP144), BIP143 sighash and P2WPKH signing.</summary>
public sealed class Transaction
{
    public const byte SighashAll = 0x01;

    public int Version { get; set; } = 2;

    public List<TxIn> Inputs { get; } = [];

    public List<TxOut> Outputs { get; } = [];

    public uint LockTime { get; set; }

    public bool HasWitness => Inputs.Any(i => i.Witness.Count > 0);

    public static Transaction Parse(ReadOnlySpan<byte> raw)
    {
        var r = new Reader(raw);
        var tx = new Transaction { Version = r.Int32() };
        var segwit = false;
        if (r.Peek() == 0)
        {
            r.Byte();
            if (r.Byte() != 1) throw new FormatException("Invalid transaction: segwit flag must be 1.");
            segwit = true;
        }

        var nIn = r.VarInt();
        for (ulong i = 0; i < nIn; i++)
            tx.Inputs.Add(new TxIn { PrevTxId = r.Bytes(32), PrevIndex = r.UInt32(), ScriptSig = r.Bytes((int)r.VarInt()), Sequence = r.UInt32() });
        var nOut = r.VarInt();
        for (ulong i = 0; i < nOut; i++) tx.Outputs.Add(new TxOut(r.Int64(), r.Bytes((int)r.VarInt())));
        if (segwit)
        {
            foreach (var input in tx.Inputs)
            {
                var items = r.VarInt();
                for (ulong k = 0; k < items; k++) input.Witness.Add(r.Bytes((int)r.VarInt()));
            }
        }

        tx.LockTime = r.UInt32();
        if (!r.AtEnd) throw new FormatException("Invalid transaction: trailing bytes.");
        return tx;
    }

    public byte[] Serialize(bool withWitness = true)
    {
        var w = new MemoryStream();
        WriteInt(w, (uint)Version);
        var segwit = withWitness && HasWitness;
        if (segwit)
        {
            w.WriteByte(0);
            w.WriteByte(1);
        }

        WriteVarInt(w, (ulong)Inputs.Count);
        foreach (var i in Inputs)
        {
            w.Write(i.PrevTxId);
            WriteInt(w, i.PrevIndex);
            WriteVarBytes(w, i.ScriptSig);
            WriteInt(w, i.Sequence);
        }

        WriteVarInt(w, (ulong)Outputs.Count);
        foreach (var o in Outputs) WriteOutput(w, o);
        if (segwit)
        {
            foreach (var i in Inputs)
            {
                WriteVarInt(w, (ulong)i.Witness.Count);
                foreach (var item in i.Witness) WriteVarBytes(w, item);
            }
        }

        WriteInt(w, LockTime);
        return w.ToArray();
    }

    /// <summary>txid as displayed (big-endian hex of the reversed double SHA-256 of the non-witness serialisation).</summary>
    public string GetTxId() => DisplayHash(Serialize(withWitness: false));

    public string GetWitnessTxId() => DisplayHash(Serialize(withWitness: true));

    /// <summary>BIP143 signature hash for SIGHASH_ALL. <paramref name="scriptCode"/> is without its length prefix.</summary>
    public byte[] GetSegwitSighash(int inputIndex, ReadOnlySpan<byte> scriptCode, long amount, byte hashType = SighashAll)
    {
        if (hashType != SighashAll) throw new NotSupportedException("Only SIGHASH_ALL is supported.");
        if (inputIndex < 0 || inputIndex >= Inputs.Count) throw new ArgumentOutOfRangeException(nameof(inputIndex));
        var prevouts = new MemoryStream();
        var sequences = new MemoryStream();
        foreach (var i in Inputs)
        {
            prevouts.Write(i.PrevTxId);
            WriteInt(prevouts, i.PrevIndex);
            WriteInt(sequences, i.Sequence);
        }

        var outputs = new MemoryStream();
        foreach (var o in Outputs) WriteOutput(outputs, o);

        var input = Inputs[inputIndex];
        var p = new MemoryStream();
        WriteInt(p, (uint)Version);
        p.Write(Hash256.Compute(prevouts.ToArray()));
        p.Write(Hash256.Compute(sequences.ToArray()));
        p.Write(input.PrevTxId);
        WriteInt(p, input.PrevIndex);
        WriteVarBytes(p, scriptCode.ToArray());
        WriteLong(p, amount);
        WriteInt(p, input.Sequence);
        p.Write(Hash256.Compute(outputs.ToArray()));
        WriteInt(p, LockTime);
        WriteInt(p, hashType);
        return Hash256.Compute(p.ToArray());
    }

    /// <summary>P2WPKH scriptCode: OP_DUP OP_HASH160 PUSH20 keyhash OP_EQUALVERIFY OP_CHECKSIG.</summary>
    public static byte[] P2wpkhScriptCode(ReadOnlySpan<byte> keyHash) => [0x76, 0xa9, 0x14, .. keyHash, 0x88, 0xac];

    /// <summary>Signs a P2WPKH (or, with <paramref name="p2shWrapped"/>, P2SH-P2WPKH) input: witness = [DER low-S sig || 0x01, pubkey].</summary>
    public void SignP2wpkh(int inputIndex, ReadOnlySpan<byte> privateKey, long amount, bool p2shWrapped = false)
    {
        var pub = Secp256k1.GetPublicKey(privateKey, compressed: true);
        var keyHash = Hash160.Compute(pub);
        var sighash = GetSegwitSighash(inputIndex, P2wpkhScriptCode(keyHash), amount);
        var sig = Secp256k1.Sign(sighash, privateKey);
        Inputs[inputIndex].Witness = [[.. sig.ToDer(), SighashAll], pub];
        Inputs[inputIndex].ScriptSig = p2shWrapped ? [0x16, 0x00, 0x14, .. keyHash] : [];
    }

    private static string DisplayHash(byte[] data)
    {
        var h = Hash256.Compute(data);
        Array.Reverse(h);
        return Convert.ToHexStringLower(h);
    }

    private static void WriteOutput(Stream w, TxOut o)
    {
        WriteLong(w, o.Value);
        WriteVarBytes(w, o.ScriptPubKey);
    }

    private static void WriteInt(Stream w, uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        w.Write(b);
    }

    private static void WriteLong(Stream w, long v)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(b, v);
        w.Write(b);
    }

    private static void WriteVarInt(Stream w, ulong v)
    {
        if (v < 0xfd) w.WriteByte((byte)v);
        else if (v <= 0xffff)
        {
            w.WriteByte(0xfd);
            Span<byte> b = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v);
            w.Write(b);
        }
        else if (v <= 0xffffffff)
        {
            w.WriteByte(0xfe);
            WriteInt(w, (uint)v);
        }
        else
        {
            w.WriteByte(0xff);
            WriteLong(w, (long)v);
        }
    }

    private static void WriteVarBytes(Stream w, byte[] data)
    {
        WriteVarInt(w, (ulong)data.Length);
        w.Write(data);
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> _data = data;
        private int _pos;

        public readonly bool AtEnd => _pos == _data.Length;

        public readonly byte Peek() => _pos < _data.Length ? _data[_pos] : throw new FormatException("Invalid transaction: truncated.");

        public byte Byte() => Take(1)[0];

        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));

        public uint UInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        public byte[] Bytes(int n) => Take(n).ToArray();

        public ulong VarInt()
        {
            var first = Byte();
            return first switch
            {
                0xfd => BinaryPrimitives.ReadUInt16LittleEndian(Take(2)),
                0xfe => BinaryPrimitives.ReadUInt32LittleEndian(Take(4)),
                0xff => BinaryPrimitives.ReadUInt64LittleEndian(Take(8)),
                _ => first,
            };
        }

        private ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0 || _pos + n > _data.Length) throw new FormatException("Invalid transaction: truncated.");
            var s = _data.Slice(_pos, n);
            _pos += n;
            return s;
        }
    }
}
