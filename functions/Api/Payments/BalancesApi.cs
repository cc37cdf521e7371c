using System.Globalization;
using System.Numerics;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Molly.Api.Model;
using Molly.Domain;
using Molly.Ledger;
using Molly.Settlement;

namespace Molly.Api.Payments;

/// <summary>
/// The calling merchant's ledger balances, one entry per asset it has ledger accounts in. <see cref="Consistent"/>: every
/// figure is of one instant of the ledger (see README "Balances"); false only when writes kept landing through every re-read,
/// and then each account is exact as of its own read.
/// </summary>
public sealed record BalancesResponse(IReadOnlyList<AssetBalances> Balances, bool Consistent, DateTimeOffset ReadAt);

/// <summary>One asset: <see cref="Available"/> (merchant_available: credited payments, net of fees), <see cref="Pending"/>
/// (merchant_pending) and <see cref="Reserved"/> (merchant_reserved). An account the merchant does not have yet reads as zeros.</summary>
public sealed record AssetBalances(string Asset, string Chain, string Network, int Decimals,
    AccountBalance Available, AccountBalance Pending, AccountBalance Reserved);

/// <summary>An account's posted and pending credits and debits, and what it can still pay out:
/// <see cref="Available"/> = creditsPosted - debitsPosted - debitsPending.</summary>
public sealed record AccountBalance(Money CreditsPosted, Money DebitsPosted, Money CreditsPending, Money DebitsPending, Money Available);

/// <summary>An amount as a decimal string in the asset's units (<see cref="Amount"/>, e.g. "12.5") and in base units
/// (<see cref="BaseUnits"/>, e.g. "12500000"); both strings, never JSON numbers.</summary>
public sealed record Money(string Amount, string BaseUnits);

public static class BalancesApi
{
    private static readonly AccountKind[] MerchantKinds = [AccountKind.MerchantAvailable, AccountKind.MerchantPending, AccountKind.MerchantReserved];

    public static IEndpointRouteBuilder MapBalancesApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/balances", Get).RequireAuthorization(Policies.Merchant).RequireRateLimiting(PaymentsSetup.MerchantRateLimit)
            .WithTags("Balances").WithName("GetBalances")
            .WithSummary("The calling merchant's ledger balances per asset (available, pending, reserved), read as one state; ?asset=USDT@ethereum for one asset.")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        return app;
    }

    private static async Task<Results<Ok<BalancesResponse>, ValidationProblem>> Get(
        string? asset, ClaimsPrincipal user, Ledger.Ledger ledger, AssetRegistry assets, TimeProvider clock, CancellationToken ct)
    {
        // Ledger accounts name an asset "USDT-ethereum" (DepositConfirmTasks.LedgerAsset); merchants name it "USDT@ethereum".
        var byLedgerName = assets.Assets.ToDictionary(DepositConfirmTasks.LedgerAsset, StringComparer.Ordinal);
        string? wanted = null;
        if (asset is not null)
        {
            var found = assets.Assets.FirstOrDefault(a => a.Id == asset);
            if (found is null)
                return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                {
                    ["asset"] = [$"Unknown asset '{(asset.Length <= 64 ? asset : asset[..64] + "...")}'; an asset id such as USDT@ethereum. Known: {string.Join(", ", assets.Assets.Select(a => a.Id).Order(StringComparer.Ordinal))}."],
                });
            wanted = DepositConfirmTasks.LedgerAsset(found);
        }

        var accounts = (await ledger.ListAccountsAsync(user.Identity!.Name!, ct))
            .Where(a => MerchantKinds.Contains(a.Id.Kind) && byLedgerName.ContainsKey(a.Id.Asset) && (wanted is null || a.Id.Asset == wanted))
            .ToList();
        var snapshot = await ledger.GetBalancesAsync(accounts, ct);
        var readAt = clock.GetUtcNow();

        var balances = snapshot.Balances.GroupBy(b => b.Account.Asset, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                var a = byLedgerName[g.Key];
                AccountBalance Of(AccountKind kind) => View(g.FirstOrDefault(b => b.Account.Kind == kind), a.Decimals);
                return new AssetBalances(a.Symbol, a.Chain, a.Network, a.Decimals,
                    Of(AccountKind.MerchantAvailable), Of(AccountKind.MerchantPending), Of(AccountKind.MerchantReserved));
            }).ToList();
        return TypedResults.Ok(new BalancesResponse(balances, snapshot.Consistent, readAt));
    }

    private static AccountBalance View(Balance? b, int decimals) => b is null
        ? new AccountBalance(M(0, decimals), M(0, decimals), M(0, decimals), M(0, decimals), M(0, decimals))
        : new AccountBalance(M(b.CreditsPosted, decimals), M(b.DebitsPosted, decimals), M(b.CreditsPending, decimals),
            M(b.DebitsPending, decimals), M(b.AvailableCredit, decimals));

    private static Money M(BigInteger baseUnits, int decimals) =>
        new(Amount.Format(baseUnits, decimals), baseUnits.ToString(CultureInfo.InvariantCulture));
}
