namespace Molly.Benchmarks;

/// <summary>A benchmark run by name from the command line. Suites print a baseline measured in the same run beside their figures.</summary>
public interface IBenchmarkSuite
{
    string Name { get; }

    string Description { get; }

    Task RunAsync(string[] args);
}
