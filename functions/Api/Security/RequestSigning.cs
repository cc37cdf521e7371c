using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Molly.Api.Security;

/// <summary>
/// The request signing scheme shared by merchants and staff:
/// <c>Molly-Signature = hex(HMAC-SHA256(secret, timestamp + "\n" + METHOD + "\n" + path-and-query + "\n" + hex(SHA-256(body))))</c>
/// where the secret is the UTF-8 bytes of the key's secret string, the timestamp is the <c>Molly-Timestamp</c> header
/// (unix seconds), METHOD is upper case, path-and-query is the request target exactly as sent, and hex is lowercase.
/// <para>Signed headers (opt-in, backward compatible): a request with <c>Molly-Signed-Headers: idempotency-key</c> signs its
/// <c>Idempotency-Key</c> too, as one more line <c>"\n" + "idempotency-key:" + value</c> after the body hash, so the key cannot
/// be changed in transit. <c>idempotency-key</c> is the only header that can be named. Without <c>Molly-Signed-Headers</c> the
/// string is the original one (the key is then not covered); <c>Molly:Auth:RequireSignedIdempotencyKey</c> refuses that.</para>
/// </summary>
public static class RequestSigning
{
    public const string KeyIdHeader = "Molly-Key-Id";
    public const string TimestampHeader = "Molly-Timestamp";
    public const string SignatureHeader = "Molly-Signature";
    public const string SignedHeadersHeader = "Molly-Signed-Headers";
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>The one value <see cref="SignedHeadersHeader"/> accepts (header names are compared case-insensitively).</summary>
    public const string SignedIdempotencyKey = "idempotency-key";

    /// <summary>hex(SHA-256("")): the body hash of a request without a body.</summary>
    public static readonly string EmptyBodyHash = BodyHash([]);

    public static string BodyHash(ReadOnlySpan<byte> body) => Convert.ToHexStringLower(SHA256.HashData(body));

    /// <param name="idempotencyKey">The Idempotency-Key value when the request signs it (Molly-Signed-Headers: idempotency-key), else null.</param>
    public static string StringToSign(long timestamp, string method, string pathAndQuery, string bodyHash, string? idempotencyKey = null)
    {
        var text = string.Join('\n', timestamp.ToString(CultureInfo.InvariantCulture), method.ToUpperInvariant(), pathAndQuery, bodyHash);
        return idempotencyKey is null ? text : text + "\n" + SignedIdempotencyKey + ":" + idempotencyKey;
    }

    public static byte[] Sign(ReadOnlySpan<byte> secret, long timestamp, string method, string pathAndQuery, ReadOnlySpan<byte> body,
        string? idempotencyKey = null) =>
        HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(StringToSign(timestamp, method, pathAndQuery, BodyHash(body), idempotencyKey)));

    public static string SignHex(string secret, long timestamp, string method, string pathAndQuery, ReadOnlySpan<byte> body,
        string? idempotencyKey = null) =>
        Convert.ToHexStringLower(Sign(Encoding.UTF8.GetBytes(secret), timestamp, method, pathAndQuery, body, idempotencyKey));

    /// <summary>Parses a 64-character hex signature (either case) into its 32 bytes.</summary>
    public static bool TryParseSignature(string? hex, out byte[] signature)
    {
        signature = [];
        if (hex is null || hex.Length != 64) return false;
        try
        {
            signature = Convert.FromHexString(hex);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }
}
