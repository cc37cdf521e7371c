namespace Molly.Cli;

// An explicit Main: with top-level statements, the ASP.NET Core framework reference (via Molly.Chains.Rpc) would generate a
// public Program that clashes with the Api's Program in projects referencing both.
internal static class Program
{
    private static int Main(string[] args) => MollyCli.Run(args, Console.Out, Console.Error);
}
