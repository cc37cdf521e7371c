using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Molly.Webhooks;

/// <summary>
/// <c>Molly-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256(secret, t + "." + body)&gt;</c>; the HMAC key is the
/// secret string's UTF-8 bytes (including its <c>whsec_</c> prefix). During a rotation overlap there is one <c>v1=</c> per
/// valid secret, the newest first: a receiver accepts the request when any of them matches a secret it knows.
/// </summary>
public static class WebhookSignature
{
    public const string Header = "Molly-Signature";
    public const string EventIdHeader = "Molly-Event-Id";
    public const string DeliveryIdHeader = "Molly-Delivery-Id";
    public const string RedeliveryHeader = "Molly-Is-Redelivery";
    public const string SecretPrefix = "whsec_";

    public static string NewSecret()
    {
        var bytes = RandomNumberGenerator.GetBytes(32);
        var secret = SecretPrefix + System.Buffers.Text.Base64Url.EncodeToString(bytes);
        CryptographicOperations.ZeroMemory(bytes);
        return secret;
    }

    public static string ComputeHex(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));
    }

    /// <summary>The header value, signed with every secret given (newest first).</summary>
    public static string HeaderValue(IReadOnlyList<string> secrets, long timestamp, ReadOnlySpan<byte> body)
    {
        if (secrets.Count == 0) throw new ArgumentException("At least one secret signs.", nameof(secrets));
        var header = new StringBuilder("t=").Append(timestamp.ToString(CultureInfo.InvariantCulture));
        foreach (var secret in secrets) header.Append(",v1=").Append(ComputeHex(secret, timestamp, body));
        return header.ToString();
    }

    /// <summary>The receiver's check (what the README's snippet does): a well-formed header, a timestamp within
    /// <paramref name="tolerance"/> of <paramref name="now"/>, and one <c>v1</c> equal (constant time) to ours.</summary>
    public static bool Verify(string? header, ReadOnlySpan<byte> body, string secret, DateTimeOffset now, TimeSpan tolerance)
    {
        if (string.IsNullOrEmpty(header)) return false;
        long? timestamp = null;
        var candidates = new List<string>();
        foreach (var part in header.Split(','))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0) return false;
            var (key, value) = (part[..eq].Trim(), part[(eq + 1)..].Trim());
            if (key == "t" && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var t)) timestamp = t;
            else if (key == "v1") candidates.Add(value);
        }
        if (timestamp is not { } ts || Math.Abs(now.ToUnixTimeSeconds() - ts) > tolerance.TotalSeconds) return false;
        var expected = Encoding.ASCII.GetBytes(ComputeHex(secret, ts, body));
        return candidates.Any(c => CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(c)));
    }
}
