using System.CommandLine;
using Molly.Chains.Wallets;
using Spectre.Console;

namespace Molly.Cli;

/// <summary>`molly wallets generate`: an index,address file from an account xpub, on every core.</summary>
internal static class WalletsGenerateCommand
{
    public static Command Build(TextWriter output, TextWriter error, bool showProgress)
    {
        var chain = new Option<string>("--chain") { Description = "eth, tron, btc or ltc", Required = true };
        var network = new Option<string>("--network") { Description = "mainnet, testnet or regtest (btc/ltc)", DefaultValueFactory = _ => "mainnet" };
        var xpub = new Option<string>("--xpub") { Description = "account extended public key", Required = true };
        var count = new Option<int>("--count") { Description = "number of addresses", Required = true };
        var from = new Option<uint>("--from") { Description = "first index", DefaultValueFactory = _ => 0 };
        var outFile = new Option<FileInfo>("--out") { Description = "output file (index,address lines)", Required = true };
        var cmd = new Command("generate", "Generate deposit addresses to a file") { chain, network, xpub, count, from, outFile };
        cmd.SetAction((r, ct) => Task.FromResult(Execute(r.GetValue(chain)!, r.GetValue(network)!, r.GetValue(xpub)!, r.GetValue(from),
            r.GetValue(count), r.GetValue(outFile)!, showProgress, output, error, ct)));
        return cmd;
    }

    private static int Execute(string chain, string network, string xpub, uint from, int count, FileInfo outFile, bool showProgress,
        TextWriter output, TextWriter error, CancellationToken ct)
    {
        if (count < 1)
        {
            error.WriteLine("error: --count must be at least 1.");
            return 2;
        }

        var deriver = DepositAddressDeriver.Create(chain, network, xpub);
        var temp = outFile.FullName + ".partial";
        var started = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            using (var writer = new StreamWriter(temp, append: false, new System.Text.UTF8Encoding(false), 1 << 20))
            {
                void Generate(Action<int> progress) => deriver.WriteRange(writer, from, count, progress, ct);

                if (showProgress)
                {
                    AnsiConsole.Progress().Start(ctx =>
                    {
                        var task = ctx.AddTask($"{chain} addresses", maxValue: count);
                        Generate(k => task.Increment(k));
                    });
                }
                else
                {
                    Generate(_ => { });
                }
            }

            File.Move(temp, outFile.FullName, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }

        output.WriteLine($"wrote {count} {chain} addresses to {outFile.FullName} in {started.Elapsed.TotalSeconds:F1} s");
        return 0;
    }
}
