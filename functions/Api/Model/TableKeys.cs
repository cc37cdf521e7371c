using Molly.Storage;

namespace Molly.Api.Model;

/// <summary>Where the API's items live in the single table. Every key shape the API writes is built here.</summary>
public static class TableKeys
{
    /// <summary>A merchant's profile. GSI1: MERCHANTS / createdAt#id (list newest or oldest first).</summary>
    public static ItemKey Merchant(MerchantId id) => new("MERCHANT#" + id.Value, "PROFILE");

    /// <summary>The claim on a merchant name (names are unique, compared case-insensitively).</summary>
    public static ItemKey MerchantName(string normalizedName) => new("MERCHANTNAME#" + normalizedName, "MERCHANTNAME");

    /// <summary>An event of a merchant (the transactional outbox: written with the change it describes).</summary>
    public static ItemKey MerchantEvent(MerchantId id, long sequence, string type) =>
        new("MERCHANT#" + id.Value, $"EVENT#{sequence:D10}#{type}");

    public const string MerchantsIndexPartition = "MERCHANTS";

    /// <summary>A staff member or the built-in admin.</summary>
    public static ItemKey User(PrincipalId id) => new("USER#" + id.Value, "PROFILE");

    /// <summary>An API key. GSI1: PRINCIPAL#id / APIKEY#createdAt#keyId (a principal's keys).</summary>
    public static ItemKey ApiKey(ApiKeyId id) => new("APIKEY#" + id.Value, "APIKEY");

    public static string PrincipalKeysPartition(PrincipalId principal) => "PRINCIPAL#" + principal.Value;

    /// <summary>A signature seen once (replay protection); carries a <c>ttl</c> attribute (epoch seconds).</summary>
    public static ItemKey SeenSignature(ApiKeyId key, string signatureHex) => new($"SIG#{key.Value}#{signatureHex}", "SIG");

    /// <summary>The item read by the diagnostics probe (it need not exist: the read itself is the probe).</summary>
    public static ItemKey DiagnosticsProbe => new("DIAGNOSTICS", "PROBE");
}

/// <summary>Attribute names used by the API's items.</summary>
public static class Attr
{
    public const string Type = "type";
    public const string Name = "name";
    public const string ContactEmail = "contactEmail";
    public const string Status = "status";
    public const string CreatedAt = "createdAt";
    public const string MerchantId = "merchantId";
    public const string Principal = "principal";
    public const string Roles = "roles";
    public const string Secret = "secret";
    public const string SecretProtector = "secretProtector";
    public const string ExpiresAt = "expiresAt";
    public const string RevokedAt = "revokedAt";
    public const string ReplacedBy = "replacedBy";
    public const string Replaces = "replaces";
    public const string Payload = "payload";
    public const string Ttl = "ttl";
    public const string Version = "version";
}
