using System.CommandLine;
using System.Numerics;
using Molly.Chains.Evm;
using Molly.Chains.Rpc.Evm;
using Molly.Domain;

namespace Molly.Cli;

/// <summary>
/// `molly devchain up|pay|mine`: the local Hardhat dev chain (run.sh starts the node). `up` deploys the test USDT (account #0's
/// first transaction, so at its fixed address), mints to accounts #1..#9 and prints what a newcomer needs; `pay` sends ETH or
/// test USDT from a dev account with a transaction built and signed by our own EIP-1559 code; `mine` mines empty blocks
/// (the dev chain mines only when a transaction arrives, so the confirmations after a payment come from here). Hardhat keys only.
/// </summary>
internal static class DevChainCommand
{
    private static readonly HttpClient Http = new() { Timeout = Timeout.InfiniteTimeSpan };

    public static Command Build(TextWriter output, TextWriter error)
    {
        var devchain = new Command("devchain", "The local EVM dev chain (Hardhat, chain id 31337)");
        devchain.Subcommands.Add(BuildUp(output, error));
        devchain.Subcommands.Add(BuildPay(output, error));
        devchain.Subcommands.Add(BuildMine(output));
        return devchain;
    }

    private static Option<string> RpcOption() => new("--rpc") { Description = "the dev chain's JSON-RPC URL", DefaultValueFactory = _ => "http://127.0.0.1:8545" };

    private static Command BuildUp(TextWriter output, TextWriter error)
    {
        var rpc = RpcOption();
        var artifact = new Option<string?>("--artifact") { Description = "compiled token (default: .local/devchain/TestUsd.json of the repository)" };
        var mint = new Option<string>("--mint") { Description = "test USDT each of accounts #1..#9 should hold", DefaultValueFactory = _ => "1000000" };
        var cmd = new Command("up", "Deploy (or verify) the test USDT and fund accounts #1..#9") { rpc, artifact, mint };
        cmd.SetAction(r => Up(r.GetValue(rpc)!, r.GetValue(artifact), r.GetValue(mint)!, output, error).GetAwaiter().GetResult());
        return cmd;
    }

    private static Command BuildPay(TextWriter output, TextWriter error)
    {
        var rpc = RpcOption();
        var to = new Option<string>("--to") { Description = "the payment's deposit address", Required = true };
        var amount = new Option<string>("--amount") { Description = "amount in the asset's units, e.g. 12.5", Required = true };
        var asset = new Option<string>("--asset") { Description = "USDT (the test token) or ETH", DefaultValueFactory = _ => "USDT" };
        asset.AcceptOnlyFromAmong("USDT", "ETH");
        var account = new Option<int>("--account") { Description = "dev account index 1..19 that pays", DefaultValueFactory = _ => 1 };
        var cmd = new Command("pay", "Pay from a funded dev account (signed by Molly's own EIP-1559 code)") { rpc, to, amount, asset, account };
        cmd.SetAction(r => Pay(r.GetValue(rpc)!, r.GetValue(to)!, r.GetValue(amount)!, r.GetValue(asset)!, r.GetValue(account), output, error)
            .GetAwaiter().GetResult());
        return cmd;
    }

    private static Command BuildMine(TextWriter output)
    {
        var rpc = RpcOption();
        var blocks = new Option<int>("--blocks") { Description = "blocks to mine (1..1000)", DefaultValueFactory = _ => 1 };
        blocks.Validators.Add(r => { if (r.GetValueOrDefault<int>() is < 1 or > 1000) r.AddError("--blocks must be 1..1000."); });
        var cmd = new Command("mine", "Mine empty blocks (confirmations for the payments paid so far)") { rpc, blocks };
        cmd.SetAction(r => Mine(r.GetValue(rpc)!, r.GetValue(blocks), output).GetAwaiter().GetResult());
        return cmd;
    }

    private static async Task<int> Mine(string rpcUrl, int blocks, TextWriter output)
    {
        var chain = await ConnectAsync(rpcUrl).ConfigureAwait(false);
        await chain.MineAsync(blocks).ConfigureAwait(false);
        output.WriteLine($"Mined {blocks} block(s); head is block {await chain.Rpc.GetBlockNumberAsync().ConfigureAwait(false)}");
        return 0;
    }

