using System.Globalization;
using System.Numerics;
using Molly.Storage;

namespace Molly.Settlement;

/// <summary>
/// A detected deposit as the chain watcher stores it: PK <c>dep#{depositId}</c> (depositId = <c>{chain}#{txHash}#{index}</c>),
/// SK <c>deposit</c>; <see cref="Version"/> guards every change (optimistic concurrency).
/// </summary>
public sealed record Deposit(
    string DepositId,
    string PaymentId,
    string MerchantId,
    string Chain,
    string Network,
    string Asset,
    BigInteger Amount,
    string Address,
    string TxHash,
    string Index,
    ulong BlockNumber,
    string BlockHash,
    string Status,
    DateTimeOffset DetectedAt,
    long Version,
    Item Item)
{
    /// <summary>When the payer paid: the block's time when the watcher recorded it, else when the deposit was detected.
    /// Lateness is judged by this, as the watcher's detection does.</summary>
    public DateTimeOffset SeenAt => Item.GetString("blockTime") is { } t
        ? DateTimeOffset.Parse(t, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind)
        : DetectedAt;

    public const string Prefix = DepositKeys.Prefix;
    public const string SortKey = DepositKeys.Item;

    public static ItemKey Key(string depositId) => DepositKeys.Deposit(depositId);

    /// <summary>The log index for ERC-20 Transfer deposits; null for native transfers (their index is the watcher's own marker).</summary>
    public int? LogIndex => int.TryParse(Index, NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : null;

    /// <summary>The optimistic-concurrency guard of a change to this deposit: it is still as read.</summary>
    public Condition Unchanged => Condition.And(Condition.AttributeEquals("status", Status), Condition.VersionEquals(Version));

    /// <summary>Reads a deposit item; a malformed one is a permanent failure (retrying will not fix it).</summary>
    public static Deposit Read(string depositId, Item item)
    {
        try
        {
            var blockNumber = item.RequireNumber("blockNumber");
            if (blockNumber.Sign < 0 || blockNumber > ulong.MaxValue) throw new FormatException("blockNumber is out of range.");
            var amount = item.RequireNumber("amount");
            if (amount.Sign <= 0) throw new FormatException("amount is not positive.");
            return new Deposit(
                depositId,
                item.RequireString("paymentId"),
                item.RequireString("merchantId"),
                item.RequireString("chain"),
                item.RequireString("network"),
                item.RequireString("asset"),
                amount,
                item.RequireString("address"),
                item.RequireString("txHash").ToLowerInvariant(),
                item.RequireString("index"),
                (ulong)blockNumber,
                item.RequireString("blockHash").ToLowerInvariant(),
                item.RequireString("status"),
                DateTimeOffset.Parse(item.RequireString("detectedAt"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
                item.GetInt64("version") ?? 0,
                item);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException)
        {
            throw new PermanentTaskException($"Deposit {depositId} is malformed: {e.Message}", e);
        }
    }
}
