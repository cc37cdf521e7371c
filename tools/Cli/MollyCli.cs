using System.CommandLine;

namespace Molly.Cli;

/// <summary>The `molly` ops CLI. <see cref="Run"/> is what Program calls and what tests call in-process.</summary>
public static class MollyCli
{
    public static int Run(string[] args, TextWriter output, TextWriter error, bool showProgress = true)
    {
        var root = new RootCommand("molly: Molly operations CLI");
        var keys = new Command("keys", "Key and address derivation");
        keys.Subcommands.Add(KeysDeriveCommand.Build(output, error));
        var wallets = new Command("wallets", "Deposit wallet address files");
        wallets.Subcommands.Add(WalletsGenerateCommand.Build(output, error, showProgress));
        var workflows = new Command("workflows", "Run ASL workflows with the local engine");
        workflows.Subcommands.Add(WorkflowsRunCommand.Build(output, error));
        root.Subcommands.Add(keys);
        root.Subcommands.Add(wallets);
        root.Subcommands.Add(workflows);
        root.Subcommands.Add(DevChainCommand.Build(output, error));

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var e in parse.Errors) error.WriteLine($"error: {e.Message}");
            return 2;
        }

        try
        {
            return parse.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = output, Error = error });
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException or NotSupportedException or IOException
            or Molly.Chains.Rpc.Evm.EvmRpcException)
        {
            error.WriteLine($"error: {ex.Message}");
            return 1;
        }
    }
}
