using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Molly.Api.Model;

/// <summary>The shape shared by the API's ids: a fixed prefix and 20 characters of lowercase Crockford-style base32
/// (100 random bits). Parsing is strict: anything else is not an id.</summary>
internal static class IdFormat
{
    public const int BodyLength = 20;
    private const string Alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

    public static string New(string prefix)
    {
        Span<byte> random = stackalloc byte[BodyLength];
        RandomNumberGenerator.Fill(random);
        Span<char> chars = stackalloc char[prefix.Length + BodyLength];
        prefix.AsSpan().CopyTo(chars);
        for (var i = 0; i < BodyLength; i++) chars[prefix.Length + i] = Alphabet[random[i] & 31];
        return new string(chars);
    }

    public static bool IsValid(string? text, string prefix)
    {
        if (text is null || text.Length != prefix.Length + BodyLength || !text.StartsWith(prefix, StringComparison.Ordinal))
            return false;
        foreach (var c in text.AsSpan(prefix.Length))
            if (!Alphabet.Contains(c)) return false;
        return true;
    }
}

/// <summary>A merchant's id, e.g. <c>mch_0v4k9s2m8q1r7t3x5z6a</c>.</summary>
public readonly record struct MerchantId
{
    public const string Prefix = "mch_";

    private MerchantId(string value) => Value = value;

    public string Value { get; }

    public static MerchantId New() => new(IdFormat.New(Prefix));

    public static bool TryParse([NotNullWhen(true)] string? text, [MaybeNullWhen(false)] out MerchantId id)
    {
        id = IdFormat.IsValid(text, Prefix) ? new MerchantId(text!) : default;
        return id.Value is not null;
    }

    public override string ToString() => Value;
}

/// <summary>An API key's public id (sent in <c>Molly-Key-Id</c>), e.g. <c>key_8d3k...</c>. Not a secret.</summary>
public readonly record struct ApiKeyId
{
    public const string Prefix = "key_";

    private ApiKeyId(string value) => Value = value;

    public string Value { get; }

    public static ApiKeyId New() => new(IdFormat.New(Prefix));

    public static bool TryParse([NotNullWhen(true)] string? text, [MaybeNullWhen(false)] out ApiKeyId id)
    {
        id = IdFormat.IsValid(text, Prefix) ? new ApiKeyId(text!) : default;
        return id.Value is not null;
    }

    public override string ToString() => Value;
}

/// <summary>Who a credential belongs to: a merchant (<c>mch_...</c>) or a staff member / the built-in admin (<c>usr_...</c>).</summary>
public readonly record struct PrincipalId
{
    public const string UserPrefix = "usr_";

    private PrincipalId(string value) => Value = value;

    public string Value { get; }

    public static PrincipalId For(MerchantId merchant) => new(merchant.Value);

    public static PrincipalId NewUser() => new(IdFormat.New(UserPrefix));

    public static bool TryParse([NotNullWhen(true)] string? text, [MaybeNullWhen(false)] out PrincipalId id)
    {
        id = IdFormat.IsValid(text, MerchantId.Prefix) || IdFormat.IsValid(text, UserPrefix) ? new PrincipalId(text!) : default;
        return id.Value is not null;
    }

    public bool IsMerchant(out MerchantId merchant) => MerchantId.TryParse(Value, out merchant);

    public override string ToString() => Value;
}
