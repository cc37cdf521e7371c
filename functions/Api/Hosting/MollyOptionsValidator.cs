using Microsoft.Extensions.Options;

namespace Molly.Api.Hosting;

/// <summary>Checks the combinations DataAnnotations cannot; runs at start-up (ValidateOnStart).</summary>
internal sealed class MollyOptionsValidator : IValidateOptions<MollyOptions>
{
    public ValidateOptionsResult Validate(string? name, MollyOptions o)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.DataDir) && (o.Mode == RuntimeMode.Local || o.Store.Kind == StoreKind.Sqlite))
            errors.Add("Molly:DataDir must name a folder.");
        if (o.Store.Kind == StoreKind.DynamoDb && string.IsNullOrWhiteSpace(o.Store.TableName))
            errors.Add("Molly:Store:TableName is required when Molly:Store:Kind is DynamoDb.");
        if (o.Store.ServiceUrl is { } url && !Uri.TryCreate(url, UriKind.Absolute, out _))
            errors.Add("Molly:Store:ServiceUrl must be an absolute URL.");
        if (o.Auth.MaxClockSkew <= TimeSpan.Zero || o.Auth.MaxClockSkew > TimeSpan.FromHours(1))
            errors.Add("Molly:Auth:MaxClockSkew must be between 0 and 1 hour.");
        if (o.Auth.RotationOverlap < TimeSpan.Zero || o.Auth.RotationOverlap > TimeSpan.FromDays(30))
            errors.Add("Molly:Auth:RotationOverlap must be between 0 and 30 days.");
        if (o.Mode == RuntimeMode.Aws && o.Store.Kind != StoreKind.DynamoDb)
            errors.Add("Molly:Mode Aws needs Molly:Store:Kind DynamoDb (a SQLite file does not survive a Lambda instance).");
        if (o.Mode == RuntimeMode.Aws) errors.AddRange(o.Secrets.Validate());
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Resolves the data folder once, creating it (mode 0700 on Unix) when missing.</summary>
public sealed class DataDirectory
{
    public DataDirectory(IOptions<MollyOptions> options)
    {
        var configured = options.Value.DataDir;
        Path = System.IO.Path.IsPathRooted(configured)
            ? configured
            : System.IO.Path.GetFullPath(System.IO.Path.Combine(FindRepositoryRoot() ?? Directory.GetCurrentDirectory(), configured));
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void EnsureExists()
    {
        if (Directory.Exists(Path)) return;
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(Path);
        else Directory.CreateDirectory(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static string? FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            if (System.IO.File.Exists(System.IO.Path.Combine(dir.FullName, "Serverless.sln"))) return dir.FullName;
        return null;
    }
}
