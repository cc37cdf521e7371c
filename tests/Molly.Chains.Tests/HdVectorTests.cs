using System.Text;
using Molly.Chains.Hd;
using Xunit;

namespace Molly.Chains.Tests;

public class Bip39VectorTests
{
    [Fact]
    public void Trezor_vectors_give_mnemonic_seed_and_root_key()
    {
        var cases = Vectors.Array("bip39.json", "cases").ToList();
        Assert.Equal(24, cases.Count);
        foreach (var c in cases)
        {
            var mnemonic = Mnemonic.FromEntropy(c.Hex("entropy_hex"));
            Assert.Equal(c.Str("mnemonic"), mnemonic.ToString());
            var parsed = Mnemonic.Parse(c.Str("mnemonic"));
            var seed = parsed.DeriveSeed(c.Str("passphrase"));
            Assert.Equal(c.Str("seed_hex"), seed.ToHex());
            Assert.Equal(c.Str("bip32_root_xprv"), ExtKey.FromSeed(seed).ToString());
        }
    }

    [Fact]
    public void Wordlist_is_the_bip39_english_list()
    {
        var text = string.Join('\n', Mnemonic.EnglishWords) + "\n";
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        Assert.Equal("2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda", sha);
    }

    [Theory]
    [InlineData("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon", "checksum")]
    [InlineData("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon", "11 words")]
    [InlineData("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon zzzz", "word 12")]
    public void Bad_mnemonics_are_rejected_with_the_reason(string text, string reason)
    {
        var ex = Assert.Throws<FormatException>(() => Mnemonic.Parse(text));
        Assert.Contains(reason, ex.Message);
        Assert.DoesNotContain("abandon", ex.Message);
    }

    [Fact]
    public void Passphrase_is_nfkd_normalised()
    {
        var m = Mnemonic.Parse("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about");
        // The project runs with invariant globalization (no ICU): NFKD is unavailable, so non-ASCII
        // input is refused instead of silently giving a different seed than other wallets.
        var ex = Assert.Throws<NotSupportedException>(() => m.DeriveSeed("caf\u00e9"));
        Assert.Contains("NFKD", ex.Message);
        Assert.NotEqual(m.DeriveSeed("cafe").ToHex(), m.DeriveSeed("").ToHex());
    }
}

public class Bip32VectorTests
{
    [Fact]
    public void Vectors_1_to_4_derive_every_chain()
    {
        var vectors = Vectors.Array("bip32.json", "valid").ToList();
        Assert.Equal(4, vectors.Count);
        var checkedNodes = 0;
        foreach (var v in vectors)
        {
            var master = ExtKey.FromSeed(v.Hex("seed_hex"));
            foreach (var chain in v.GetProperty("chains").EnumerateArray())
            {
                var path = KeyPath.Parse(chain.Str("path"));
                Assert.Equal(chain.Str("path"), path.ToString());
                var key = master.Derive(path);
                Assert.Equal(chain.Str("xprv"), key.ToString());
                Assert.Equal(chain.Str("xpub"), key.Neuter().ToString());
                Assert.Equal(chain.Str("xprv"), ExtKey.Parse(chain.Str("xprv")).ToString());
                var pub = ExtPubKey.Parse(chain.Str("xpub"));
                Assert.Equal(chain.Str("xpub"), pub.ToString());

                // public derivation from the parent xpub, for a non-hardened last step
                if (path.Length > 0 && !KeyPath.IsHardened(path.Indexes[^1]))
                {
                    var parent = master.Derive(new KeyPath(path.Indexes.Take(path.Length - 1).ToArray())).Neuter();
                    var parentXpub = ExtPubKey.Parse(parent.ToString());
                    Assert.Equal(chain.Str("xpub"), parentXpub.Derive(path.Indexes[^1]).ToString());
                }

                checkedNodes++;
            }
        }

        Assert.Equal(6 + 6 + 2 + 3, checkedNodes);
    }

