using System.Threading.RateLimiting;
using Molly.Api.Payments;
using Xunit;

namespace Molly.Api.Tests;

public sealed class TokenBucketTests
{
    [Fact]
    public void The_bucket_refills_from_the_injected_clock_and_says_when_the_next_token_comes()
    {
        var clock = new ManualClock(DateTimeOffset.Parse("2026-11-21T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        using var bucket = new TokenBucket(clock, permitsPerSecond: 4, burst: 2);

        Assert.True(bucket.AttemptAcquire().IsAcquired);
        Assert.True(bucket.AttemptAcquire().IsAcquired);
        using var refused = bucket.AttemptAcquire();
        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out var wait));
        Assert.Equal(TimeSpan.FromMilliseconds(250), wait);

        clock.Advance(TimeSpan.FromMilliseconds(249));
        Assert.False(bucket.AttemptAcquire().IsAcquired);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(bucket.AttemptAcquire().IsAcquired);

        clock.Advance(TimeSpan.FromHours(1)); // never more than the burst
        Assert.True(bucket.AttemptAcquire().IsAcquired);
        Assert.True(bucket.AttemptAcquire().IsAcquired);
        Assert.False(bucket.AttemptAcquire().IsAcquired);
        Assert.Equal(5, bucket.GetStatistics()!.TotalSuccessfulLeases);
        Assert.Equal(3, bucket.GetStatistics()!.TotalFailedLeases);
    }
}
