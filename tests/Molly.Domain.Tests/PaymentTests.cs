using System.Numerics;
using Molly.Domain.Payments;

namespace Molly.Domain.Tests;

public class PaymentTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    private static Payment New(int toleranceBps = 0) => new(1_000_000, T0, T0.AddMinutes(15), toleranceBps);

    [Theory]
    [InlineData(1_000_000, 0, PaymentStatus.Paid)]
    [InlineData(999_999, 0, PaymentStatus.Underpaid)]
    [InlineData(1_000_001, 0, PaymentStatus.Overpaid)]
    [InlineData(990_000, 100, PaymentStatus.Paid)]       // 1% tolerance accepts exactly 1% less
    [InlineData(989_999, 100, PaymentStatus.Underpaid)]
    public void Settles_by_the_confirmed_amount(long confirmed, int toleranceBps, PaymentStatus expected)
    {
        var p = New(toleranceBps);
        p.Detect(confirmed, T0.AddMinutes(1));
        p.BeginConfirming();
        Assert.Equal(expected, p.Settle(confirmed));
        Assert.True(p.IsFinal);
        Assert.Equal(3, p.StatusVersion);
    }

    [Fact]
    public void A_deposit_after_expiry_ends_paid_late()
    {
        var p = New();
        p.Expire(T0.AddMinutes(15));
        Assert.Equal(PaymentStatus.Expired, p.Status);
        p.Detect(1_000_000, T0.AddMinutes(20));
        Assert.True(p.Late);
        p.BeginConfirming();
        Assert.Equal(PaymentStatus.PaidLate, p.Settle(1_000_000));
    }

    [Fact]
    public void A_late_deposit_that_falls_short_is_underpaid_not_paid_late()
    {
        var p = New();
        p.Detect(10, T0.AddHours(1));
        p.BeginConfirming();
        Assert.Equal(PaymentStatus.Underpaid, p.Settle(10));
    }

    [Fact]
    public void An_orphaned_deposit_undoes_the_detection()
    {
        var p = New();
        p.Detect(1_000_000, T0.AddMinutes(1));
        p.BeginConfirming();
        p.Orphan(T0.AddMinutes(2));
        Assert.Equal(PaymentStatus.Created, p.Status);
        Assert.Equal(BigInteger.Zero, p.Received);

        p.Detect(1_000_000, T0.AddMinutes(3));
        p.Orphan(T0.AddMinutes(16));
        Assert.Equal(PaymentStatus.Expired, p.Status);
    }

    [Fact]
    public void Forbidden_transitions_are_domain_errors_and_change_nothing()
    {
        var p = New();
        var e = Assert.Throws<PaymentStateException>(() => p.Settle(1));
        Assert.Contains("Cannot Settle a payment that is Created", e.Message);
        Assert.Throws<PaymentStateException>(() => p.BeginConfirming());
        Assert.Throws<PaymentStateException>(() => p.Expire(T0.AddMinutes(1)));
        Assert.Equal(PaymentStatus.Created, p.Status);
        Assert.Equal(0, p.StatusVersion);

        p.Detect(1_000_000, T0);
        p.BeginConfirming();
        p.Settle(1_000_000);
        Assert.Throws<PaymentStateException>(() => p.Detect(5, T0));
        Assert.Throws<PaymentStateException>(() => p.Orphan(T0));
        Assert.Equal(PaymentStatus.Paid, p.Status);
    }

    [Fact]
    public void Rejects_nonsense_at_construction()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new Payment(0, T0, T0.AddMinutes(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Payment(1, T0, T0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Payment(1, T0, T0.AddMinutes(1), 10_001));
        Assert.Throws<ArgumentOutOfRangeException>(() => New().Detect(0, T0));
    }

    [Theory]
    [InlineData(600_000, 400_000, 0, PaymentStatus.Paid)]       // underpaid, topped up to the amount in time
    [InlineData(600_000, 500_000, 0, PaymentStatus.Overpaid)]
    [InlineData(600_000, 100_000, 0, PaymentStatus.Underpaid)]  // still short: stays underpaid, version still moves
    [InlineData(600_000, 400_000, 30, PaymentStatus.PaidLate)]  // the top-up that completes it came after expiry
    public void A_top_up_of_an_underpaid_payment_ends_it_by_the_total(long first, long second, int topUpMinute, PaymentStatus expected)
    {
        var p = New();
        p.Detect(first, T0.AddMinutes(1));
        p.BeginConfirming();
        Assert.Equal(PaymentStatus.Underpaid, p.Settle(first));
        var version = p.StatusVersion;
        Assert.Equal(expected, p.TopUp(first + second, T0.AddMinutes(topUpMinute)));
        Assert.Equal(new BigInteger(first + second), p.Received);
        Assert.Equal(version + 1, p.StatusVersion);
    }

    [Fact]
    public void A_top_up_of_a_paid_payment_makes_it_overpaid_and_a_top_up_needs_an_ended_payment()
    {
        var p = New();
        var e = Assert.Throws<PaymentStateException>(() => p.TopUp(5, T0));
        Assert.Contains("Cannot TopUp a payment that is Created", e.Message);
        p.Detect(1_000_000, T0);
        Assert.Throws<PaymentStateException>(() => p.TopUp(5, T0));
        p.BeginConfirming();
        Assert.Throws<PaymentStateException>(() => p.TopUp(5, T0));
        Assert.Equal(PaymentStatus.Paid, p.Settle(1_000_000));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.TopUp(1_000_000, T0));
        Assert.Equal(PaymentStatus.Overpaid, p.TopUp(1_000_001, T0.AddMinutes(1)));
        Assert.Equal(PaymentStatus.Overpaid, p.Status);
    }
}
