using System.Text.Json;

namespace Molly.Chains.Tests;

/// <summary>Loads the official vectors copied into data/ (see data/README.md for their sources).</summary>
internal static class Vectors
{
    public static JsonElement Load(string file)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "data", file);
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        return doc.RootElement.Clone();
    }

    public static IEnumerable<JsonElement> Array(string file, string property) => Load(file).GetProperty(property).EnumerateArray();

    public static string Str(this JsonElement e, string property) => e.GetProperty(property).GetString()!;

    public static byte[] Hex(this JsonElement e, string property) => Convert.FromHexString(e.Str(property));

    public static string ToHex(this byte[] bytes) => Convert.ToHexStringLower(bytes);
}
