using System.Text;

namespace Molly.Webhooks;

/// <summary>
/// Which outbox events merchants receive, and under which name. Generic: an outbox type <c>{Resource}{Action}V{n}</c> whose
/// resource is merchant-facing becomes <c>{resource}.{action in snake_case}</c> (PaymentCreatedV1 -> payment.created,
/// PaymentPaidLateV1 -> payment.paid_late, WithdrawalApprovedV1 -> withdrawal.approved). So the events other parts of the
/// gateway add later are delivered without a change here, provided their payload carries <c>merchantId</c>.
/// </summary>
public static class WebhookEvents
{
    /// <summary>Subscribes an endpoint to every event, including ones added later.</summary>
    public const string All = "*";

    private static readonly string[] Resources = ["Payment", "Withdrawal", "Refund"];

    /// <summary>The names an endpoint may subscribe to (besides <see cref="All"/> and <c>{resource}.*</c>).</summary>
    public static readonly IReadOnlySet<string> Known = new HashSet<string>(StringComparer.Ordinal)
    {
        "payment.created", "payment.detected", "payment.confirming", "payment.paid", "payment.underpaid", "payment.overpaid",
        "payment.paid_late", "payment.expired", "payment.needs_review",
        "withdrawal.requested", "withdrawal.approved", "withdrawal.rejected", "withdrawal.broadcast", "withdrawal.completed",
        "withdrawal.failed", "refund.created", "refund.completed", "refund.failed",
    };

    /// <summary>The webhook name of an outbox type, or null when merchants do not receive it.</summary>
    public static string? NameOf(string outboxType)
    {
        var type = outboxType.AsSpan();
        var v = type.LastIndexOf('V');
        if (v > 0 && v < type.Length - 1 && AllDigits(type[(v + 1)..])) type = type[..v];
        foreach (var resource in Resources)
        {
            if (!type.StartsWith(resource, StringComparison.Ordinal) || type.Length == resource.Length || !char.IsAsciiLetterUpper(type[resource.Length]))
                continue;
            var name = new StringBuilder(resource.ToLowerInvariant()).Append('.');
            var action = type[resource.Length..];
            for (var i = 0; i < action.Length; i++)
            {
                if (!char.IsAsciiLetterOrDigit(action[i])) return null;
                if (char.IsAsciiLetterUpper(action[i]) && i > 0) name.Append('_');
                name.Append(char.ToLowerInvariant(action[i]));
            }
            return name.ToString();
        }
        return null;
    }

    /// <summary>Whether a subscription entry (a name, <c>payment.*</c> or <c>*</c>) is acceptable.</summary>
    public static bool IsValidSubscription(string entry) =>
        entry == All || Known.Contains(entry)
        || (entry.EndsWith(".*", StringComparison.Ordinal) && Resources.Any(r => entry == r.ToLowerInvariant() + ".*"));

    public static bool Matches(IEnumerable<string> subscriptions, string eventName) => subscriptions.Any(s =>
        s == All || s == eventName
        || (s.EndsWith(".*", StringComparison.Ordinal) && eventName.StartsWith(s[..^1], StringComparison.Ordinal)));

    private static bool AllDigits(ReadOnlySpan<char> s)
    {
        foreach (var c in s) if (!char.IsAsciiDigit(c)) return false;
        return true;
    }
}
