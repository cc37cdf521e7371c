using Molly.Chains.Signing;

namespace Molly.Chains.Solana;

/// <summary>An account an instruction touches.</summary>
public sealed record AccountMeta(SolanaAddress Address, bool IsSigner, bool IsWritable);

/// <summary>One instruction: program, accounts in order, opaque data.</summary>
public sealed record TransactionInstruction(SolanaAddress ProgramId, IReadOnlyList<AccountMeta> Accounts, ReadOnlyMemory<byte> Data);

/// <summary>Compact-u16 ("shortvec") lengths: 7 bits per byte, at most 3 bytes, canonical only.</summary>
public static class ShortVec
{
    public static void Write(List<byte> output, int value)
    {
        if (value is < 0 or > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(value), "compact-u16 holds 0..65535.");
        do
        {
            var b = (byte)(value & 0x7f);
            value >>= 7;
            if (value != 0) b |= 0x80;
            output.Add(b);
        } while (value != 0);
    }

    public static int Read(ReadOnlySpan<byte> input, ref int position)
    {
        int value = 0;
        for (var i = 0; i < 3; i++)
        {
            if (position >= input.Length) throw new FormatException("compact-u16 runs past the end.");
            var b = input[position++];
            if (i > 0 && b == 0) throw new FormatException("compact-u16 is not canonical (trailing zero byte).");
            if (i == 2 && b > 3) throw new FormatException("compact-u16 overflows 16 bits.");
            value |= (b & 0x7f) << (7 * i);
            if ((b & 0x80) == 0) return value;
        }
        throw new FormatException("compact-u16 is longer than 3 bytes.");
    }
}

/// <summary>
/// A legacy Solana message. Accounts are ordered fee payer first, then writable signers, read-only signers, writable
/// non-signers, read-only non-signers; within a group by the order they first appear (duplicates merged, flags OR-ed).
/// </summary>
public sealed class LegacyMessage
{
    private LegacyMessage(byte[] header, IReadOnlyList<SolanaAddress> keys, SolanaAddress blockhash, byte[] serialized)
    {
        Header = header;
        AccountKeys = keys;
        RecentBlockhash = blockhash;
        _serialized = serialized;
    }

    private readonly byte[] _serialized;

    /// <summary>num_required_signatures, num_readonly_signed, num_readonly_unsigned.</summary>
    public IReadOnlyList<byte> Header { get; }

    public IReadOnlyList<SolanaAddress> AccountKeys { get; }

    public SolanaAddress RecentBlockhash { get; }

    public IEnumerable<SolanaAddress> Signers => AccountKeys.Take(Header[0]);

    public byte[] Serialize() => (byte[])_serialized.Clone();

    public static LegacyMessage Compile(SolanaAddress feePayer, SolanaAddress recentBlockhash, IReadOnlyList<TransactionInstruction> instructions)
    {
        var metas = new List<AccountMeta> { new(feePayer, true, true) };
        void Add(AccountMeta meta)
        {
            var i = metas.FindIndex(m => m.Address.Equals(meta.Address));
            if (i < 0) metas.Add(meta);
            else metas[i] = metas[i] with { IsSigner = metas[i].IsSigner || meta.IsSigner, IsWritable = metas[i].IsWritable || meta.IsWritable };
        }
        foreach (var ix in instructions)
        {
            foreach (var a in ix.Accounts) Add(a);
            Add(new AccountMeta(ix.ProgramId, false, false));
        }
        var ordered = new List<AccountMeta> { metas[0] };
        ordered.AddRange(metas.Skip(1).Where(m => m.IsSigner && m.IsWritable));
        ordered.AddRange(metas.Skip(1).Where(m => m.IsSigner && !m.IsWritable));
        ordered.AddRange(metas.Skip(1).Where(m => !m.IsSigner && m.IsWritable));
        ordered.AddRange(metas.Skip(1).Where(m => !m.IsSigner && !m.IsWritable));
        if (ordered.Count > 256) throw new ArgumentException("A legacy message holds at most 256 accounts.");

        byte[] header =
        [
            (byte)ordered.Count(m => m.IsSigner),
            (byte)ordered.Count(m => m.IsSigner && !m.IsWritable),
            (byte)ordered.Count(m => !m.IsSigner && !m.IsWritable),
        ];
        var keys = ordered.Select(m => m.Address).ToList();
        var output = new List<byte>(header);
        ShortVec.Write(output, keys.Count);
        foreach (var k in keys) output.AddRange(k.ToArray());
        output.AddRange(recentBlockhash.ToArray());
        ShortVec.Write(output, instructions.Count);
        foreach (var ix in instructions)
        {
            output.Add((byte)keys.IndexOf(ix.ProgramId));
            ShortVec.Write(output, ix.Accounts.Count);
            foreach (var a in ix.Accounts) output.Add((byte)keys.IndexOf(a.Address));
            ShortVec.Write(output, ix.Data.Length);
            output.AddRange(ix.Data.ToArray());
        }
        return new LegacyMessage(header, keys, recentBlockhash, output.ToArray());
    }

