using System.Reflection;
using Molly.Benchmarks;

// Usage: dotnet run -c Release --project tests/Benchmarks -- <suite> [args]
// Each suite is a class implementing IBenchmarkSuite; it prints its figures and the baseline measured in the same run.
var suites = Assembly.GetExecutingAssembly().GetTypes()
    .Where(t => typeof(IBenchmarkSuite).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
    .Select(t => (IBenchmarkSuite)Activator.CreateInstance(t)!)
    .OrderBy(s => s.Name, StringComparer.Ordinal)
    .ToList();

var suite = args.Length > 0 ? suites.FirstOrDefault(s => s.Name == args[0]) : null;
if (suite is null)
{
    Console.Error.WriteLine("usage: dotnet run -c Release --project tests/Benchmarks -- <suite> [args]");
    foreach (var s in suites) Console.Error.WriteLine($"  {s.Name,-12} {s.Description}");
    return 2;
}

await suite.RunAsync(args[1..]);
return 0;