    private static async Task<int> Up(string rpcUrl, string? artifactPath, string mintText, TextWriter output, TextWriter error)
    {
        var perAccount = Amount.Parse(mintText, HardhatDevChain.TokenDecimals);
        var chain = await ConnectAsync(rpcUrl).ConfigureAwait(false);
        var initCode = HardhatDevChain.LoadTokenBytecode(artifactPath ?? Path.Combine(RepositoryRoot(), ".local", "devchain", "TestUsd.json"));
        var deployed = await chain.EnsureTokenAsync(initCode).ConfigureAwait(false);

        var minted = new List<string>();
        for (var i = 1; i <= 9; i++)
        {
            var holder = HardhatDevChain.Account(i).Address;
            var missing = perAccount - await chain.TokenBalanceAsync(holder).ConfigureAwait(false);
            if (missing.Sign > 0) minted.Add(await chain.MintAsync(holder, missing).ConfigureAwait(false));
        }
        foreach (var hash in minted)
            if (!(await chain.WaitForReceiptAsync(hash, TimeSpan.FromSeconds(30)).ConfigureAwait(false)).Succeeded)
            {
                error.WriteLine($"error: minting failed in {hash}");
                return 1;
            }

        var payer = HardhatDevChain.Account(1);
        output.WriteLine($"Dev chain       {rpcUrl} (Hardhat, chain id {HardhatDevChain.HardhatChainId})");
        output.WriteLine($"Test token      {chain.TokenAddress}  Molly Test USD (USDT, 6 decimals){(deployed ? "" : ", already deployed")}");
        output.WriteLine($"Funded          accounts #1..#9 hold {mintText} USDT and 10000 ETH each");
        output.WriteLine($"Payer           account #1 {payer.Address}");
        output.WriteLine($"Private key     {payer.PrivateKeyHex}");
        output.WriteLine("                (Hardhat's PUBLIC test key from the mnemonic \"test test ... junk\": anyone can spend it; dev chain only)");
        return 0;
    }

    private static async Task<int> Pay(string rpcUrl, string toText, string amountText, string asset, int accountIndex, TextWriter output, TextWriter error)
    {
        if (accountIndex is < 1 or > 19)
        {
            error.WriteLine("error: --account must be 1..19 (#0 deploys and mints the token).");
            return 2;
        }
        if (!EvmAddress.TryParse(toText, out var to, out var addressError))
        {
            error.WriteLine($"error: --to: {addressError}");
            return 2;
        }
        if (!Amount.TryParse(amountText, asset == "ETH" ? 18 : HardhatDevChain.TokenDecimals, out var baseUnits, out var amountError) || baseUnits.Sign <= 0)
        {
            error.WriteLine($"error: --amount: {amountError ?? "must be positive"}");
            return 2;
        }
        var chain = await ConnectAsync(rpcUrl).ConfigureAwait(false);
        var from = HardhatDevChain.Account(accountIndex);
        var hash = asset == "ETH"
            ? await chain.SendEthAsync(from, to, baseUnits).ConfigureAwait(false)
            : await chain.SendTokenAsync(from, to, baseUnits).ConfigureAwait(false);
        var receipt = await chain.WaitForReceiptAsync(hash, TimeSpan.FromSeconds(60)).ConfigureAwait(false);
        output.WriteLine($"{(receipt.Succeeded ? "Paid" : "REVERTED:")} {amountText} {asset} from account #{accountIndex} {from.Address} to {to}");
        output.WriteLine($"Transaction     {hash} in block {receipt.BlockNumber} (its 1st confirmation; `devchain mine` adds more)");
        return receipt.Succeeded ? 0 : 1;
    }

    private static async Task<HardhatDevChain> ConnectAsync(string rpcUrl)
    {
        var rpc = new EvmRpcClient(Http, new EvmRpcOptions { Endpoints = [rpcUrl], MaxRetryAttempts = 2 });
        var chainId = await rpc.GetChainIdAsync().ConfigureAwait(false);
        if (chainId != HardhatDevChain.HardhatChainId)
            throw new InvalidOperationException($"{EvmRpcEndpoint.Redact(new Uri(rpcUrl))} is chain {chainId}, not the dev chain ({HardhatDevChain.HardhatChainId}): refusing to use public test keys there.");
        return new HardhatDevChain(rpc);
    }

    private static string RepositoryRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Serverless.sln"))) return dir.FullName;
        throw new InvalidOperationException("Run from inside the repository or pass --artifact.");
    }
}
