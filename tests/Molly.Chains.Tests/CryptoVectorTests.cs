using System.Security.Cryptography;
using System.Text;
using Molly.Chains.Crypto;
using Xunit;

namespace Molly.Chains.Tests;

public class Secp256k1VectorTests
{
    private const string File = "secp256k1_ecdsa.json";

    [Fact]
    public void Recovery_vectors_recover_the_public_key_and_decompress()
    {
        var cases = Vectors.Array(File, "recovery").ToList();
        Assert.NotEmpty(cases);
        foreach (var c in cases)
        {
            var rsv = c.Hex("signature_rsv");
            var recId = rsv[64];
            Assert.Equal(c.GetProperty("recovery_id").GetInt32(), recId);
            var sig = EcdsaSignature.FromCompact(rsv.AsSpan(0, 64), recId);
            var hash = c.Hex("msg_hash");
            Assert.Equal(c.Str("pubkey_uncompressed"), Secp256k1.RecoverPublicKey(hash, sig).ToHex());
            Assert.Equal(c.Str("pubkey_compressed"), Secp256k1.RecoverPublicKey(hash, sig, compressed: true).ToHex());
            Assert.Equal(c.Str("pubkey_uncompressed"), Secp256k1.DecompressPublicKey(c.Hex("pubkey_compressed")).ToHex());
            Assert.True(Secp256k1.Verify(hash, sig, c.Hex("pubkey_compressed")));
            // a different recovery id gives a different key (or none)
            var other = new EcdsaSignature(sig.R, sig.S, recId ^ 1);
            Assert.NotEqual(c.Str("pubkey_uncompressed"), Secp256k1.RecoverPublicKey(hash, other).ToHex());
        }
    }

    [Fact]
    public void High_s_signatures_are_rejected_but_verify_under_plain_ecdsa()
    {
        var cases = Vectors.Array(File, "malleable_high_s").ToList();
        Assert.NotEmpty(cases);
        foreach (var c in cases)
        {
            var sig = EcdsaSignature.FromCompact(c.Hex("signature_rs"));
            var hash = c.Hex("msg_hash");
            var pub = c.Hex("pubkey_compressed");
            Assert.Equal("reject", c.Str("expected"));
            Assert.False(sig.IsLowS);
            Assert.False(Secp256k1.Verify(hash, sig, pub));
            Assert.True(Secp256k1.Verify(hash, sig, pub, allowHighS: true));
            Assert.True(Secp256k1.Verify(hash, sig.NormalizeS(), pub));
        }
    }

    [Fact]
    public void Bitcoin_core_rfc6979_signatures_are_reproduced()
    {
        var cases = Vectors.Array(File, "bitcoin_core_deterministic").ToList();
        Assert.Equal(2, cases.Count);
        foreach (var c in cases)
        {
            var hash = Hash256.Compute(Encoding.UTF8.GetBytes(c.Str("message_utf8")));
            Assert.Equal(c.Str("msg_hash_hex"), hash.ToHex());
            var priv = c.Hex("private_key_hex");
            var wif = Base58Check.Decode(c.Str("wif_uncompressed"));
            Assert.Equal(0x80, wif[0]);
            Assert.Equal(priv, wif[1..]);

            var sig = Secp256k1.Sign(hash, priv);
            Assert.True(sig.IsLowS);
            Assert.Equal(c.Str("der_signature"), sig.ToDer().ToHex());
            Assert.Equal(sig, EcdsaSignature.FromDer(c.Hex("der_signature")) is var parsed ? new EcdsaSignature(parsed.R, parsed.S, sig.RecoveryId) : null);
            var compactU = c.Hex("compact_signature_uncompressed_key");
            var compactC = c.Hex("compact_signature_compressed_key");
            Assert.Equal(27 + sig.RecoveryId!.Value, compactU[0]);
            Assert.Equal(31 + sig.RecoveryId!.Value, compactC[0]);
            Assert.Equal(compactU[1..].ToHex(), sig.ToCompact().ToHex());
            Assert.Equal(Secp256k1.GetPublicKey(priv, compressed: false).ToHex(), Secp256k1.RecoverPublicKey(hash, sig).ToHex());
            Assert.True(Secp256k1.Verify(hash, sig, Secp256k1.GetPublicKey(priv)));
        }
    }

