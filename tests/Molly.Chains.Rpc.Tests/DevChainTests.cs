using Molly.Chains.Evm;
using Molly.Chains.Rpc.Evm;
using Molly.Testing;
using Xunit;

namespace Molly.Chains.Rpc.Tests;

/// <summary>The Hardhat fixture itself: the token is where EVM.md says, minted, and the dev keys are Hardhat's.</summary>
public class DevChainTests
{
    [Fact]
    public async Task The_token_is_account_zeros_first_creation_and_the_dev_accounts_hold_test_usdt()
    {
        var node = await HardhatNode.Shared;
        Assert.Equal(31337, await node.Rpc.GetChainIdAsync());
        Assert.Equal(EvmAddress.ForCreate(node.DevAccount(0).Address, 0), node.TokenAddress);
        Assert.Equal("0x5FbDB2315678afecb367f032d93F642f64180aa3", node.TokenAddress.ToString());
        Assert.Equal(HardhatNode.MintedPerAccount, await node.TokenBalanceAsync(node.DevAccount(9).Address));
        Assert.Equal(0, (await node.TokenBalanceAsync(node.DevAccount(0).Address)).Sign);
    }

    [Theory]
    [InlineData(0, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")]
    [InlineData(1, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")]
    [InlineData(3, "0x90F79bf6EB2c4f870365E785982E1f101E93b906", "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6")]
    public void Dev_accounts_are_derived_from_the_public_mnemonic_as_hardhat_prints_them(int index, string address, string key)
    {
        var account = HardhatDevChain.Account(index);
        Assert.Equal(address, account.Address.ToString());
        Assert.Equal(key, account.PrivateKeyHex);
    }

    [Fact]
    public async Task A_node_of_its_own_can_snapshot_revert_and_mine_on_demand()
    {
        await using var node = await HardhatNode.StartAsync();
        var payee = EvmAddress.Parse("0x00000000000000000000000000000000000000a1");
        var snapshot = await node.SnapshotAsync();
        var before = await node.Rpc.GetBlockNumberAsync();

        await node.SetAutomineAsync(false);
        var hash = await node.SendEthAsync(node.DevAccount(2), payee, 12345);
        Assert.Null(await node.Rpc.GetTransactionReceiptAsync(hash));
        await node.MineAsync(3);
        var receipt = await node.WaitForReceiptAsync(hash, TimeSpan.FromSeconds(10));
        Assert.Equal(before + 1, receipt.BlockNumber);
        Assert.Equal(before + 3, await node.Rpc.GetBlockNumberAsync());
        Assert.Equal(12345, (int)await node.Rpc.GetBalanceAsync(payee));

        Assert.True(await node.RevertAsync(snapshot));
        Assert.Equal(before, await node.Rpc.GetBlockNumberAsync());
        Assert.Equal(0, (await node.Rpc.GetBalanceAsync(payee)).Sign);
        Assert.Null(await node.Rpc.GetTransactionReceiptAsync(hash));
    }
}

/// <summary>`molly devchain up|pay` (what run.sh runs) in-process against a node of its own.</summary>
public class DevChainCliTests
{
    private static (int Code, string Out, string Err) Molly(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = global::Molly.Cli.MollyCli.Run(args, output, error, showProgress: false);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Up_is_idempotent_tops_up_balances_and_pay_sends_token_and_ether()
    {
        await using var node = await HardhatNode.StartAsync();
        var up = Molly("devchain", "up", "--rpc", node.RpcUrl, "--mint", "1500000");
        Assert.True(up.Code == 0, up.Err);
        Assert.Contains("0x5FbDB2315678afecb367f032d93F642f64180aa3", up.Out);
        Assert.Contains("already deployed", up.Out);
        Assert.Contains("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d", up.Out); // account #1, labelled public
        Assert.Contains("PUBLIC test key", up.Out);
        Assert.Equal(1_500_000_000_000, (long)await node.TokenBalanceAsync(node.DevAccount(4).Address));
        var again = Molly("devchain", "up", "--rpc", node.RpcUrl, "--mint", "1500000");
        Assert.Equal(0, again.Code);
        Assert.Equal(1_500_000_000_000, (long)await node.TokenBalanceAsync(node.DevAccount(4).Address));

        var payee = EvmAddress.Parse("0x00000000000000000000000000000000000000b2");
        var pay = Molly("devchain", "pay", "--rpc", node.RpcUrl, "--to", payee.ToString(), "--amount", "12.5", "--asset", "USDT", "--account", "3");
        Assert.True(pay.Code == 0, pay.Err);
        Assert.Equal(12_500_000, (long)await node.TokenBalanceAsync(payee));
        Assert.Equal(0, Molly("devchain", "pay", "--rpc", node.RpcUrl, "--to", payee.ToString(), "--amount", "0.000000000000000003", "--asset", "ETH").Code);
        Assert.Equal(3, (long)await node.Rpc.GetBalanceAsync(payee));

        var head = await node.Rpc.GetBlockNumberAsync();
        var mine = Molly("devchain", "mine", "--rpc", node.RpcUrl, "--blocks", "2");
        Assert.True(mine.Code == 0, mine.Err);
        Assert.Equal(head + 2, await node.Rpc.GetBlockNumberAsync());
        Assert.Contains($"head is block {head + 2}", mine.Out);
        Assert.Equal(2, Molly("devchain", "mine", "--rpc", node.RpcUrl, "--blocks", "0").Code);

        Assert.Equal(2, Molly("devchain", "pay", "--rpc", node.RpcUrl, "--to", "0x123", "--amount", "1").Code);
        Assert.Equal(2, Molly("devchain", "pay", "--rpc", node.RpcUrl, "--to", payee.ToString(), "--amount", "1.0000001").Code); // 7 decimals
        var dead = Molly("devchain", "up", "--rpc", $"http://127.0.0.1:{RpcStub.FreePort()}/");
        Assert.Equal(1, dead.Code);
        Assert.Contains("failed on every endpoint", dead.Err);
    }
}
