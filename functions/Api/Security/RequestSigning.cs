using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Molly.Api.Security;

/// <summary>
/// The request signing scheme shared by merchants and staff:
/// <c>Molly-Signature = hex(HMAC-SHA256(secret, timestamp + "\n" + METHOD + "\n" + path-and-query + "\n" + hex(SHA-256(body))))</c>
/// where the secret is the UTF-8 bytes of the key's secret string, the timestamp is the <c>Molly-Timestamp</c> header
/// (unix seconds), METHOD is upper case, path-and-query is the request target exactly as sent, and hex is lowercase.
/// </summary>
public static class RequestSigning
{
    public const string KeyIdHeader = "Molly-Key-Id";
    public const string TimestampHeader = "Molly-Timestamp";
    public const string SignatureHeader = "Molly-Signature";

    /// <summary>hex(SHA-256("")): the body hash of a request without a body.</summary>
    public static readonly string EmptyBodyHash = BodyHash([]);

    public static string BodyHash(ReadOnlySpan<byte> body) => Convert.ToHexStringLower(SHA256.HashData(body));

    public static string StringToSign(long timestamp, string method, string pathAndQuery, string bodyHash) =>
        string.Join('\n', timestamp.ToString(CultureInfo.InvariantCulture), method.ToUpperInvariant(), pathAndQuery, bodyHash);

    public static byte[] Sign(ReadOnlySpan<byte> secret, long timestamp, string method, string pathAndQuery, ReadOnlySpan<byte> body) =>
        HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes(StringToSign(timestamp, method, pathAndQuery, BodyHash(body))));

    public static string SignHex(string secret, long timestamp, string method, string pathAndQuery, ReadOnlySpan<byte> body) =>
        Convert.ToHexStringLower(Sign(Encoding.UTF8.GetBytes(secret), timestamp, method, pathAndQuery, body));

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
