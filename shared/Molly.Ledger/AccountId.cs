using System.Diagnostics.CodeAnalysis;

namespace Molly.Ledger;

/// <summary>What an account stands for. The wire/storage name is the snake_case form (<see cref="AccountKinds.Name"/>).</summary>
public enum AccountKind
{
    MerchantAvailable,
    MerchantPending,
    MerchantReserved,
    HotWallet,
    WarmWallet,
    DepositsInFlight,
    FeeRevenue,
    ChainClearing,
    EquitySuspense,
}

/// <summary>Balance limits, as TigerBeetle's account flags. Checked against posted plus pending amounts.</summary>
[Flags]
public enum AccountFlags
{
    None = 0,

    /// <summary>debits_pending + debits_posted must stay &lt;= credits_posted (a credit-normal account cannot go overdrawn).</summary>
    DebitsMustNotExceedCredits = 1,

    /// <summary>credits_pending + credits_posted must stay &lt;= debits_posted (a debit-normal account cannot go below zero).</summary>
    CreditsMustNotExceedDebits = 2,
}

public static class AccountKinds
{
    private static readonly (AccountKind Kind, string Name)[] Names =
    [
        (AccountKind.MerchantAvailable, "merchant_available"),
        (AccountKind.MerchantPending, "merchant_pending"),
        (AccountKind.MerchantReserved, "merchant_reserved"),
        (AccountKind.HotWallet, "hot_wallet"),
        (AccountKind.WarmWallet, "warm_wallet"),
        (AccountKind.DepositsInFlight, "deposits_in_flight"),
        (AccountKind.FeeRevenue, "fee_revenue"),
        (AccountKind.ChainClearing, "chain_clearing"),
        (AccountKind.EquitySuspense, "equity_suspense"),
    ];

    public static string Name(this AccountKind kind) =>
        Array.Find(Names, n => n.Kind == kind).Name ?? throw new ArgumentOutOfRangeException(nameof(kind));

    public static bool TryParse(string? text, out AccountKind kind)
    {
        foreach (var (k, n) in Names)
        {
            if (string.Equals(n, text, StringComparison.Ordinal))
            {
                kind = k;
                return true;
            }
        }
        kind = default;
        return false;
    }

    /// <summary>
    /// Default limits per kind. Liabilities and income (what we owe merchants, what we earned) are credit-normal and must
    /// never be debited below zero; wallets are debit-normal assets and must never be credited (spent) below zero.
    /// Clearing and suspense accounts move both ways by design and carry no limit.
    /// </summary>
    public static AccountFlags DefaultFlags(this AccountKind kind) => kind switch
    {
        AccountKind.MerchantAvailable or AccountKind.MerchantPending or AccountKind.MerchantReserved or AccountKind.FeeRevenue
            => AccountFlags.DebitsMustNotExceedCredits,
        AccountKind.HotWallet or AccountKind.WarmWallet => AccountFlags.CreditsMustNotExceedDebits,
        _ => AccountFlags.None,
    };
}

/// <summary>
/// An account: one per owner, asset and kind. Text form <c>owner/asset/kind</c>, e.g. <c>m_42/USDT-TRON/merchant_available</c>.
/// Owner and asset are 1..64 characters of letters, digits, '_', '-' and '.'.
/// </summary>
public readonly record struct AccountId
{
    public const string PlatformOwner = "molly";

    private AccountId(string owner, string asset, AccountKind kind)
    {
        Owner = owner;
        Asset = asset;
        Kind = kind;
    }

    public string Owner { get; }

    public string Asset { get; }

    public AccountKind Kind { get; }

    public static AccountId Create(string owner, string asset, AccountKind kind)
    {
        if (!IsSegment(owner)) throw new ArgumentException($"Account owner '{owner}' is not 1..64 letters, digits, '_', '-' or '.'.", nameof(owner));
        if (!IsSegment(asset)) throw new ArgumentException($"Asset '{asset}' is not 1..64 letters, digits, '_', '-' or '.'.", nameof(asset));
        if (!Enum.IsDefined(kind)) throw new ArgumentOutOfRangeException(nameof(kind));
        return new AccountId(owner, asset, kind);
    }

    public static AccountId Platform(string asset, AccountKind kind) => Create(PlatformOwner, asset, kind);

    public static bool TryParse(string? text, [MaybeNullWhen(false)] out AccountId id)
    {
        id = default;
        if (text is null) return false;
        var parts = text.Split('/');
        if (parts.Length != 3 || !IsSegment(parts[0]) || !IsSegment(parts[1]) || !AccountKinds.TryParse(parts[2], out var kind))
            return false;
        id = new AccountId(parts[0], parts[1], kind);
        return true;
    }

    public static AccountId Parse(string text) =>
        TryParse(text, out var id) ? id : throw new FormatException($"'{text}' is not an account id (owner/asset/kind).");

    public override string ToString() => Owner is null ? "" : $"{Owner}/{Asset}/{Kind.Name()}";

    internal static bool IsSegment(string? s)
    {
        if (string.IsNullOrEmpty(s) || s.Length > 64) return false;
        foreach (var c in s)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.')) return false;
        return true;
    }
}

/// <summary>
/// A transfer id: the idempotency key of a transfer, post or void. 1..128 characters of letters, digits and <c>_ - . :</c>.
/// </summary>
public readonly record struct TransferId
{
    private TransferId(string value) => Value = value;

    public string Value { get; }

    public static bool TryParse(string? text, [MaybeNullWhen(false)] out TransferId id)
    {
        id = default;
        if (string.IsNullOrEmpty(text) || text.Length > 128) return false;
        foreach (var c in text)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.' or ':')) return false;
        id = new TransferId(text);
        return true;
    }

    public static TransferId Parse(string text) =>
        TryParse(text, out var id) ? id : throw new FormatException($"'{text}' is not a transfer id (1..128 of letters, digits, _ - . :).");

    public override string ToString() => Value ?? "";

    /// <summary>A stable 32-bit hash (FNV-1a over the UTF-8 bytes); used to spread items over shards, never for security.</summary>
    internal uint StableHash()
    {
        var h = 2166136261u;
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(Value))
        {
            h ^= b;
            h *= 16777619u;
        }
        return h;
    }
}