    [Fact]
    public void Wycheproof_strict_der_low_s_cases_are_classified()
    {
        var cases = Vectors.Array(File, "wycheproof_bitcoin_der_lows").ToList();
        Assert.Equal(16, cases.Count);
        foreach (var c in cases)
        {
            var hash = SHA256.HashData(c.Hex("msg_hex"));
            var pub = c.Hex("public_key_uncompressed");
            var accepted = EcdsaSignature.TryFromDer(c.Hex("sig_der"), out var sig, out _) && Secp256k1.Verify(hash, sig, pub);
            Assert.True(c.Str("result") == "valid" == accepted, $"tcId {c.GetProperty("tcId").GetInt32()} ({c.Str("comment")})");
            if (accepted) Assert.Equal(c.Str("sig_der"), sig!.ToDer().ToHex());
        }
    }

    [Fact]
    public void Der_errors_name_the_problem()
    {
        var ex = Assert.Throws<FormatException>(() => EcdsaSignature.FromDer(Convert.FromHexString("3006020100020101")));
        Assert.Contains("r", ex.Message);
    }
}

public class Ed25519VectorTests
{
    [Fact]
    public void Rfc8032_vectors_reproduce_public_keys_and_signatures()
    {
        var cases = Vectors.Array("ed25519_rfc8032.json", "cases").ToList();
        Assert.Equal(4, cases.Count);
        foreach (var c in cases)
        {
            var seed = c.Hex("secret_key");
            var msg = c.Hex("message");
            Assert.Equal(c.Str("public_key"), Ed25519.PublicKeyFromSeed(seed).ToHex());
            var sig = Ed25519.Sign(seed, msg);
            Assert.Equal(c.Str("signature"), sig.ToHex());
            Assert.True(Ed25519.Verify(c.Hex("public_key"), msg, sig));
            sig[5] ^= 1;
            Assert.False(Ed25519.Verify(c.Hex("public_key"), msg, sig));
        }
    }
}

public class Base58CheckVectorTests
{
    private const string File = "base58check.json";

    [Fact]
    public void Raw_base58_encodes_and_decodes()
    {
        var cases = Vectors.Array(File, "base58_raw").ToList();
        Assert.Equal(18, cases.Count);
        foreach (var c in cases)
        {
            Assert.Equal(c.Str("base58"), Base58Check.EncodePlain(c.Hex("hex")));
            Assert.Equal(c.Str("hex"), Base58Check.DecodePlain(c.Str("base58")).ToHex());
        }
    }

    [Fact]
    public void Key_io_valid_strings_decode_to_their_payload()
    {
        var cases = Vectors.Array(File, "key_io_valid").ToList();
        Assert.Equal(13, cases.Count);
        foreach (var c in cases)
        {
            var payload = Base58Check.Decode(c.Str("string"));
            Assert.Equal(c.Str("payload_with_version_hex"), payload.ToHex());
            Assert.Equal(c.GetProperty("version_byte").GetInt32(), payload[0]);
            Assert.Equal(c.Str("string"), Base58Check.Encode(payload));
            if (c.Str("type") == "WIF")
            {
                Assert.Equal(c.Str("privkey_hex"), payload.AsSpan(1, 32).ToArray().ToHex());
                Assert.Equal(c.GetProperty("compressed").GetBoolean(), payload.Length == 34 && payload[33] == 1);
            }
            else
            {
                Assert.Equal(c.Str("hash160_hex"), payload[1..].ToHex());
            }
        }
    }

    [Fact]
    public void Key_io_invalid_strings_are_not_a_key_or_address()
    {
        var cases = Vectors.Array(File, "key_io_invalid").ToList();
        Assert.Equal(8, cases.Count);
        foreach (var c in cases)
        {
            var s = c.GetString()!;
            // Every valid Base58Check key/address is 21 bytes (address) or 33/34 bytes (WIF) with a known version.
            var ok = Base58Check.TryDecode(s, out var payload, out _)
                     && ((payload.Length == 21 && payload[0] is 0x00 or 0x05 or 0x6f or 0xc4)
                         || (payload.Length == 33 && payload[0] is 0x80 or 0xef)
                         || (payload.Length == 34 && payload[0] is 0x80 or 0xef && payload[33] == 1));
            Assert.False(ok, s);
        }
    }

