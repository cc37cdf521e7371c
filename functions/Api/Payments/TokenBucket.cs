using System.Threading.RateLimiting;

namespace Molly.Api.Payments;

/// <summary>
/// A token bucket that refills continuously from the injected <see cref="TimeProvider"/> (System.Threading.RateLimiting's
/// buckets read their own stopwatch, so tests could not drive them and timing made them flaky). No queue: a request
/// either takes a token now or is refused with the time until the next token as Retry-After.
/// </summary>
public sealed class TokenBucket : RateLimiter
{
    private const double Epsilon = 1e-9;
    private readonly TimeProvider _time;
    private readonly double _perSecond;
    private readonly int _burst;
    private readonly Lock _lock = new();
    private double _tokens;
    private DateTimeOffset _last;
    private DateTimeOffset? _idleSince;
    private long _successes;
    private long _failures;

    public TokenBucket(TimeProvider time, int permitsPerSecond, int burst)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(permitsPerSecond, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(burst, 1);
        _time = time;
        _perSecond = permitsPerSecond;
        _burst = burst;
        _tokens = burst;
        _last = time.GetUtcNow();
        _idleSince = _last;
    }

    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (_lock)
            {
                Refill();
                return _tokens >= _burst && _idleSince is { } since ? _time.GetUtcNow() - since : null;
            }
        }
    }

    public override RateLimiterStatistics? GetStatistics()
    {
        lock (_lock)
        {
            Refill();
            return new RateLimiterStatistics
            {
                CurrentAvailablePermits = (long)_tokens,
                CurrentQueuedCount = 0,
                TotalSuccessfulLeases = _successes,
                TotalFailedLeases = _failures,
            };
        }
    }

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(permitCount);
        if (permitCount > _burst) throw new ArgumentOutOfRangeException(nameof(permitCount), permitCount, $"At most {_burst} permits at once.");
        lock (_lock)
        {
            Refill();
            if (_tokens + Epsilon >= permitCount) // elapsed time x rate is a double: a whole token may come out as 0.999...
            {
                _tokens = Math.Max(0, _tokens - permitCount);
                _idleSince = null;
                _successes++;
                return Lease.Granted;
            }
            _failures++;
            return new Lease(TimeSpan.FromSeconds((permitCount - _tokens) / _perSecond));
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(permitCount));

    private void Refill()
    {
        var now = _time.GetUtcNow();
        if (now <= _last) return;
        _tokens = Math.Min(_burst, _tokens + (now - _last).TotalSeconds * _perSecond);
        _last = now;
        if (_tokens >= _burst) _idleSince ??= now;
    }

    private sealed class Lease(TimeSpan? retryAfter) : RateLimitLease
    {
        public static readonly Lease Granted = new(null);

        public override bool IsAcquired => retryAfter is null;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = retryAfter;
            return retryAfter is not null && metadataName == MetadataName.RetryAfter.Name;
        }
    }
}