    [Fact]
    public void Invalid_extended_keys_are_rejected()
    {
        var cases = Vectors.Array("bip32.json", "invalid_extended_keys").ToList();
        Assert.Equal(16, cases.Count);
        foreach (var c in cases)
        {
            var text = c.Str("key");
            var pub = Record.Exception(() => ExtPubKey.Parse(text));
            var prv = Record.Exception(() => ExtKey.Parse(text));
            Assert.IsType<FormatException>(pub);
            Assert.IsType<FormatException>(prv);
        }
    }

    [Theory]
    [InlineData("xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet9", "checksum")]
    [InlineData("xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet0", "Base58")]
    [InlineData("xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi", "private")]
    public void Malformed_xpubs_name_the_problem(string text, string reason)
    {
        var ex = Assert.Throws<FormatException>(() => ExtPubKey.Parse(text));
        Assert.Contains(reason, ex.Message);
    }

    [Fact]
    public void Xpub_of_another_network_is_refused()
    {
        var ex = Assert.Throws<FormatException>(() => ExtPubKey.Parse(
            "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8",
            [ExtKeyVersion.Tpub, ExtKeyVersion.Vpub]));
        Assert.Contains("xpub", ex.Message);
        Assert.Contains("tpub", ex.Message);
    }

    [Fact]
    public void Hardened_derivation_from_an_xpub_is_refused()
    {
        var xpub = ExtPubKey.Parse("xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8");
        Assert.Throws<InvalidOperationException>(() => xpub.Derive(KeyPath.Parse("m/0'")));
    }

    [Theory]
    [InlineData("m/84'/0'/0'/0/5", new uint[] { 0x80000054, 0x80000000, 0x80000000, 0, 5 })]
    [InlineData("m", new uint[0])]
    [InlineData("84h/0H/1", new uint[] { 0x80000054, 0x80000000, 1 })]
    [InlineData("m/2147483647'", new uint[] { 0xFFFFFFFF })]
    public void Key_paths_parse(string text, uint[] expected) => Assert.Equal(expected, KeyPath.Parse(text).Indexes);

    [Theory]
    [InlineData("m/2147483648", "hardened limit")]
    [InlineData("m/2147483648'", "hardened limit")]
    [InlineData("m/99999999999999999999", "hardened limit")]
    [InlineData("m/84'/x/0", "not a number")]
    [InlineData("m//1", "not a number")]
    [InlineData("m/-1", "not a number")]
    [InlineData("", "empty")]
    public void Bad_key_paths_name_the_problem(string text, string reason)
    {
        var ex = Assert.Throws<FormatException>(() => KeyPath.Parse(text));
        Assert.Contains(reason, ex.Message);
    }
}

public class Slip10VectorTests
{
    [Fact]
    public void Ed25519_vectors_derive_every_chain()
    {
        var vectors = Vectors.Array("slip10_ed25519.json", "vectors").ToList();
        Assert.Equal(2, vectors.Count);
        var nodes = 0;
        foreach (var v in vectors)
        {
            var master = Slip10Ed25519.FromSeed(v.Hex("seed_hex"));
            foreach (var chain in v.GetProperty("chains").EnumerateArray())
            {
                var node = master.Derive(KeyPath.Parse(chain.Str("path")));
                Assert.Equal(chain.Str("private"), node.PrivateKey.ToHex());
                Assert.Equal(chain.Str("chain_code"), node.ChainCode.ToArray().ToHex());
                Assert.Equal(chain.Str("public"), "00" + node.PublicKey.ToHex());
                Assert.Equal(chain.Str("fingerprint"), node.ParentFingerprint.ToString("x8"));
                nodes++;
            }
        }

        Assert.Equal(12, nodes);
    }

    [Fact]
    public void Non_hardened_steps_are_refused()
    {
        var master = Slip10Ed25519.FromSeed(new byte[16]);
        var ex = Assert.Throws<InvalidOperationException>(() => master.Derive(KeyPath.Parse("m/44'/501'/0'/0")));
        Assert.Contains("hardened", ex.Message);
    }
}
