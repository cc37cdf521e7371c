using System.Text.Json;
using Molly.Chains.Bitcoin;
using Molly.Chains.Crypto;
using Molly.Chains.Hd;
using Molly.Chains.Wallets;
using Molly.Cli;
using Xunit;

namespace Molly.Chains.Tests;

public class Bip84DerivationTests
{
    private static readonly JsonElement Data = Vectors.Load("bip44_bip49_bip84_derivation.json");

    [Fact]
    public void Bip84_spec_vectors_from_mnemonic_and_from_the_account_zpub()
    {
        var v = Data.GetProperty("bip84");
        var seed = Mnemonic.Parse(v.Str("mnemonic")).DeriveSeed(v.Str("passphrase"));
        var root = ExtKey.FromSeed(seed, ExtKeyVersion.Zpub);
        Assert.Equal(v.Str("root_zprv"), root.ToString());
        Assert.Equal(v.Str("root_zpub"), root.Neuter().ToString());
        var account = root.Derive(KeyPath.Parse(v.GetProperty("account").Str("path")));
        Assert.Equal(v.GetProperty("account").Str("zprv"), account.ToString());
        Assert.Equal(v.GetProperty("account").Str("zpub"), account.Neuter().ToString());

        var deriver = DepositAddressDeriver.Create("btc", "mainnet", v.GetProperty("account").Str("zpub"));
        var addresses = v.GetProperty("addresses").EnumerateArray().ToList();
        Assert.Equal(3, addresses.Count);
        foreach (var a in addresses)
        {
            var path = KeyPath.Parse(a.Str("path"));
            var key = root.Derive(path);
            var wif = Base58Check.Decode(a.Str("privkey_wif"));
            Assert.Equal(wif[1..33].ToHex(), key.PrivateKey.ToHex());
            Assert.Equal(a.Str("pubkey_hex"), key.Neuter().PublicKey.ToArray().ToHex());
            Assert.Equal(a.Str("address"), BitcoinAddress.FromPublicKey(key.Neuter().PublicKey, Network.BitcoinMain).Value);
            if (path.Indexes[3] == 0)
            {
                var d = deriver.Derive(path.Indexes[4]);
                Assert.Equal(a.Str("address"), d.Address);
                Assert.Equal(path, d.Path);
            }
        }
    }

    [Fact]
    public void Bip44_p2pkh_and_ethereum_addresses_of_the_trezor_mnemonic()
    {
        var t = Data.GetProperty("trezor_all_mnemonic");
        var root = ExtKey.FromSeed(Mnemonic.Parse(t.Str("mnemonic")).DeriveSeed(t.Str("passphrase")));
        var btc = t.GetProperty("bitcoin_p2pkh").EnumerateArray().ToList();
        Assert.Equal(6, btc.Count);
        foreach (var c in btc)
        {
            var net = c.Str("coin") == "Bitcoin" ? Network.BitcoinMain : Network.BitcoinTest;
            var pub = root.Derive(KeyPath.Parse(c.Str("path"))).Neuter().PublicKey;
            Assert.Equal(c.Str("address"), Base58Check.Encode([net.PubKeyHashVersion, .. Hash160.Compute(pub)]));
        }

        var eth = t.GetProperty("ethereum").EnumerateArray().ToList();
        Assert.Equal(5, eth.Count);
        var ethAddress = DepositAddressDeriver.AddressFunction("eth", "mainnet");
        foreach (var c in eth) Assert.Equal(c.Str("address"), ethAddress(root.Derive(KeyPath.Parse(c.Str("path"))).Neuter()));

        var accountXpub = root.Derive(KeyPath.Parse("m/44'/60'/0'")).Neuter().ToString();
        var deriver = DepositAddressDeriver.Create("eth", "mainnet", accountXpub);
        Assert.Equal(eth[0].Str("address"), deriver.Derive(0).Address);
        Assert.Equal(eth[1].Str("address"), deriver.Derive(100).Address);
    }

