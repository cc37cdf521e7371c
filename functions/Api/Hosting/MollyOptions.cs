using System.ComponentModel.DataAnnotations;

namespace Molly.Api.Hosting;

/// <summary>Where the process runs: <see cref="Local"/> (one machine, embedded defaults, in-process workers) or
/// <see cref="Aws"/> (behind the Lambda Web Adapter; workers are separate functions).</summary>
public enum RuntimeMode { Local, Aws }

public enum StoreKind { Sqlite, DynamoDb }

/// <summary>The <c>Molly</c> configuration section. Validated at start-up: a bad value stops the process.</summary>
public sealed class MollyOptions
{
    public const string Section = "Molly";

    public RuntimeMode Mode { get; set; } = RuntimeMode.Local;

    /// <summary>Folder for the SQLite file, the master key and the admin credential. Relative paths are resolved
    /// against the repository root (the folder holding Serverless.sln) when there is one, else the working directory.</summary>
    public string DataDir { get; set; } = ".data";

    [Required]
    public StoreOptions Store { get; set; } = new();

    [Required]
    public AuthOptions Auth { get; set; } = new();

    /// <summary>Mode Aws: the KMS key that protects API key secrets and webhook signing secrets (<c>Molly:Secrets:KmsKeyId</c>).</summary>
    [Required]
    public Molly.Secrets.Kms.KmsSecretsOptions Secrets { get; set; } = new();

    /// <summary>Largest request body accepted; larger gets 413.</summary>
    [Range(1024, 10 * 1024 * 1024)]
    public int MaxRequestBodyBytes { get; set; } = 64 * 1024;
}

public sealed class StoreOptions
{
    public StoreKind Kind { get; set; } = StoreKind.Sqlite;

    /// <summary>DynamoDB table name (required for <see cref="StoreKind.DynamoDb"/>).</summary>
    public string? TableName { get; set; }

    /// <summary>DynamoDB endpoint override (DynamoDB Local in tests); null on AWS.</summary>
    public string? ServiceUrl { get; set; }

    public string? Region { get; set; }

    /// <summary>SQLite file name inside the data dir.</summary>
    public string SqliteFile { get; set; } = "molly.db";

    /// <summary>SQLite: index moves applied in bulk once this many are pending (see SqliteItemStoreOptions).</summary>
    public int SqliteIndexFlushEntries { get; set; } = 4096;

    /// <summary>SQLite: pending index moves applied with the first write this long after the oldest.</summary>
    public TimeSpan SqliteIndexFlushInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>SQLite: how often a background connection checkpoints the WAL (zero: the writer alone, as SQLite's default).</summary>
    public TimeSpan SqliteCheckpointInterval { get; set; } = TimeSpan.FromMilliseconds(250);
}

public sealed class AuthOptions
{
    /// <summary>How far a request's <c>Molly-Timestamp</c> may be from the server clock.</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a rotated key stays valid next to its replacement.</summary>
    public TimeSpan RotationOverlap { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Refuse (401 <c>unsigned_idempotency_key</c>) a request whose Idempotency-Key header its signature does not cover
    /// (no <c>Molly-Signed-Headers: idempotency-key</c>). Off by default so clients of the original scheme keep working.</summary>
    public bool RequireSignedIdempotencyKey { get; set; }

    /// <summary>Generate the first admin credential into the data dir on first start (local mode).</summary>
    public bool BootstrapAdminCredential { get; set; } = true;
}
