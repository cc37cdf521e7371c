using Molly.Chains.Crypto;
using Molly.Chains.Hd;
using Molly.Chains.Signing;
using Molly.Chains.Solana;
using Xunit;

namespace Molly.Chains.Tests.Solana;

public class SolanaVectorTests
{
    private const string File = "solana.json";

    private static SolanaAddress A(string s) => SolanaAddress.Parse(s);

    [Fact]
    public void Program_ids_keypairs_and_pubkey_encodings()
    {
        var ids = Vectors.Load(File).GetProperty("program_ids");
        Assert.Equal(ids.Str("system"), SolanaAddress.SystemProgram.ToString());
        Assert.Equal(ids.Str("token"), SolanaAddress.TokenProgram.ToString());
        Assert.Equal(ids.Str("token_2022"), SolanaAddress.Token2022Program.ToString());
        Assert.Equal(ids.Str("associated_token"), SolanaAddress.AssociatedTokenProgram.ToString());

        var keypairs = Vectors.Array(File, "keypairs").ToList();
        Assert.Equal(2, keypairs.Count);
        foreach (var k in keypairs)
        {
            var seed = k.TryGetProperty("seed_hex", out var s) ? Convert.FromHexString(s.GetString()!) : k.Hex("secret_key_hex")[..32];
            Assert.Equal(k.Str("address"), SolanaAddress.FromBytes(Ed25519.PublicKeyFromSeed(seed)).ToString());
            if (k.TryGetProperty("secret_key_hex", out var full))
                Assert.Equal(Convert.FromHexString(full.GetString()!)[32..].ToHex(), Ed25519.PublicKeyFromSeed(seed).ToHex());
        }
        var invalid = Vectors.Array(File, "keypair_invalid_secret_key_base64").Single();
        var bad = Convert.FromBase64String(invalid.Str("secret_key_base64"));
        Assert.NotEqual(bad[32..].ToHex(), Ed25519.PublicKeyFromSeed(bad[..32]).ToHex()); // public half does not match

        var pubkeys = Vectors.Array(File, "pubkey_base58").ToList();
        Assert.Equal(3, pubkeys.Count);
        foreach (var p in pubkeys)
        {
            Assert.Equal(p.Str("hex"), A(p.Str("base58")).ToArray().ToHex());
            Assert.Equal(p.Str("base58"), SolanaAddress.FromBytes(p.Hex("hex")).ToString());
        }
        Assert.False(SolanaAddress.TryParse("1111111111111111111111111111111", out _, out var e1)); // 31 bytes
        Assert.Contains("not 32", e1);
        Assert.False(SolanaAddress.TryParse("0OIl", out _, out var e2));
        Assert.Contains("base58", e2);
    }

    [Fact]
    public void Create_with_seed_program_addresses_and_off_curve_check()
    {
        var w = Vectors.Array(File, "create_with_seed").Single();
        Assert.Equal(w.Str("address"), SolanaAddress.CreateWithSeed(A(w.Str("base")), w.Str("seed"), A(w.Str("owner_program"))).ToString());
        var cases = Vectors.Array(File, "create_program_address").ToList();
        Assert.Equal(5, cases.Count);
        foreach (var c in cases)
        {
            var seeds = c.GetProperty("seeds_hex").EnumerateArray().Select(s => Convert.FromHexString(s.GetString()!)).ToList();
            Assert.True(SolanaAddress.TryCreateProgramAddress(seeds, A(c.Str("program_id")), out var pda));
            Assert.Equal(c.Str("address"), pda.ToString());
            Assert.False(pda.IsOnCurve());
        }
        Assert.True(A("2KW2XRd9kwqet15Aha2oK3tYvd3nWbTFH1MBiRAv1BE1").IsOnCurve()); // a real key
    }

    [Fact]
    public void Associated_token_accounts_and_off_curve_owner_rule()
    {
        var cases = Vectors.Array(File, "associated_token_account").ToList();
        Assert.Equal(3, cases.Count);
        foreach (var c in cases)
        {
            var allow = c.GetProperty("allowOwnerOffCurve").GetBoolean();
            if (c.TryGetProperty("expect_error", out _))
            {
                var ex = Assert.Throws<ArgumentException>(() => SolanaAddress.AssociatedTokenAddress(A(c.Str("owner")), A(c.Str("mint")), A(c.Str("token_program")), allow));
                Assert.Contains("off the ed25519 curve", ex.Message);
            }
            else
            {
                Assert.Equal(c.Str("ata"), SolanaAddress.AssociatedTokenAddress(A(c.Str("owner")), A(c.Str("mint")), A(c.Str("token_program")), allow).ToString());
            }
        }
    }

