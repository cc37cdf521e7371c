using System.Numerics;
using Molly.Storage;
using static Molly.Ledger.LedgerItems;

namespace Molly.Ledger;

/// <summary>Balances read together: <see cref="Consistent"/> when they are one state of the ledger (see
/// <see cref="Ledger.GetBalancesAsync"/>), in the order of the accounts asked for.</summary>
public sealed record BalanceSnapshot(IReadOnlyList<Balance> Balances, bool Consistent);

public sealed partial class Ledger
{
    /// <summary>Most collects of <see cref="GetBalancesAsync"/> before it gives up on two agreeing ones.</summary>
    public const int MaxBalanceCollects = 4;

    /// <summary>
    /// The accounts of <paramref name="owner"/> (a merchant id, or <see cref="AccountId.PlatformOwner"/>), by asset then kind,
    /// from the owner index (GSI1 <c>ledger#owner#{owner}</c>): a query, never a scan. On DynamoDB the index is eventually
    /// consistent, so an account created a moment ago may be missing for that moment (it has no balance yet then).
    /// </summary>
    public async Task<IReadOnlyList<Account>> ListAccountsAsync(string owner, CancellationToken ct = default)
    {
        if (!AccountId.IsSegment(owner)) throw new ArgumentException($"Account owner '{owner}' is not 1..64 letters, digits, '_', '-' or '.'.", nameof(owner));
        var accounts = new List<Account>();
        string? cursor = null;
        do
        {
            var page = await _store.QueryAsync(new Query(OwnerPartition(owner)) { Index = "GSI1", Limit = 100, Cursor = cursor }, ct)
                .ConfigureAwait(false);
            foreach (var item in page.Items)
            {
                var account = ReadAccount(item);
                _accounts.TryAdd(account.Id, account);
                accounts.Add(account);
            }
            cursor = page.Cursor;
        } while (cursor is not null);
        return accounts;
    }

    /// <summary>The account's balances, summed over its shards (see <see cref="GetBalancesAsync"/> for what the read guarantees).</summary>
    public async Task<Balance?> GetBalanceAsync(AccountId id, CancellationToken ct = default)
    {
        var account = await GetAccountAsync(id, ct).ConfigureAwait(false);
        if (account is null) return null;
        return (await GetBalancesAsync([account], ct).ConfigureAwait(false)).Balances[0];
    }

    /// <summary>
    /// The balances of <paramref name="accounts"/> as one state of the ledger. Every balance shard is read strongly
    /// consistently; one shard alone is an atomic snapshot. Several shards (several accounts, or a sharded account) are
    /// read all at once, then all again ("double collect"), and summed only when the two reads agree shard for shard: then no
    /// write touched any of them between the end of the first read and the start of the second, and the figures held
    /// together at that instant. So a transfer between two of these accounts is seen on both sides or on neither, and a
    /// consolidation (which moves room between the shards of an account) is never counted twice. Writes keep coming:
    /// after <see cref="MaxBalanceCollects"/> reads without two agreeing ones the last read is returned with
    /// <see cref="BalanceSnapshot.Consistent"/> false (each shard exact, not one instant). One blind spot: writes between
    /// the two reads that leave every shard exactly as it was (a reservation made and voided in between) go unseen, and
    /// nothing is lost by that. Reads do not expire pending transfers (the expiry sweep does).
    /// </summary>
    public async Task<BalanceSnapshot> GetBalancesAsync(IReadOnlyList<Account> accounts, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(accounts);
        if (accounts.Count == 0) return new BalanceSnapshot([], true);
        var single = accounts.Count == 1 && accounts[0].Shards == 1;
        Item[][]? previous = null;
        for (var collect = 1; ; collect++)
        {
            var current = await Task.WhenAll(accounts.Select(a => ReadShardsAsync(a, ct))).ConfigureAwait(false);
            var agreed = single || (previous is not null && SameBalances(previous, current));
            if (agreed || collect >= MaxBalanceCollects)
                return new BalanceSnapshot(accounts.Select((a, i) => Sum(a.Id, current[i])).ToList(), agreed);
            previous = current;
        }
    }

    private static readonly string[] BalanceAttributes = [Dpe, Dpo, Cpe, Cpo];

    private static bool SameBalances(Item[][] a, Item[][] b)
    {
        for (var i = 0; i < a.Length; i++)
            for (var s = 0; s < a[i].Length; s++)
                foreach (var attr in BalanceAttributes)
                    if (a[i][s].RequireNumber(attr) != b[i][s].RequireNumber(attr)) return false;
        return true;
    }

    private static Balance Sum(AccountId id, Item[] shards)
    {
        BigInteger dpe = 0, dpo = 0, cpe = 0, cpo = 0;
        foreach (var s in shards)
        {
            dpe += s.RequireNumber(Dpe);
            dpo += s.RequireNumber(Dpo);
            cpe += s.RequireNumber(Cpe);
            cpo += s.RequireNumber(Cpo);
        }
        return new Balance(id, dpe, dpo, cpe, cpo);
    }
}