    /// <summary>Signs with one key id per required signer (in account order) and returns signatures || message.</summary>
    public async Task<SolanaTransaction> SignAsync(ISigner signer, IReadOnlyList<string> keyIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(signer);
        var signers = Signers.ToList();
        if (keyIds.Count != signers.Count) throw new ArgumentException($"The message needs {signers.Count} signatures, {keyIds.Count} key ids given.", nameof(keyIds));
        var signatures = new List<byte[]>();
        for (var i = 0; i < signers.Count; i++)
        {
            var pub = await signer.GetPublicKeyAsync(keyIds[i], cancellationToken).ConfigureAwait(false);
            if (!pub.Key.Span.SequenceEqual(signers[i].Bytes))
                throw new SignerException($"Key '{keyIds[i]}' is not the key of required signer {signers[i]}.");
            signatures.Add(await signer.SignEd25519Async(keyIds[i], _serialized, cancellationToken).ConfigureAwait(false));
        }
        return new SolanaTransaction(signatures, this);
    }
}

/// <summary>A signed transaction: compact array of 64-byte signatures followed by the message.</summary>
public sealed record SolanaTransaction(IReadOnlyList<byte[]> Signatures, LegacyMessage Message)
{
    public byte[] Serialize()
    {
        var output = new List<byte>();
        ShortVec.Write(output, Signatures.Count);
        foreach (var s in Signatures) output.AddRange(s);
        output.AddRange(Message.Serialize());
        return output.ToArray();
    }

    public string ToBase64() => Convert.ToBase64String(Serialize());
}

/// <summary>System program and SPL Token instructions, with the Solana Pay reference key appended read-only.</summary>
public static class SolanaInstructions
{
    public static readonly SolanaAddress MemoProgram = SolanaAddress.Parse("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");

    /// <summary>SystemProgram Transfer: data = u32 LE 2 || u64 LE lamports; accounts [from (signer, writable), to (writable)].</summary>
    public static TransactionInstruction SystemTransfer(SolanaAddress from, SolanaAddress to, ulong lamports, params SolanaAddress[] references)
    {
        var data = new byte[12];
        BitConverter.TryWriteBytes(data.AsSpan(0, 4), 2u);
        BitConverter.TryWriteBytes(data.AsSpan(4, 8), lamports);
        return new TransactionInstruction(SolanaAddress.SystemProgram,
            [new(from, true, true), new(to, false, true), .. references.Select(r => new AccountMeta(r, false, false))], data);
    }

    /// <summary>SPL Token TransferChecked (12): data = 12 || u64 LE amount || decimals; accounts [source, mint, destination, owner (signer)].</summary>
    public static TransactionInstruction TokenTransferChecked(SolanaAddress source, SolanaAddress mint, SolanaAddress destination, SolanaAddress owner,
        ulong amount, byte decimals, SolanaAddress? tokenProgram = null, params SolanaAddress[] references)
    {
        var data = new byte[10];
        data[0] = 12;
        BitConverter.TryWriteBytes(data.AsSpan(1, 8), amount);
        data[9] = decimals;
        return new TransactionInstruction(tokenProgram ?? SolanaAddress.TokenProgram,
            [new(source, false, true), new(mint, false, false), new(destination, false, true), new(owner, true, false),
             .. references.Select(r => new AccountMeta(r, false, false))], data);
    }

    public static TransactionInstruction Memo(string memo) => new(MemoProgram, [], System.Text.Encoding.UTF8.GetBytes(memo));
}
