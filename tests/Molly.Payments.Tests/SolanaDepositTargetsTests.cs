using System.Numerics;
using System.Text.Json;
using Molly.Chains.Crypto;
using Molly.Chains.Solana;
using Molly.Domain;

namespace Molly.Payments.Tests;

/// <summary>Solana deposit targets: the shard's wallet as recipient, a fresh reference per payment, the Solana Pay request,
/// checked against the official vectors (solana.json) where one exists.</summary>
public sealed class SolanaDepositTargetsTests
{
    private static readonly JsonElement Vectors = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "data", "solana.json"))).RootElement;
    private static readonly Asset Sol = AssetRegistry.ForNetworks(["mainnet"]).Assets.Single(a => a.Id == "SOL@solana");
    private static readonly Asset Usdc = AssetRegistry.ForNetworks(["mainnet"]).Assets.Single(a => a.Id == "USDC@solana");

    private static ChainDepositTargets Targets(params string[] recipients) =>
        new(new Dictionary<string, string>(), new Dictionary<string, IReadOnlyList<string>> { ["mainnet"] = recipients });

    [Fact]
    public void The_development_wallet_of_shard_0_is_the_slip10_wallet_of_the_trezor_vector()
    {
        var trezor = Vectors.GetProperty("trezor_transfer")[0];
        var account = ChainDepositTargets.NewDevelopmentAccount(trezor.GetProperty("mnemonic").GetString());
        Assert.Equal(trezor.GetProperty("path").GetString(), ChainDepositTargets.SolanaShardPath(0));
        var wallet = trezor.GetProperty("instruction").GetProperty("funding_account").GetString();
        Assert.Equal(wallet, account.SolanaRecipients[0]);
        Assert.Equal(ChainDepositTargets.DevelopmentSolanaShards, account.SolanaRecipients.Distinct().Count());

        var target = Targets([.. account.SolanaRecipients]).Create(Sol, 42, 20_000_000, "Order o-1");
        Assert.Equal(wallet, target.Address);
        Assert.Equal("m/44'/501'/0'/0'", target.DerivationPath);
        Assert.Null(target.TokenAccount);
    }

    [Fact]
    public void An_spl_payment_keeps_the_associated_token_account_of_the_vector()
    {
        var c = Vectors.GetProperty("associated_token_account")[0];
        Assert.False(c.GetProperty("allowOwnerOffCurve").GetBoolean());
        Assert.Equal(SolanaAddress.TokenProgram.ToString(), c.GetProperty("token_program").GetString());
        var token = Usdc with { Symbol = "TKN", Contract = c.GetProperty("mint").GetString() };
        var target = Targets(c.GetProperty("owner").GetString()!).Create(token, 7, 1_500_000, "Order o-2");
        Assert.Equal(c.GetProperty("owner").GetString(), target.Address);
        Assert.Equal(c.GetProperty("ata").GetString(), target.TokenAccount);

        Assert.True(SolanaPayUri.TryParse(target.PaymentUri, token.Decimals, out var uri, out var error), error);
        Assert.Equal(c.GetProperty("mint").GetString(), uri.SplToken?.ToString());
        Assert.Equal(new BigInteger(1_500_000), uri.AmountBaseUnits);
        Assert.Equal(target.Reference, Assert.Single(uri.References).ToString());
        Assert.Equal("Order o-2", uri.Message);
    }

    [Fact]
    public void A_program_address_is_refused_as_a_recipient()
    {
        var pda = Vectors.GetProperty("associated_token_account")[1].GetProperty("owner").GetString()!; // the vector's off-curve owner
        Assert.False(ChainDepositTargets.TryParseSolanaRecipient(pda, out _, out var error));
        Assert.Contains("off the ed25519 curve", error);
        Assert.Throws<ArgumentException>(() => Targets(pda));
        Assert.False(ChainDepositTargets.TryParseSolanaRecipient("0OIl", out _, out _));
    }

    [Fact]
    public void Each_shard_pays_its_own_wallet_and_a_shard_without_one_is_refused()
    {
        var account = ChainDepositTargets.NewDevelopmentAccount("all all all all all all all all all all all all");
        var targets = Targets(account.SolanaRecipients[0], account.SolanaRecipients[1]);
        Assert.Equal(account.SolanaRecipients[0], targets.Create(Sol, AddressShards.Size - 1, 1, "o").Address);
        var second = targets.Create(Sol, AddressShards.Size, 1, "o");
        Assert.Equal(account.SolanaRecipients[1], second.Address);
        Assert.Equal("m/44'/501'/1'/0'", second.DerivationPath);
        Assert.Throws<InvalidOperationException>(() => targets.Create(Sol, 2 * AddressShards.Size, 1, "o"));

        var elsewhere = Sol with { Network = "devnet" };
        Assert.Throws<NotSupportedException>(() => targets.Create(elsewhere, 0, 1, "o"));
    }

    [Fact]
    public void References_are_fresh_32_byte_keys()
    {
        var account = ChainDepositTargets.NewDevelopmentAccount("all all all all all all all all all all all all");
        var targets = Targets(account.SolanaRecipients[0]);
        var references = Enumerable.Range(0, 2_000).Select(i => targets.Create(i % 2 == 0 ? Sol : Usdc, i, 1, "o").Reference!).ToList();
        Assert.Equal(references.Count, references.Distinct().Count());
        Assert.All(references, r => Assert.Equal(32, Base58Check.DecodePlain(r).Length));
        Assert.DoesNotContain(account.SolanaRecipients[0], references);
    }
}
