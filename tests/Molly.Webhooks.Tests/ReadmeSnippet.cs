// The README's C# verification snippet, verbatim (inside the class below), so the tests prove what merchants copy.
using System.Security.Cryptography;
using System.Text;

namespace Molly.Webhooks.Tests;

public static class MollyWebhook
{
    // header: the Molly-Signature value; body: the raw request body; secret: the endpoint's whsec_... secret.
    // Pass DateTimeOffset.UtcNow as now; reject what is older than the tolerance (e.g. 5 minutes) as a replay.
    public static bool Verify(string? header, byte[] body, string secret, DateTimeOffset now, TimeSpan tolerance)
    {
        string? t = null;
        var signatures = new List<string>();
        foreach (var part in (header ?? "").Split(','))
        {
            var kv = part.Split('=', 2);
            if (kv.Length != 2) return false;
            if (kv[0] == "t") t = kv[1];
            else if (kv[0] == "v1") signatures.Add(kv[1]);
        }
        if (!long.TryParse(t, out var ts) || Math.Abs(now.ToUnixTimeSeconds() - ts) > tolerance.TotalSeconds) return false;
        var signed = Encoding.UTF8.GetBytes(t + ".").Concat(body).ToArray();
        var expected = Encoding.ASCII.GetBytes(Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed)));
        return signatures.Any(s => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(s), expected));
    }
}