    [Fact]
    public void Address_of_another_network_is_refused_with_both_names()
    {
        var ex = Assert.Throws<FormatException>(() => BitcoinAddress.Create("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", Network.LitecoinMain));
        Assert.Contains("btc/mainnet", ex.Message);
        Assert.Contains("ltc/mainnet", ex.Message);
        var ok = BitcoinAddress.Create("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", Network.BitcoinMain);
        Assert.Equal("0014751e76e8199196d454941c45d1b3a323f1433bd6", ok.ScriptPubKey.ToHex());
        var taproot = Assert.Throws<FormatException>(() => BitcoinAddress.Create("bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", Network.BitcoinMain));
        Assert.Contains("P2WPKH", taproot.Message);
    }

    [Fact]
    public void Regtest_networks_use_their_own_hrp()
    {
        var pub = Convert.FromHexString("0330d54fd0dd420a6e5f8d3624f5f3482cae350f79d5f0753bf5beef9c2d91af3c");
        Assert.StartsWith("bcrt1q", BitcoinAddress.FromPublicKey(pub, Network.BitcoinRegtest).Value);
        Assert.StartsWith("rltc1q", BitcoinAddress.FromPublicKey(pub, Network.LitecoinRegtest).Value);
        Assert.StartsWith("ltc1q", BitcoinAddress.FromPublicKey(pub, Network.LitecoinMain).Value);
        var a = BitcoinAddress.FromPublicKey(pub, Network.LitecoinRegtest);
        Assert.Equal(a, BitcoinAddress.Create(a.Value, Network.LitecoinRegtest));
    }
}

public class WalletShardTests
{
    [Theory]
    [InlineData(0u, 0u)]
    [InlineData(9_999u, 0u)]
    [InlineData(10_000u, 1u)]
    [InlineData(1_234_567u, 123u)]
    public void Shards_hold_ten_thousand_addresses(uint index, uint shard)
    {
        var s = WalletShard.Of("BTC", index);
        Assert.Equal(shard, s.Number);
        Assert.InRange(index, s.FirstIndex, s.LastIndex);
        Assert.Equal($"btc-hot-{shard:D6}", s.HotWalletId);
        Assert.Equal($"btc-warm-{shard:D6}", s.WarmWalletId);
        Assert.NotEqual(WalletShard.Of("btc", index + WalletShard.Size).HotWalletId, s.HotWalletId);
    }

    [Fact]
    public void Range_derivation_is_in_index_order_and_matches_single_derivation()
    {
        var zpub = Vectors.Load("bip44_bip49_bip84_derivation.json").GetProperty("bip84").GetProperty("account").Str("zpub");
        var d = DepositAddressDeriver.Create("btc", "mainnet", zpub);
        var range = d.DeriveRange(1000, 2500);
        Assert.Equal(2500, range.Length);
        for (var i = 0; i < range.Length; i += 499) Assert.Equal(d.Derive(1000 + (uint)i), range[i]);
        Assert.Equal(Enumerable.Range(1000, 2500).Select(i => (uint)i), range.Select(r => r.Index));
    }

    [Fact]
    public void Solana_cannot_derive_from_an_xpub()
    {
        var ex = Assert.Throws<ArgumentException>(() => DepositAddressDeriver.Create("sol", "mainnet", "xpub"));
        Assert.Contains("hardened", ex.Message);
    }
}

