using System.Globalization;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Molly.Storage;

namespace Molly.Ledger;

/// <summary>
/// The ledger's keys in the single table.
/// <list type="table">
/// <item><c>ledger#acct#{account}</c> / <c>meta</c>: the account (immutable); GSI1 <c>ledger#owner#{owner}</c> / <c>{asset}#{kind}</c>.</item>
/// <item><c>ledger#acct#{account}</c> / <c>bal#000</c> and <c>ledger#acct#{account}#{n}</c> / <c>bal#{n:000}</c> for n &gt; 0 (a
///   partition key per shard): one balance shard: dpe, dpo, cpe, cpo and the derived limits
///   <c>dnet</c> = cpo - dpo - dpe and <c>cnet</c> = dpo - cpo - cpe, kept in the same update so a condition can test them.</item>
/// <item><c>ledger#xfer#{id}</c> / <c>xfer</c>: a transfer, post or void. GSI2 <c>ledger#hist#{debit}#{shard}</c> and GSI3
///   <c>ledger#hist#{credit}#{shard}</c>, both sorted by <c>{ticks:D19}#{id}</c>: the account history. An open pending transfer
///   is also in GSI1 <c>ledger#expiry#{partition}</c> / <c>{expiresTicks:D19}#{id}</c> (a sparse index: removed on resolution).</item>
/// <item>The transfer item is also the ledger's outbox record: its <c>event</c> attribute names the event (see
///   <see cref="LedgerEvents"/>), so the change feed carries every event in the transaction that made it, with no second item.</item>
/// </list>
/// </summary>
internal static class LedgerItems
{
    public const string AccountPrefix = "ledger#acct#";
    public const string TransferPrefix = "ledger#xfer#";
    public const string HistoryPrefix = "ledger#hist#";
    public const string ExpiryPrefix = "ledger#expiry#";

    public static ItemKey AccountKey(AccountId id) => new(AccountPrefix + id, "meta");

    /// <summary>Shard 0 lives beside the account item; shard n &gt; 0 has a partition key of its own (<c>...#n</c>), so on
    /// DynamoDB the shards of a hot account hash to different partitions and each gets its own ~1,000 writes/s.</summary>
    public static ItemKey ShardKey(AccountId id, int shard) => new(
        shard == 0 ? AccountPrefix + id : AccountPrefix + id + "#" + shard.ToString(CultureInfo.InvariantCulture),
        "bal#" + shard.ToString("D3", CultureInfo.InvariantCulture));

    public static ItemKey TransferKey(TransferId id) => new(TransferPrefix + id.Value, "xfer");

    public static string OwnerPartition(string owner) => "ledger#owner#" + owner;

    public static string HistoryPartition(AccountId id, int shard) => HistoryPrefix + id + "#" + shard.ToString(CultureInfo.InvariantCulture);

    public static string ExpiryPartition(int partition) => ExpiryPrefix + partition.ToString(CultureInfo.InvariantCulture);

    public static string SortKey(long ticks, TransferId id) => ticks.ToString("D19", CultureInfo.InvariantCulture) + "#" + id.Value;

    // Balance attribute names.
    public const string Dpe = "dpe", Dpo = "dpo", Cpe = "cpe", Cpo = "cpo", Dnet = "dnet", Cnet = "cnet";

    public static Item NewAccount(Account a)
    {
        var item = new Item(AccountKey(a.Id))
        {
            { "type", "ledger_account" },
            { "owner", a.Id.Owner },
            { "asset", a.Id.Asset },
            { "kind", a.Id.Kind.Name() },
            { "flags", (long)a.Flags },
            { "shards", a.Shards },
            { "ts", a.CreatedAt.UtcTicks },
            { "GSI1PK", OwnerPartition(a.Id.Owner) },
            { "GSI1SK", a.Id.Asset + "#" + a.Id.Kind.Name() },
        };
        return item;
    }

    public static Item NewShard(AccountId id, int shard)
    {
        var item = new Item(ShardKey(id, shard)) { { "type", "ledger_balance" }, { "asset", id.Asset } };
        foreach (var n in (string[])[Dpe, Dpo, Cpe, Cpo, Dnet, Cnet]) item[n] = BigInteger.Zero;
        return item;
    }

    public static Account ReadAccount(Item item) => new(
        AccountId.Parse(item.PK[AccountPrefix.Length..]),
        (AccountFlags)item.GetInt64("flags")!.Value,
        (int)item.GetInt64("shards")!.Value,
        new DateTimeOffset(item.GetInt64("ts")!.Value, TimeSpan.Zero));

    // Event names (the outbox contract) and the attributes that carry them on the transfer item.
    public const string Event = "event", EventAt = "evts";
    public const string TransferCreated = "LedgerTransferCreatedV1", PendingPosted = "LedgerPendingPostedV1",
        PendingVoided = "LedgerPendingVoidedV1", PendingExpired = "LedgerPendingExpiredV1";

