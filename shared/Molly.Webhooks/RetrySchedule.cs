namespace Molly.Webhooks;

/// <summary>
/// When a failed delivery is tried again: exponential backoff with FULL jitter (the next try is uniformly random between
/// 1 s and min(MaxRetryDelay, InitialRetryDelay x 2^(n-1)) after the n-th failure), a <c>Retry-After</c> from the receiver
/// honoured (clamped to 1 s .. MaxRetryDelay), and no try later than RetryHorizon after the delivery was created: the
/// schedule ends with one try at exactly that age, after which the delivery is dead.
/// With the defaults (10 s, 6 h, 3 days) the expected tries are 5 s, 10 s, 20 s ... apart, seven within the first 10
/// minutes, never more than 6 h apart, about 35 over three days, the last at 72 h.
/// </summary>
public sealed class RetrySchedule(WebhookOptions options, Random random)
{
    /// <summary>The next try after <paramref name="failedAttempts"/> failures, or null when the delivery is dead.</summary>
    public DateTimeOffset? Next(int failedAttempts, DateTimeOffset createdAt, DateTimeOffset now, TimeSpan? retryAfter)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failedAttempts, 1);
        var deadline = createdAt + options.RetryHorizon;
        if (now >= deadline) return null;
        TimeSpan delay;
        if (retryAfter is { } wanted)
        {
            delay = wanted < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : wanted > options.MaxRetryDelay ? options.MaxRetryDelay : wanted;
        }
        else
        {
            var ceiling = Ceiling(failedAttempts);
            double fraction;
            lock (random) fraction = random.NextDouble();
            delay = TimeSpan.FromSeconds(Math.Max(1, ceiling.TotalSeconds * fraction));
        }
        var next = now + delay;
        return next > deadline ? deadline : next;
    }

    /// <summary>The upper bound of the jittered delay after the n-th failure.</summary>
    public TimeSpan Ceiling(int failedAttempts)
    {
        var exponent = Math.Min(failedAttempts - 1, 30);
        var seconds = options.InitialRetryDelay.TotalSeconds * Math.Pow(2, exponent);
        return seconds >= options.MaxRetryDelay.TotalSeconds ? options.MaxRetryDelay : TimeSpan.FromSeconds(seconds);
    }
}
