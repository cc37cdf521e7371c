using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.EC;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Math.EC;
using Org.BouncyCastle.Math.EC.Multiplier;

namespace Molly.Chains.Crypto;

/// <summary>
/// secp256k1 on BouncyCastle's custom curve: keys, RFC 6979 deterministic ECDSA with low-S normalisation,
/// verification, and public key recovery. Hashes are 32-byte message digests computed by the caller.
/// </summary>
public static class Secp256k1
{
    public static readonly X9ECParameters Parameters = CustomNamedCurves.GetByName("secp256k1");
    public static readonly ECDomainParameters Domain = new(Parameters.Curve, Parameters.G, Parameters.N, Parameters.H, Parameters.GetSeed());
    public static ECCurve Curve => Parameters.Curve;
    public static ECPoint G => Parameters.G;
    public static BigInteger N => Parameters.N;
    public static readonly BigInteger HalfN = Parameters.N.ShiftRight(1);

    private static readonly FixedPointCombMultiplier BaseMultiplier = new();

    /// <summary>True when <paramref name="privateKey"/> is 32 bytes with 1 &lt;= k &lt; n.</summary>
    public static bool IsValidPrivateKey(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != 32) return false;
        var k = new BigInteger(1, privateKey.ToArray());
        return k.SignValue > 0 && k.CompareTo(N) < 0;
    }

    public static BigInteger ParsePrivateKey(ReadOnlySpan<byte> privateKey)
    {
        if (!IsValidPrivateKey(privateKey)) throw new ArgumentException("Invalid secp256k1 private key: must be 32 bytes in the range 1..n-1.", nameof(privateKey));
        return new BigInteger(1, privateKey.ToArray());
    }

    /// <summary>k*G, normalised.</summary>
    public static ECPoint MultiplyG(BigInteger k) => BaseMultiplier.Multiply(G, k).Normalize();

    public static byte[] GetPublicKey(ReadOnlySpan<byte> privateKey, bool compressed = true)
        => MultiplyG(ParsePrivateKey(privateKey)).GetEncoded(compressed);

    /// <summary>Parses a SEC1 public key (33-byte compressed or 65-byte uncompressed), checking it lies on the curve.</summary>
    public static ECPoint ParsePublicKey(ReadOnlySpan<byte> publicKey)
    {
        if (!TryParsePublicKey(publicKey, out var point)) throw new FormatException("Invalid secp256k1 public key: not a 33-byte compressed or 65-byte uncompressed point on the curve.");
        return point;
    }

    public static bool TryParsePublicKey(ReadOnlySpan<byte> publicKey, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out ECPoint point)
    {
        point = null;
        var ok = (publicKey.Length == 33 && publicKey[0] is 2 or 3) || (publicKey.Length == 65 && publicKey[0] == 4);
        if (!ok) return false;
        try
        {
            var p = Curve.DecodePoint(publicKey.ToArray());
            if (p.IsInfinity || !p.IsValid()) return false;
            point = p.Normalize();
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public static byte[] CompressPublicKey(ReadOnlySpan<byte> publicKey) => ParsePublicKey(publicKey).GetEncoded(true);

    public static byte[] DecompressPublicKey(ReadOnlySpan<byte> publicKey) => ParsePublicKey(publicKey).GetEncoded(false);

    /// <summary>Signs a 32-byte hash with RFC 6979 deterministic k (HMAC-SHA256); the result has low S and its recovery id.</summary>
    public static EcdsaSignature Sign(ReadOnlySpan<byte> hash32, ReadOnlySpan<byte> privateKey)
    {
        if (hash32.Length != 32) throw new ArgumentException("ECDSA signs a 32-byte hash.", nameof(hash32));
        var d = ParsePrivateKey(privateKey);
        var signer = new ECDsaSigner(new HMacDsaKCalculator(new Sha256Digest()));
        signer.Init(true, new ECPrivateKeyParameters(d, Domain));
        var hash = hash32.ToArray();
        var rs = signer.GenerateSignature(hash);
        var r = rs[0];
        var s = rs[1];
        if (s.CompareTo(HalfN) > 0) s = N.Subtract(s);

        var q = MultiplyG(d);
        for (var recId = 0; recId < 4; recId++)
        {
            var candidate = TryRecover(hash, r, s, recId);
            if (candidate is not null && candidate.Equals(q)) return new EcdsaSignature(r, s, recId);
        }

        throw new InvalidOperationException("Could not compute the recovery id of a fresh signature.");
    }

    /// <summary>
    /// Verifies (r, s) over a 32-byte hash. High-S signatures are rejected unless <paramref name="allowHighS"/>
    /// (BIP62/BIP146 and Ethereum's homestead rule).
    /// </summary>
    public static bool Verify(ReadOnlySpan<byte> hash32, EcdsaSignature signature, ReadOnlySpan<byte> publicKey, bool allowHighS = false)
    {
        ArgumentNullException.ThrowIfNull(signature);
        if (hash32.Length != 32) return false;
        if (!signature.HasValidRange) return false;
        if (!allowHighS && !signature.IsLowS) return false;
        if (!TryParsePublicKey(publicKey, out var q)) return false;
        var verifier = new ECDsaSigner();
        verifier.Init(false, new ECPublicKeyParameters(q, Domain));
        return verifier.VerifySignature(hash32.ToArray(), signature.R, signature.S);
    }

    /// <summary>Recovers the public key from a signature and its recovery id (0..3); throws when no key results.</summary>
    public static byte[] RecoverPublicKey(ReadOnlySpan<byte> hash32, EcdsaSignature signature, bool compressed = false)
    {
        ArgumentNullException.ThrowIfNull(signature);
        if (hash32.Length != 32) throw new ArgumentException("Recovery needs a 32-byte hash.", nameof(hash32));
        if (signature.RecoveryId is not { } recId) throw new ArgumentException("The signature carries no recovery id.", nameof(signature));
        if (!signature.HasValidRange) throw new ArgumentException("Signature r or s is outside 1..n-1.", nameof(signature));
        var q = TryRecover(hash32.ToArray(), signature.R, signature.S, recId)
                ?? throw new ArgumentException("No public key can be recovered from this signature and recovery id.", nameof(signature));
        return q.GetEncoded(compressed);
    }

    private static ECPoint? TryRecover(byte[] hash, BigInteger r, BigInteger s, int recId)
    {
        if (recId is < 0 or > 3) return null;
        var x = r.Add(BigInteger.ValueOf(recId / 2).Multiply(N));
        var prime = Curve.Field.Characteristic;
        if (x.CompareTo(prime) >= 0) return null;

        var encoded = new byte[33];
        encoded[0] = (byte)((recId & 1) == 1 ? 0x03 : 0x02);
        var xBytes = x.ToByteArrayUnsigned();
        xBytes.CopyTo(encoded, 33 - xBytes.Length);
        ECPoint rPoint;
        try
        {
            rPoint = Curve.DecodePoint(encoded);
        }
        catch (ArgumentException)
        {
            return null;
        }

        if (!rPoint.Multiply(N).IsInfinity) return null;
        var e = new BigInteger(1, hash);
        var rInv = r.ModInverse(N);
        var eNeg = N.Subtract(e).Mod(N);
        var q = ECAlgorithms.SumOfTwoMultiplies(G, eNeg.Multiply(rInv).Mod(N), rPoint, s.Multiply(rInv).Mod(N)).Normalize();
        return q.IsInfinity ? null : q;
    }
}
