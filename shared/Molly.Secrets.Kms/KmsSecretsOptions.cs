namespace Molly.Secrets.Kms;

/// <summary>The <c>Molly:Secrets</c> section (Mode Aws). <see cref="Validate"/> runs at start-up; a bad value stops the process.</summary>
public sealed class KmsSecretsOptions
{
    public const string Section = "Secrets";

    /// <summary>Id or ARN of the symmetric KMS key that wraps the data keys (the stack sets <c>Molly__Secrets__KmsKeyId</c>).</summary>
    public string? KmsKeyId { get; set; }

    /// <summary>A data key seals at most this many secrets before a new one is generated.</summary>
    public int DataKeyMaxUses { get; set; } = 10_000;

    /// <summary>A data key seals secrets for at most this long before a new one is generated.</summary>
    public TimeSpan DataKeyMaxAge { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How many decrypted data keys are kept in memory (least recently used goes first).</summary>
    public int CacheCapacity { get; set; } = 256;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(KmsKeyId))
            errors.Add("Molly:Secrets:KmsKeyId is required in Molly:Mode Aws (the envelope KMS key id or ARN; env Molly__Secrets__KmsKeyId).");
        if (DataKeyMaxUses < 1) errors.Add("Molly:Secrets:DataKeyMaxUses must be at least 1.");
        if (DataKeyMaxAge <= TimeSpan.Zero || DataKeyMaxAge > TimeSpan.FromDays(1))
            errors.Add("Molly:Secrets:DataKeyMaxAge must be between 0 and 1 day.");
        if (CacheCapacity < 1 || CacheCapacity > 100_000) errors.Add("Molly:Secrets:CacheCapacity must be between 1 and 100000.");
        return errors;
    }
}