    [Fact]
    public void Checksum_mismatch_is_named()
    {
        var ex = Assert.Throws<FormatException>(() => Base58Check.Decode("1FsSia9rv4NeEwvJ2GvXrX7LyxYspbN2mp"));
        Assert.Contains("checksum", ex.Message);
    }
}

public class Bech32VectorTests
{
    private const string File = "bech32_bech32m.json";

    [Theory]
    [InlineData("bech32_valid", Bech32Encoding.Bech32)]
    [InlineData("bech32m_valid", Bech32Encoding.Bech32m)]
    public void Valid_strings_decode_with_their_checksum_variant(string section, Bech32Encoding encoding)
    {
        var cases = Vectors.Array(File, section).ToList();
        Assert.Equal(7, cases.Count);
        foreach (var c in cases)
        {
            var s = c.GetString()!;
            var decoded = Bech32.Decode(s);
            Assert.Equal(encoding, decoded.Encoding);
            Assert.Equal(s.ToLowerInvariant(), Bech32.Encode(decoded.Hrp, decoded.Data, encoding));
            // flipping one data character breaks the checksum
            var pos = s.LastIndexOf('1') + 1;
            var flipped = s[..pos] + (char.ToLowerInvariant(s[pos]) == 'q' ? 'p' : 'q') + s[(pos + 1)..];
            Assert.False(Bech32.TryDecode(flipped.ToLowerInvariant(), out _, out _));
        }
    }

    [Theory]
    [InlineData("bech32_invalid", 12)]
    [InlineData("bech32m_invalid", 14)]
    public void Invalid_strings_are_rejected(string section, int count)
    {
        var cases = Vectors.Array(File, section).ToList();
        Assert.Equal(count, cases.Count);
        foreach (var c in cases)
        {
            Assert.False(Bech32.TryDecode(c.Str("string"), out _, out var error), c.Str("reason"));
            Assert.NotEmpty(error);
        }
    }

    [Fact]
    public void Valid_segwit_addresses_give_their_script_pub_key()
    {
        var cases = Vectors.Array(File, "segwit_valid").ToList();
        Assert.Equal(8, cases.Count);
        foreach (var c in cases)
        {
            var address = c.Str("address");
            var hrp = address[..address.LastIndexOf('1')].ToLowerInvariant();
            var (version, program) = Bech32.DecodeSegwit(hrp, address);
            var script = new byte[program.Length + 2];
            script[0] = (byte)(version == 0 ? 0 : 0x50 + version);
            script[1] = (byte)program.Length;
            program.CopyTo(script, 2);
            Assert.Equal(c.Str("scriptPubKey_hex"), script.ToHex());
            Assert.Equal(address.ToLowerInvariant(), Bech32.EncodeSegwit(hrp, version, program));
        }
    }

    [Theory]
    [InlineData("segwit_invalid", 15)]
    [InlineData("segwit_invalid_bip173", 10)]
    public void Invalid_segwit_addresses_are_rejected_on_every_network(string section, int count)
    {
        var cases = Vectors.Array(File, section).ToList();
        Assert.Equal(count, cases.Count);
        foreach (var c in cases)
        {
            foreach (var hrp in new[] { "bc", "tb", "bcrt", "ltc" })
            {
                Assert.False(Bech32.TryDecodeSegwit(hrp, c.Str("address"), out _, out _, out var error), c.Str("reason"));
                Assert.NotEmpty(error);
            }
        }
    }
}

public class HashTests
{
    [Fact]
    public void Keccak256_is_not_sha3()
    {
        // Keccak-256("") from the Keccak team's reference; SHA3-256("") differs (a7ffc6f8...).
        Assert.Equal("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470", Keccak256.Compute([]).ToHex());
    }

    [Fact]
    public void Hash160_of_a_bip84_public_key_is_its_witness_program()
    {
        var pub = Convert.FromHexString("0330d54fd0dd420a6e5f8d3624f5f3482cae350f79d5f0753bf5beef9c2d91af3c");
        var (_, program) = Bech32.DecodeSegwit("bc", "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu");
        Assert.Equal(program.ToHex(), Hash160.Compute(pub).ToHex());
    }
}