public class CliTests
{
    private static readonly JsonElement Data = Vectors.Load("bip44_bip49_bip84_derivation.json");

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = MollyCli.Run(args, o, e, showProgress: false);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void Keys_derive_from_a_zpub_prints_the_bip84_addresses_as_json()
    {
        var v = Data.GetProperty("bip84");
        var (code, output, err) = Run("keys", "derive", "--chain", "btc", "--network", "mainnet", "--xpub", v.GetProperty("account").Str("zpub"), "--from", "0", "--count", "2", "--json");
        Assert.True(code == 0, err);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, lines.Count);
        var expected = v.GetProperty("addresses").EnumerateArray().Take(2).ToList();
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(i, lines[i].GetProperty("index").GetInt32());
            Assert.Equal(expected[i].Str("path"), lines[i].Str("path"));
            Assert.Equal(expected[i].Str("address"), lines[i].Str("address"));
        }
    }

    [Fact]
    public void Keys_derive_from_a_mnemonic_prints_the_account_xpub()
    {
        var v = Data.GetProperty("bip84");
        var (code, output, err) = Run("keys", "derive", "--chain", "btc", "--mnemonic", v.Str("mnemonic"), "--from", "1", "--count", "1", "--json");
        Assert.True(code == 0, err);
        var line = JsonDocument.Parse(output.Trim()).RootElement;
        Assert.Equal(v.GetProperty("addresses")[1].Str("address"), line.Str("address"));
        Assert.Equal(v.GetProperty("account").Str("zpub"), line.Str("xpub"));
    }

    [Fact]
    public void Keys_derive_eth_and_sol_from_the_trezor_mnemonic()
    {
        var t = Data.GetProperty("trezor_all_mnemonic");
        var (code, output, err) = Run("keys", "derive", "--chain", "eth", "--mnemonic", t.Str("mnemonic"), "--from", "0", "--count", "1", "--json");
        Assert.True(code == 0, err);
        Assert.Equal(t.GetProperty("ethereum")[0].Str("address"), JsonDocument.Parse(output.Trim()).RootElement.Str("address"));

        (code, output, err) = Run("keys", "derive", "--chain", "sol", "--mnemonic", t.Str("mnemonic"), "--count", "2", "--json");
        Assert.True(code == 0, err);
        var sol = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var expected = t.GetProperty("solana").EnumerateArray().ToList();
        Assert.Equal(2, expected.Count);
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(expected[i].Str("path"), sol[i].Str("path"));
            Assert.Equal(expected[i].Str("address"), sol[i].Str("address"));
        }
    }

    [Theory]
    [InlineData("--xpub", "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet9", "checksum")]
    [InlineData("--xpub", "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs", "network")]
    [InlineData("--mnemonic", "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon", "checksum")]
    public void Bad_input_exits_non_zero_naming_the_problem(string option, string value, string reason)
    {
        var (code, output, err) = Run("keys", "derive", "--chain", "btc", "--network", "testnet", option, value, "--count", "1");
        Assert.NotEqual(0, code);
        Assert.Empty(output);
        Assert.Contains(reason, err);
    }

    [Fact]
    public void Bad_path_exits_non_zero()
    {
        var (code, _, err) = Run("keys", "derive", "--chain", "btc", "--mnemonic", Data.GetProperty("bip84").Str("mnemonic"), "--path", "m/84'/0'/0'/2147483648/i");
        Assert.NotEqual(0, code);
        Assert.Contains("hardened limit", err);
    }

    [Fact]
    public void Wallets_generate_writes_index_ordered_lines()
    {
        var v = Data.GetProperty("bip84");
        var file = Path.Combine(Path.GetTempPath(), $"molly-wallets-{Guid.NewGuid():N}.csv");
        try
        {
            var (code, _, err) = Run("wallets", "generate", "--chain", "btc", "--xpub", v.GetProperty("account").Str("zpub"), "--count", "3000", "--out", file);
            Assert.True(code == 0, err);
            var lines = File.ReadAllLines(file);
            Assert.Equal(3000, lines.Length);
            Assert.Equal("0," + v.GetProperty("addresses")[0].Str("address"), lines[0]);
            Assert.Equal("1," + v.GetProperty("addresses")[1].Str("address"), lines[1]);
            Assert.StartsWith("2999,bc1q", lines[2999]);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
