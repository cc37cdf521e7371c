using Molly.Domain;

namespace Molly.Domain.Tests;

public class AssetRegistryTests
{
    private static readonly AssetRegistry Mainnet = AssetRegistry.ForNetworks(["mainnet"]);

    [Theory]
    [InlineData("ethereum", "ETH", 18, null)]
    [InlineData("ethereum", "USDT", 6, "0xdAC17F958D2ee523a2206206994597C13D831ec7")]
    [InlineData("ethereum", "USDC", 6, "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48")]
    [InlineData("bsc", "BNB", 18, null)]
    [InlineData("bsc", "USDT", 18, "0x55d398326f99059fF775485246999027B3197955")]
    [InlineData("tron", "TRX", 6, null)]
    [InlineData("tron", "USDT", 6, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")]
    [InlineData("solana", "SOL", 9, null)]
    [InlineData("solana", "USDC", 6, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v")]
    [InlineData("bitcoin", "BTC", 8, null)]
    [InlineData("litecoin", "LTC", 8, null)]
    public void Knows_every_asset_the_product_accepts(string chain, string symbol, int decimals, string? contract)
    {
        Assert.True(Mainnet.TryFind(chain, symbol, out var asset, out var error), error);
        Assert.Equal(decimals, asset.Decimals);
        Assert.Equal(contract, asset.Contract);
        Assert.True(asset.Confirmations >= 1);
    }

    [Fact]
    public void A_known_asset_on_the_wrong_chain_names_the_chains_it_is_on()
    {
        Assert.False(Mainnet.TryFind("bitcoin", "USDT", out _, out var error));
        Assert.Contains("not available on chain 'bitcoin'", error);
        Assert.Contains("tron", error);
    }

    [Fact]
    public void Unknown_asset_and_unknown_chain_are_told_apart()
    {
        Assert.False(Mainnet.TryFind("ethereum", "DOGE", out _, out var e1));
        Assert.Equal("Unknown asset 'DOGE'.", e1);
        Assert.False(Mainnet.TryFind("fantom", "USDT", out _, out var e2));
        Assert.Equal("Unknown chain 'fantom'.", e2);
    }

    [Fact]
    public void The_dev_chain_token_is_registered_at_its_deterministic_address()
    {
        var local = AssetRegistry.ForNetworks(["local"]);
        Assert.True(local.TryFind("ethereum", "USDT", out var usdt, out var error), error);
        Assert.Equal("0x5FbDB2315678afecb367f032d93F642f64180aa3", usdt.Contract);
        Assert.Equal(6, usdt.Decimals);
        Assert.Equal(31337, usdt.EvmChainId);
        Assert.Equal(2, usdt.Confirmations);
        Assert.False(Mainnet.TryFind("ethereum", "USDT", out var mainnetUsdt, out _) && mainnetUsdt.Network == "local");
    }

    [Fact]
    public void A_later_network_replaces_an_earlier_ones_asset_on_the_same_chain()
    {
        var both = AssetRegistry.ForNetworks(["mainnet", "local", "local"]);
        Assert.True(both.TryFind("ethereum", "USDT", out var usdt, out _));
        Assert.Equal("local", usdt.Network);
        Assert.True(both.TryFind("ethereum", "ETH", out var eth, out _));
        Assert.Equal(31337, eth.EvmChainId);
        Assert.True(both.TryFind("tron", "USDT", out var tron, out _));
        Assert.Equal("mainnet", tron.Network);
        Assert.True(both.TryFind("ethereum", "USDC", out var usdc, out _)); // only on mainnet: kept as it is
        Assert.Equal("mainnet", usdc.Network);
    }

    [Fact]
    public void Local_entries_replace_embedded_ones_and_duplicates_are_refused()
    {
        var token = new Asset("ethereum", "local", ChainFamily.Evm, 31337, "USDT", 6, "0x5FbDB2315678afecb367f032d93F642f64180aa3", 1);
        var local = AssetRegistry.ForNetworks(["local", "regtest"], [token]);
        Assert.True(local.TryFind("ethereum", "USDT", out var usdt, out _));
        Assert.Equal(token, usdt);
        Assert.True(local.TryFind("litecoin", "LTC", out var ltc, out _));
        Assert.Equal("regtest", ltc.Network);
        Assert.Throws<ArgumentException>(() => new AssetRegistry([token, token]));
    }
}
