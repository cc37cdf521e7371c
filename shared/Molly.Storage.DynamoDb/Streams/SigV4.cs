using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Molly.Storage.DynamoDb.Streams;

/// <summary>
/// AWS Signature Version 4 for a request with no query string (the JSON protocols: POST /). Signs every header given plus
/// host and x-amz-date; proven by the AWS SigV4 test suite's post-vanilla case.
/// </summary>
public static class SigV4
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>The credentials to sign with; <see cref="SessionToken"/> is sent as x-amz-security-token when present.</summary>
    public sealed record Credentials(string AccessKeyId, string SecretAccessKey, string? SessionToken)
    {
        public override string ToString() => $"Credentials({AccessKeyId}, secret hidden)";
    }

    /// <summary>
    /// Returns the headers to send (the given ones plus x-amz-date, x-amz-security-token and Authorization).
    /// Header names are lower-cased; <paramref name="host"/> is signed but not returned (the HTTP stack sends it).
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> Sign(
        string method, string path, string host, IEnumerable<KeyValuePair<string, string>> headers, ReadOnlySpan<byte> body,
        string region, string service, Credentials credentials, DateTimeOffset now)
    {
        var amzDate = now.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var date = amzDate[..8];
        var signed = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in headers) signed[name.ToLowerInvariant()] = value.Trim();
        signed["host"] = host;
        signed["x-amz-date"] = amzDate;
        if (!string.IsNullOrEmpty(credentials.SessionToken)) signed["x-amz-security-token"] = credentials.SessionToken;

        var signedHeaders = string.Join(';', signed.Keys);
        var canonical = new StringBuilder()
            .Append(method).Append('\n')
            .Append(path).Append('\n')
            .Append('\n'); // no query string
        foreach (var (name, value) in signed) canonical.Append(name).Append(':').Append(value).Append('\n');
        canonical.Append('\n').Append(signedHeaders).Append('\n').Append(Hex(SHA256.HashData(body)));

        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = $"{Algorithm}\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())))}";

        var key = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + credentials.SecretAccessKey), Encoding.UTF8.GetBytes(date));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(region));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(service));
        key = HMACSHA256.HashData(key, "aws4_request"u8);
        var signature = Hex(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));

        var result = signed.Where(h => h.Key != "host").ToList();
        result.Add(new("authorization", $"{Algorithm} Credential={credentials.AccessKeyId}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}"));
        return result;
    }

    private static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);
}
