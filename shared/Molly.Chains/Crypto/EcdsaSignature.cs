using Org.BouncyCastle.Math;

namespace Molly.Chains.Crypto;

/// <summary>An ECDSA signature (r, s) over secp256k1, with the recovery id when known.</summary>
public sealed class EcdsaSignature : IEquatable<EcdsaSignature>
{
    public EcdsaSignature(BigInteger r, BigInteger s, int? recoveryId = null)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(s);
        if (recoveryId is < 0 or > 3) throw new ArgumentOutOfRangeException(nameof(recoveryId), "Recovery id must be 0..3.");
        R = r;
        S = s;
        RecoveryId = recoveryId;
    }

    public BigInteger R { get; }

    public BigInteger S { get; }

    public int? RecoveryId { get; }

    public bool IsLowS => S.CompareTo(Secp256k1.HalfN) <= 0;

    public bool HasValidRange => R.SignValue > 0 && S.SignValue > 0 && R.CompareTo(Secp256k1.N) < 0 && S.CompareTo(Secp256k1.N) < 0;

    /// <summary>The low-S form: s' = n - s when s &gt; n/2, flipping the recovery id's parity.</summary>
    public EcdsaSignature NormalizeS()
        => IsLowS ? this : new EcdsaSignature(R, Secp256k1.N.Subtract(S), RecoveryId is { } id ? id ^ 1 : null);

    /// <summary>r (32 bytes) || s (32 bytes), big-endian.</summary>
    public byte[] ToCompact()
    {
        var output = new byte[64];
        WriteFixed(R, output.AsSpan(0, 32));
        WriteFixed(S, output.AsSpan(32, 32));
        return output;
    }

    public static EcdsaSignature FromCompact(ReadOnlySpan<byte> compact, int? recoveryId = null)
    {
        if (compact.Length != 64) throw new FormatException("Compact signature must be 64 bytes (r || s).");
        return new EcdsaSignature(new BigInteger(1, compact[..32].ToArray()), new BigInteger(1, compact[32..].ToArray()), recoveryId);
    }

    /// <summary>Strict DER (BIP66): SEQUENCE { INTEGER r, INTEGER s }, minimal lengths and integers.</summary>
    public byte[] ToDer()
    {
        var r = R.ToByteArray(); // signed, minimal: a leading 0x00 only when the high bit is set
        var s = S.ToByteArray();
        var output = new byte[6 + r.Length + s.Length];
        output[0] = 0x30;
        output[1] = (byte)(4 + r.Length + s.Length);
        output[2] = 0x02;
        output[3] = (byte)r.Length;
        r.CopyTo(output, 4);
        output[4 + r.Length] = 0x02;
        output[5 + r.Length] = (byte)s.Length;
        s.CopyTo(output, 6 + r.Length);
        return output;
    }

    public static EcdsaSignature FromDer(ReadOnlySpan<byte> der)
    {
        if (!TryFromDer(der, out var signature, out var error)) throw new FormatException(error);
        return signature;
    }

    /// <summary>Parses strict DER following BIP66's IsValidSignatureEncoding (without a sighash byte), then checks 1 &lt;= r, s &lt; n.</summary>
    public static bool TryFromDer(ReadOnlySpan<byte> der, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out EcdsaSignature signature, out string error)
    {
        signature = null;
        error = StrictDerError(der) ?? string.Empty;
        if (error.Length > 0) return false;
        var lenR = der[3];
        var lenS = der[5 + lenR];
        var r = new BigInteger(1, der.Slice(4, lenR).ToArray());
        var s = new BigInteger(1, der.Slice(6 + lenR, lenS).ToArray());
        var candidate = new EcdsaSignature(r, s);
        if (!candidate.HasValidRange)
        {
            error = "Invalid DER signature: r or s outside 1..n-1.";
            return false;
        }

        signature = candidate;
        return true;
    }

    private static string? StrictDerError(ReadOnlySpan<byte> sig)
    {
        const string prefix = "Invalid DER signature: ";
        if (sig.Length < 8) return prefix + "too short.";
        if (sig.Length > 72) return prefix + "too long.";
        if (sig[0] != 0x30) return prefix + "not a SEQUENCE.";
        if (sig[1] != sig.Length - 2) return prefix + "sequence length does not match.";
        var lenR = sig[3];
        if (5 + lenR >= sig.Length) return prefix + "r length overruns.";
        var lenS = sig[5 + lenR];
        if (lenR + lenS + 6 != sig.Length) return prefix + "r and s lengths do not add up.";
        if (sig[2] != 0x02) return prefix + "r is not an INTEGER.";
        if (lenR == 0) return prefix + "r is empty.";
        if ((sig[4] & 0x80) != 0) return prefix + "r is negative.";
        if (lenR > 1 && sig[4] == 0x00 && (sig[5] & 0x80) == 0) return prefix + "r has a needless leading zero.";
        if (sig[lenR + 4] != 0x02) return prefix + "s is not an INTEGER.";
        if (lenS == 0) return prefix + "s is empty.";
        if ((sig[lenR + 6] & 0x80) != 0) return prefix + "s is negative.";
        if (lenS > 1 && sig[lenR + 6] == 0x00 && (sig[lenR + 7] & 0x80) == 0) return prefix + "s has a needless leading zero.";
        return null;
    }

    private static void WriteFixed(BigInteger value, Span<byte> destination)
    {
        var bytes = value.ToByteArrayUnsigned();
        if (bytes.Length > destination.Length) throw new InvalidOperationException("Value does not fit in 32 bytes.");
        destination.Clear();
        bytes.CopyTo(destination[(destination.Length - bytes.Length)..]);
    }

    public bool Equals(EcdsaSignature? other) => other is not null && R.Equals(other.R) && S.Equals(other.S) && RecoveryId == other.RecoveryId;

    public override bool Equals(object? obj) => Equals(obj as EcdsaSignature);

    public override int GetHashCode() => HashCode.Combine(R, S, RecoveryId);
}
