using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using Molly.Chains.Crypto;

namespace Molly.Chains.Solana;

/// <summary>A Solana account address (Solnet's PublicKey): 32 bytes, written in base58.</summary>
public sealed class SolanaAddress : IEquatable<SolanaAddress>, IComparable<SolanaAddress>
{
    public const int Length = 32;
    private readonly byte[] _bytes;

    private SolanaAddress(byte[] bytes) => _bytes = bytes;

    public static readonly SolanaAddress SystemProgram = Parse("11111111111111111111111111111111");
    public static readonly SolanaAddress TokenProgram = Parse("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
    public static readonly SolanaAddress Token2022Program = Parse("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
    public static readonly SolanaAddress AssociatedTokenProgram = Parse("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");

    public ReadOnlySpan<byte> Bytes => _bytes;

    public static SolanaAddress FromBytes(ReadOnlySpan<byte> bytes) =>
        bytes.Length == Length ? new SolanaAddress(bytes.ToArray()) : throw new FormatException($"A Solana address is 32 bytes, got {bytes.Length}.");

    public static SolanaAddress Parse(string text) => TryParse(text, out var a, out var e) ? a : throw new FormatException(e);

    public static bool TryParse([NotNullWhen(true)] string? text, [MaybeNullWhen(false)] out SolanaAddress address, out string error)
    {
        address = null;
        if (string.IsNullOrEmpty(text) || text.Length > 44) { error = $"Solana address '{text}' must be 32-44 base58 characters."; return false; }
        byte[] bytes;
        try { bytes = Base58Check.DecodePlain(text); }
        catch (FormatException) { error = $"Solana address '{text}' is not base58."; return false; }
        if (bytes.Length != Length) { error = $"Solana address '{text}' decodes to {bytes.Length} bytes, not 32."; return false; }
        address = new SolanaAddress(bytes);
        error = string.Empty;
        return true;
    }

    public override string ToString() => Base58Check.EncodePlain(_bytes);

    // Ed25519 curve: -x^2 + y^2 = 1 + d x^2 y^2 over p = 2^255 - 19.
    private static readonly BigInteger P = BigInteger.Pow(2, 255) - 19;
    private static readonly BigInteger D = Mod(-121665 * BigInteger.ModPow(121666, P - 2, P));

    private static BigInteger Mod(BigInteger x) => ((x % P) + P) % P;

    /// <summary>
    /// True when the bytes decompress to an Ed25519 point (curve25519-dalek's decompress: y from the low 255 bits,
    /// x^2 = (y^2 - 1) / (d y^2 + 1) must be a square). PDAs must be off the curve so no private key exists for them.
    /// </summary>
    public bool IsOnCurve()
    {
        var le = (byte[])_bytes.Clone();
        le[31] &= 0x7f;
        var y = Mod(new BigInteger(le, isUnsigned: true, isBigEndian: false));
        var y2 = y * y % P;
        var u = Mod(y2 - 1);
        var v = Mod(D * y2 + 1);
        var x2 = u * BigInteger.ModPow(v, P - 2, P) % P;
        if (x2.IsZero) return true;
        return BigInteger.ModPow(x2, (P - 1) / 2, P).IsOne;
    }

    /// <summary>create_program_address: sha256(seeds || program || "ProgramDerivedAddress"), rejected when on the curve.</summary>
    public static bool TryCreateProgramAddress(IReadOnlyList<byte[]> seeds, SolanaAddress programId, [MaybeNullWhen(false)] out SolanaAddress address)
    {
        if (seeds.Count > 16 || seeds.Any(s => s.Length > 32)) throw new ArgumentException("At most 16 seeds of at most 32 bytes each.", nameof(seeds));
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var seed in seeds) sha.AppendData(seed);
        sha.AppendData(programId._bytes);
        sha.AppendData("ProgramDerivedAddress"u8);
        var candidate = new SolanaAddress(sha.GetHashAndReset());
        address = candidate.IsOnCurve() ? null : candidate;
        return address is not null;
    }

    /// <summary>find_program_address: the first off-curve address with a bump seed from 255 down.</summary>
    public static (SolanaAddress Address, byte Bump) FindProgramAddress(IReadOnlyList<byte[]> seeds, SolanaAddress programId)
    {
        for (var bump = 255; bump >= 0; bump--)
            if (TryCreateProgramAddress([.. seeds, [(byte)bump]], programId, out var address)) return (address, (byte)bump);
        throw new InvalidOperationException("No viable bump seed found.");
    }

    /// <summary>create_with_seed: sha256(base || seed || owner).</summary>
    public static SolanaAddress CreateWithSeed(SolanaAddress @base, string seed, SolanaAddress owner)
    {
        var seedBytes = Encoding.UTF8.GetBytes(seed);
        if (seedBytes.Length > 32) throw new ArgumentException("Seed is at most 32 bytes.", nameof(seed));
        return new SolanaAddress(SHA256.HashData([.. @base._bytes, .. seedBytes, .. owner._bytes]));
    }

    /// <summary>The associated token account of (owner, mint) under a token program. An off-curve owner (a PDA) is rejected unless allowed.</summary>
    public static SolanaAddress AssociatedTokenAddress(SolanaAddress owner, SolanaAddress mint, SolanaAddress? tokenProgram = null, bool allowOwnerOffCurve = false)
    {
        if (!allowOwnerOffCurve && !owner.IsOnCurve())
            throw new ArgumentException($"Token owner {owner} is off the ed25519 curve (a program address); pass allowOwnerOffCurve to allow it.", nameof(owner));
        return FindProgramAddress([owner.ToArray(), (tokenProgram ?? TokenProgram).ToArray(), mint.ToArray()], AssociatedTokenProgram).Address;
    }

    public byte[] ToArray() => (byte[])_bytes.Clone();

    public bool Equals(SolanaAddress? other) => other is not null && _bytes.AsSpan().SequenceEqual(other._bytes);

    public override bool Equals(object? obj) => obj is SolanaAddress o && Equals(o);

    public override int GetHashCode() => BitConverter.ToInt32(_bytes, 0);

    public int CompareTo(SolanaAddress? other) => other is null ? 1 : _bytes.AsSpan().SequenceCompareTo(other._bytes);
}