    [Fact]
    public async Task Legacy_transfer_matches_web3js_bytes()
    {
        var c = Vectors.Array(File, "legacy_transfer").Single();
        var signer = new InMemorySigner().Add("sol", SignerKeyAlgorithm.Ed25519, c.Hex("sender_seed_hex"));
        var message = LegacyMessage.Compile(A(c.Str("fee_payer")), A(c.Str("recent_blockhash")),
            [SolanaInstructions.SystemTransfer(A(c.Str("sender_address")), A(c.Str("recipient")), (ulong)c.GetProperty("lamports").GetInt64())]);
        var d = c.GetProperty("derived_by_slicing");
        Assert.Equal(d.Str("message_hex"), message.Serialize().ToHex());
        Assert.Equal(d.GetProperty("account_keys").EnumerateArray().Select(k => k.GetString()), message.AccountKeys.Select(k => k.ToString()));
        var tx = await message.SignAsync(signer, ["sol"]);
        Assert.Equal(c.Str("signed_tx_base64"), tx.ToBase64());
        Assert.Equal(c.Str("unsigned_tx_base64"), new SolanaTransaction([new byte[64]], message).ToBase64());
        await Assert.ThrowsAsync<SignerException>(() => message.SignAsync(new InMemorySigner().Add("x", SignerKeyAlgorithm.Ed25519, new byte[32]), ["x"]));
    }

    [Fact]
    public async Task Trezor_transfer_signature_from_slip10_key()
    {
        var c = Vectors.Array(File, "trezor_transfer").Single();
        var seed = Mnemonic.Parse(c.Str("mnemonic")).DeriveSeed(c.Str("passphrase"));
        var node = Slip10Ed25519.FromSeed(seed).Derive(KeyPath.Parse(c.Str("path")));
        var signer = new InMemorySigner().Add("t", SignerKeyAlgorithm.Ed25519, node.PrivateKey);
        var ix = c.GetProperty("instruction");
        var message = LegacyMessage.Compile(A(ix.Str("funding_account")), A(c.Str("blockhash")),
            [SolanaInstructions.SystemTransfer(A(ix.Str("funding_account")), A(ix.Str("recipient_account")), (ulong)ix.GetProperty("lamports").GetInt64())]);
        var h = c.GetProperty("header");
        Assert.Equal([(byte)h.GetProperty("signers").GetInt32(), (byte)h.GetProperty("readonly_signers").GetInt32(), (byte)h.GetProperty("readonly_non_signers").GetInt32()], message.Header);
        Assert.Equal(c.GetProperty("accounts").EnumerateArray().Select(k => k.GetString()), message.AccountKeys.Select(k => k.ToString()));
        var tx = await message.SignAsync(signer, ["t"]);
        Assert.Equal(c.Str("expected_signature_hex"), tx.Signatures[0].ToHex());
    }

    [Fact]
    public void Token_transfer_checked_with_reference_orders_accounts()
    {
        var owner = A("2KW2XRd9kwqet15Aha2oK3tYvd3nWbTFH1MBiRAv1BE1");
        var mint = A("7o36UsWR1JQLpZ9PE2gn9L4SQ69CNNiWAXd4Jt7rqz9Z");
        var merchant = A("B8UwBUUnKwCyKuGMbFKWaG7exYdDk2ozZrPg72NyVbfj");
        var reference = A("J3dxNj7nDRRqRRXuEMynDG57DkZK4jYRuv3Garmb1i99");
        var source = SolanaAddress.AssociatedTokenAddress(owner, mint);
        var destination = SolanaAddress.AssociatedTokenAddress(merchant, mint);
        Assert.Equal("DShWnroshVbeUp28oopA3Pu7oFPDBtC1DBmPECXXAQ9n", destination.ToString());
        var ix = SolanaInstructions.TokenTransferChecked(source, mint, destination, owner, 1_500_000, 6, references: reference);
        Assert.Equal("0c60e316000000000006", ix.Data.ToArray().ToHex());
        var message = LegacyMessage.Compile(owner, A("EETubP5AKHgjPAhzPAFcb8BAY1hMH639CWCFTqi3hq1k"), [ix]);
        Assert.Equal(new byte[] { 1, 0, 3 }, message.Header);
        Assert.Equal([owner, source, destination, mint, reference, SolanaAddress.TokenProgram], message.AccountKeys);
        var bytes = message.Serialize();
        var pos = 3;
        Assert.Equal(6, ShortVec.Read(bytes, ref pos));
    }

    [Theory]
    [InlineData(0, "00")]
    [InlineData(127, "7f")]
    [InlineData(128, "8001")]
    [InlineData(16383, "ff7f")]
    [InlineData(16384, "808001")]
    [InlineData(65535, "ffff03")]
    public void Compact_u16_round_trips(int value, string hex)
    {
        var output = new List<byte>();
        ShortVec.Write(output, value);
        Assert.Equal(hex, output.ToArray().ToHex());
        var pos = 0;
        Assert.Equal(value, ShortVec.Read(Convert.FromHexString(hex), ref pos));
    }

    [Theory]
    [InlineData("8000")]
    [InlineData("ffff04")]
    [InlineData("80")]
    public void Compact_u16_rejects_non_canonical(string hex)
    {
        var pos = 0;
        Assert.Throws<FormatException>(() => ShortVec.Read(Convert.FromHexString(hex), ref pos));
    }
}