    public static Item WriteTransfer(Transfer t)
    {
        var ticks = t.Timestamp.UtcTicks;
        var item = new Item(TransferKey(t.Id))
        {
            { "type", "ledger_transfer" },
            { Event, t.Kind switch { TransferKind.PostPending => PendingPosted, TransferKind.VoidPending => PendingVoided, _ => TransferCreated } },
            { "kind", t.Kind.ToString() },
            { "dr", t.Debit.ToString() },
            { "cr", t.Credit.ToString() },
            { "amt", t.Amount },
            { "asset", t.Asset },
            { "code", (long)t.Code },
            { "ts", ticks },
            { "dsh", t.DebitShard },
            { "csh", t.CreditShard },
            { "GSI2PK", HistoryPartition(t.Debit, t.DebitShard) },
            { "GSI2SK", SortKey(ticks, t.Id) },
            { "GSI3PK", HistoryPartition(t.Credit, t.CreditShard) },
            { "GSI3SK", SortKey(ticks, t.Id) },
        };
        if (t.UserData is not null) item["ud"] = t.UserData;
        if (t.PendingId is { } pid) item["pid"] = pid.Value;
        if (t.Timeout is { } to) item["timeout"] = to.Ticks;
        if (t.ExpiresAt is { } exp) item["exp"] = exp.UtcTicks;
        if (t.State != PendingState.None) item["state"] = t.State.ToString();
        if (t.RequestedAmount is { } ramt) item["ramt"] = ramt;
        return item;
    }

    public static Transfer ReadTransfer(Item item) => new(
        TransferId.Parse(item.PK[TransferPrefix.Length..]),
        Enum.Parse<TransferKind>(item.RequireString("kind")),
        AccountId.Parse(item.RequireString("dr")),
        AccountId.Parse(item.RequireString("cr")),
        item.RequireNumber("amt"),
        item.RequireString("asset"),
        (ushort)item.GetInt64("code")!.Value,
        item.GetString("ud"),
        new DateTimeOffset(item.GetInt64("ts")!.Value, TimeSpan.Zero),
        item.GetString("pid") is { } pid ? TransferId.Parse(pid) : null,
        item.GetInt64("timeout") is { } to ? TimeSpan.FromTicks(to) : null,
        item.GetInt64("exp") is { } exp ? new DateTimeOffset(exp, TimeSpan.Zero) : null,
        item.GetString("state") is { } st ? Enum.Parse<PendingState>(st) : PendingState.None,
        item.GetNumber("ramt"),
        (int)item.GetInt64("dsh")!.Value,
        (int)item.GetInt64("csh")!.Value);
}

/// <summary>The outbox event of a ledger change: <c>LedgerTransferCreatedV1</c>, <c>LedgerPendingPostedV1</c>,
/// <c>LedgerPendingVoidedV1</c> or <c>LedgerPendingExpiredV1</c>. Amounts are decimal strings of base units.
/// Read from the change feed with <see cref="LedgerEvents.FromChange"/>; <see cref="LedgerJson"/> serializes it.</summary>
public sealed record LedgerEventV1(
    string Type,
    string TransferId,
    string Kind,
    string Debit,
    string Credit,
    string Amount,
    string Asset,
    ushort Code,
    string? UserData,
    string? PendingId,
    DateTimeOffset At);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(LedgerEventV1))]
public sealed partial class LedgerJson : JsonSerializerContext;

/// <summary>
/// The ledger's outbox is its transfer items: a transfer, post or void is inserted with its <c>event</c> attribute
/// (created / posted / voided) in the transaction that moves the balances, and an expiry rewrites the pending transfer's
/// <c>event</c> to expired in the transaction that releases it. So every event is exactly one change in the store's change
/// feed (SQLite change log, DynamoDB Streams), atomic with the ledger write, and costs no item of its own.
/// Resolving a pending transfer also modifies it (state), but leaves its <c>event</c> alone: that change is not an event.
/// </summary>
public static class LedgerEvents
{
    /// <summary>The event a change carries, or null if it is not a ledger event (another item, or a state-only change).</summary>
    public static LedgerEventV1? FromChange(Change change)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (!change.Key.PK.StartsWith(LedgerItems.TransferPrefix, StringComparison.Ordinal) || change.NewImage is not { } item) return null;
        var type = item.GetString(LedgerItems.Event);
        if (type is null || type == change.OldImage?.GetString(LedgerItems.Event)) return null;
        var t = LedgerItems.ReadTransfer(item);
        var at = item.GetInt64(LedgerItems.EventAt) is { } ticks ? new DateTimeOffset(ticks, TimeSpan.Zero) : t.Timestamp;
        return new LedgerEventV1(type, t.Id.Value, t.Kind.ToString(), t.Debit.ToString(), t.Credit.ToString(),
            t.Amount.ToString(CultureInfo.InvariantCulture), t.Asset, t.Code, t.UserData, t.PendingId?.Value, at);
    }
}
