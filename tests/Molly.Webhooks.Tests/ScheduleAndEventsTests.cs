using Xunit;

namespace Molly.Webhooks.Tests;

public sealed class ScheduleAndEventsTests
{
    [Theory]
    [InlineData("PaymentCreatedV1", "payment.created")]
    [InlineData("PaymentDetectedV1", "payment.detected")]
    [InlineData("PaymentPaidV1", "payment.paid")]
    [InlineData("PaymentUnderpaidV1", "payment.underpaid")]
    [InlineData("PaymentOverpaidV1", "payment.overpaid")]
    [InlineData("PaymentPaidLateV1", "payment.paid_late")]
    [InlineData("PaymentExpiredV1", "payment.expired")]
    [InlineData("PaymentNeedsReviewV1", "payment.needs_review")]
    [InlineData("PaymentPaidV2", "payment.paid")]
    [InlineData("WithdrawalApprovedV1", "withdrawal.approved")]
    public void Outbox_types_map_to_webhook_names(string type, string name)
    {
        Assert.Equal(name, WebhookEvents.NameOf(type));
        Assert.True(WebhookEvents.IsValidSubscription(name));
    }

    [Theory]
    [InlineData("MerchantCreatedV1")]
    [InlineData("TransferPostedV1")]
    [InlineData("Payment")]
    [InlineData("Paymentcreated")]
    [InlineData("")]
    public void Internal_events_are_not_delivered(string type) => Assert.Null(WebhookEvents.NameOf(type));

    [Fact]
    public void Subscriptions_match_by_name_by_resource_and_by_star()
    {
        Assert.True(WebhookEvents.Matches(["payment.*"], "payment.paid_late"));
        Assert.False(WebhookEvents.Matches(["payment.*"], "withdrawal.approved"));
        Assert.True(WebhookEvents.Matches(["*"], "withdrawal.approved"));
        Assert.False(WebhookEvents.Matches(["payment.paid"], "payment.paid_late"));
        Assert.False(WebhookEvents.IsValidSubscription("payment.payed"));
        Assert.False(WebhookEvents.IsValidSubscription("merchant.*"));
    }

    [Fact]
    public void Every_retry_is_within_its_jitter_ceiling_and_never_after_the_horizon()
    {
        var options = new WebhookOptions();
        var schedule = new RetrySchedule(options, new Random(1));
        var created = new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero);
        for (var run = 0; run < 200; run++)
        {
            var now = created;
            var attempts = 0;
            while (schedule.Next(++attempts, created, now, null) is { } next)
            {
                var delay = next - now;
                Assert.InRange(delay, TimeSpan.Zero, schedule.Ceiling(attempts));
                Assert.True(delay >= TimeSpan.FromSeconds(1) || next == created + options.RetryHorizon);
                Assert.True(next <= created + options.RetryHorizon);
                now = next;
            }
            Assert.Equal(created + options.RetryHorizon, now);
            Assert.InRange(attempts, 15, 80);
        }
        Assert.Equal(TimeSpan.FromSeconds(10), schedule.Ceiling(1));
        Assert.Equal(TimeSpan.FromSeconds(80), schedule.Ceiling(4));
        Assert.Equal(TimeSpan.FromHours(6), schedule.Ceiling(20));
    }

    [Fact]
    public void Retry_after_is_honoured_and_clamped()
    {
        var options = new WebhookOptions();
        var schedule = new RetrySchedule(options, new Random(1));
        var t = new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero);
        Assert.Equal(t + TimeSpan.FromSeconds(90), schedule.Next(1, t, t, TimeSpan.FromSeconds(90)));
        Assert.Equal(t + TimeSpan.FromSeconds(1), schedule.Next(1, t, t, TimeSpan.FromSeconds(-5)));
        Assert.Equal(t + options.MaxRetryDelay, schedule.Next(1, t, t, TimeSpan.FromDays(2)));
        Assert.Equal(t + options.RetryHorizon, schedule.Next(3, t, t + options.RetryHorizon - TimeSpan.FromMinutes(1), TimeSpan.FromHours(1)));
        Assert.Null(schedule.Next(3, t, t + options.RetryHorizon, null));
    }

    [Fact]
    public void Options_that_cannot_work_fail_validation()
    {
        Assert.Empty(new WebhookOptions().Validate());
        Assert.NotEmpty(new WebhookOptions { LeaseDuration = TimeSpan.FromSeconds(15) }.Validate()); // < 2 x Timeout
        Assert.NotEmpty(new WebhookOptions { Timeout = TimeSpan.FromMinutes(1) }.Validate());
        Assert.NotEmpty(new WebhookOptions { MaxConcurrency = 0 }.Validate());
        Assert.NotEmpty(new WebhookOptions { RetryHorizon = TimeSpan.FromHours(1) }.Validate());
        Assert.NotEmpty(new WebhookOptions { SecretRotationOverlap = TimeSpan.FromDays(8) }.Validate());
    }
}
