global using Xunit;
using System.Numerics;
using Molly.Storage;
using Molly.Testing;

namespace Molly.Ledger.Tests;

/// <summary>A clock the tests move by hand (Microsoft.Extensions.TimeProvider.Testing is not on this feed).</summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>Creates a fresh, empty store per call and disposes what it created.</summary>
public interface IStoreFactory : IAsyncDisposable
{
    Task<IItemStore> CreateAsync();

    /// <summary>The ledger options for this store.</summary>
    LedgerOptions Options => new();
}

public sealed class SqliteStoreFactory : IStoreFactory
{
    private readonly TempSqliteStores _stores = new("molly-ledger-");

    public Task<IItemStore> CreateAsync() => _stores.CreateAsync();

    public ValueTask DisposeAsync() => _stores.DisposeAsync();
}

public sealed class DynamoDbLocalStoreFactory : IStoreFactory
{
    /// <summary>DynamoDB Local 1.11.478 still has the old limit of 10 items per transaction: coalesced groups stay within it.</summary>
    public LedgerOptions Options => new() { CoalesceMaxItems = 10 };

    public async Task<IItemStore> CreateAsync() => await DynamoDbLocal.Shared.CreateStoreAsync();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>The chart of accounts the tests use: two assets, a sharded merchant and a sharded fee account.</summary>
public static class Chart
{
    public static readonly string[] Assets = ["USDT", "ETH"];

    public static AccountId Merchant(string asset) => AccountId.Create("m1", asset, AccountKind.MerchantAvailable);
    public static AccountId Merchant2(string asset) => AccountId.Create("m2", asset, AccountKind.MerchantAvailable);
    public static AccountId Fees(string asset) => AccountId.Platform(asset, AccountKind.FeeRevenue);
    public static AccountId Hot(string asset) => AccountId.Platform(asset, AccountKind.HotWallet);
    public static AccountId InFlight(string asset) => AccountId.Platform(asset, AccountKind.DepositsInFlight);
    public static AccountId Suspense(string asset) => AccountId.Platform(asset, AccountKind.EquitySuspense);

    public static IEnumerable<AccountId> All(string asset) => [Merchant(asset), Merchant2(asset), Fees(asset), Hot(asset), InFlight(asset), Suspense(asset)];

    public static async Task CreateAsync(Ledger ledger)
    {
        foreach (var asset in Assets)
        {
            Assert.Equal(AccountResult.Ok, await ledger.CreateAccountAsync(Merchant(asset), shards: 4));
            Assert.Equal(AccountResult.Ok, await ledger.CreateAccountAsync(Merchant2(asset)));
            Assert.Equal(AccountResult.Ok, await ledger.CreateAccountAsync(Fees(asset), shards: 2));
            Assert.Equal(AccountResult.Ok, await ledger.CreateAccountAsync(Hot(asset)));
            Assert.Equal(AccountResult.Ok, await ledger.CreateAccountAsync(InFlight(asset)));
            Assert.Equal(AccountResult.Ok, await ledger.CreateAccountAsync(Suspense(asset)));
        }
    }

    /// <summary>Double entry: per asset, posted and pending debits equal credits; and no account breaks its limit.</summary>
    public static async Task<Dictionary<AccountId, Balance>> AssertInvariantsAsync(Ledger ledger)
    {
        var all = new Dictionary<AccountId, Balance>();
        foreach (var asset in Assets)
        {
            BigInteger posted = 0, pending = 0;
            foreach (var id in All(asset))
            {
                var account = (await ledger.GetAccountAsync(id))!;
                var b = (await ledger.GetBalanceAsync(id))!;
                all[id] = b;
                posted += b.DebitsPosted - b.CreditsPosted;
                pending += b.DebitsPending - b.CreditsPending;
                Assert.True(b.DebitsPending >= 0 && b.CreditsPending >= 0, $"{id} has negative pending amounts");
                if (account.Flags.HasFlag(AccountFlags.DebitsMustNotExceedCredits))
                    Assert.True(b.DebitsPosted + b.DebitsPending <= b.CreditsPosted, $"{id} overdrawn: {b}");
                if (account.Flags.HasFlag(AccountFlags.CreditsMustNotExceedDebits))
                    Assert.True(b.CreditsPosted + b.CreditsPending <= b.DebitsPosted, $"{id} over-credited: {b}");
            }
            Assert.Equal(BigInteger.Zero, posted);
            Assert.Equal(BigInteger.Zero, pending);
        }
        return all;
    }
}
