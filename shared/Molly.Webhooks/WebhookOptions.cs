namespace Molly.Webhooks;

/// <summary>The <c>Molly:Webhooks</c> section. <see cref="Validate"/> runs at start-up; a bad value stops the process.</summary>
public sealed class WebhookOptions
{
    public const string Section = "Molly:Webhooks";

    /// <summary>How long one POST may take, connect to last byte (BTCPay and Coinbase use 10 s too).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a claimed delivery belongs to one dispatcher. A dispatcher that dies mid-send loses its lease and
    /// the delivery is sent again when it runs out (at least once). Must exceed <see cref="Timeout"/> with room to record.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Deliveries sent at the same time by one dispatcher.</summary>
    public int MaxConcurrency { get; set; } = 64;

    /// <summary>Due deliveries taken per index shard and pass.</summary>
    public int BatchSize { get; set; } = 256;

    /// <summary>Pause of the local dispatcher loop when nothing is due (a new event wakes it at once).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Ceiling of the first retry's full-jitter delay; doubles per attempt up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(6);

    /// <summary>How long a delivery is retried from its creation; the last try is at exactly this age, then it is dead.</summary>
    public TimeSpan RetryHorizon { get; set; } = TimeSpan.FromDays(3);

    /// <summary>Default and longest time a rotated-out signing secret keeps signing beside the new one.</summary>
    public TimeSpan SecretRotationOverlap { get; set; } = TimeSpan.FromHours(24);
    public TimeSpan MaxSecretRotationOverlap { get; set; } = TimeSpan.FromDays(7);

    public int MaxEndpointsPerMerchant { get; set; } = 16;

    /// <summary>Local development only: allow <c>http://127.0.0.1:port</c> endpoints (and the 127.0.0.1 address, nothing
    /// else of loopback). Off by default; refused when the process runs in AWS mode.</summary>
    public bool AllowHttpLoopback { get; set; }

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Timeout < TimeSpan.FromMilliseconds(100) || Timeout > TimeSpan.FromSeconds(30))
            errors.Add("Molly:Webhooks:Timeout must be 100 ms to 30 s.");
        if (LeaseDuration < Timeout + Timeout || LeaseDuration > TimeSpan.FromHours(1))
            errors.Add("Molly:Webhooks:LeaseDuration must be at least twice the Timeout and at most 1 hour.");
        if (MaxConcurrency is < 1 or > 1024) errors.Add("Molly:Webhooks:MaxConcurrency must be 1 to 1024.");
        if (BatchSize is < 1 or > 1000) errors.Add("Molly:Webhooks:BatchSize must be 1 to 1000.");
        if (PollInterval <= TimeSpan.Zero || PollInterval > TimeSpan.FromMinutes(1))
            errors.Add("Molly:Webhooks:PollInterval must be more than 0 and at most 1 minute.");
        if (InitialRetryDelay < TimeSpan.FromSeconds(1) || InitialRetryDelay > MaxRetryDelay)
            errors.Add("Molly:Webhooks:InitialRetryDelay must be at least 1 s and at most MaxRetryDelay.");
        if (MaxRetryDelay > TimeSpan.FromDays(1)) errors.Add("Molly:Webhooks:MaxRetryDelay must be at most 1 day.");
        if (RetryHorizon < MaxRetryDelay || RetryHorizon > TimeSpan.FromDays(30))
            errors.Add("Molly:Webhooks:RetryHorizon must be at least MaxRetryDelay and at most 30 days.");
        if (SecretRotationOverlap < TimeSpan.Zero || SecretRotationOverlap > MaxSecretRotationOverlap)
            errors.Add("Molly:Webhooks:SecretRotationOverlap must be 0 to MaxSecretRotationOverlap.");
        if (MaxEndpointsPerMerchant is < 1 or > 100) errors.Add("Molly:Webhooks:MaxEndpointsPerMerchant must be 1 to 100.");
        return errors;
    }
}
