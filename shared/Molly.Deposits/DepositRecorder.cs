using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Molly.Domain.Payments;
using Molly.Payments;
using Molly.Storage;

namespace Molly.Deposits;

public enum RecordOutcome
{
    /// <summary>A new deposit: the payment moved to confirming and PaymentDetectedV1 was written.</summary>
    Recorded,
    /// <summary>A new deposit the gateway does not settle by itself (status needs_review, PaymentNeedsReviewV1).</summary>
    NeedsReview,
    /// <summary>This deposit was recorded before (a replay after a crash or a restart): nothing written.</summary>
    AlreadyRecorded,
    /// <summary>No payment behind the address (or another network's): nothing written.</summary>
    Ignored,
}

/// <summary>
/// Writes detected deposits and undoes them when their block is orphaned. Each write is ONE store transaction: the deposit
/// item (created only if absent, so a replay writes nothing), the payment's transition through the <see cref="Payment"/>
/// aggregate (guarded by the payment's version), and an outbox item. A crash before the commit leaves nothing; after it,
/// a replay finds the deposit and stops.
/// <para>Deposit ids are <c>{chain}#{txHash}#{index}</c> (index: the log index, or <c>n{transactionIndex}</c> for a native
/// transfer). When a transaction comes back in another block after a reorg and its id is taken by the orphaned record, the
/// new record gets <c>~1</c>, <c>~2</c>... appended: an id is never reused, so each deposit starts its own confirm workflow.</para>
/// </summary>
public sealed class DepositRecorder(IItemStore store, string chain, string network, TimeProvider clock, ILogger log)
{
    private const int MaxAttempts = 8;
    private const int MaxRevisions = 16;

    public async Task<RecordOutcome> RecordAsync(DepositCandidate c, CancellationToken ct)
    {
        var watch = await store.GetAsync(Keys.WatchedAddress(chain, c.To.ToString()), ct).ConfigureAwait(false);
        if (watch?.GetString("paymentId") is not { } paymentId)
        {
            log.LogInformation("Transfer {TxHash}/{Index} to {Address} on {Chain}: no payment behind the address; ignored",
                c.TxHash, c.Index, c.To.ToString(), chain);
            return RecordOutcome.Ignored;
        }
        if (c.Amount > Storage.AttributeValue.MaxNumber)
        {
            log.LogError("Transfer {TxHash}/{Index} to payment {PaymentId}: amount has more than 38 digits; not recorded", c.TxHash, c.Index, paymentId);
            return RecordOutcome.Ignored;
        }

        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var depositId = await ChooseIdAsync(c, ct).ConfigureAwait(false);
            if (depositId is null) return RecordOutcome.AlreadyRecorded;
            var payment = await store.GetAsync(Keys.Payment(paymentId), ct).ConfigureAwait(false);
            if (payment is null || payment.GetString("network") != network)
            {
                log.LogWarning("Transfer {TxHash}/{Index}: payment {PaymentId} is missing or on another network; ignored", c.TxHash, c.Index, paymentId);
                return RecordOutcome.Ignored;
            }

            var now = clock.GetUtcNow();
            var merchantId = payment.RequireString("merchantId");
            var p = PaymentRecords.Restore(payment);
            string? reason = null;
            if (payment.GetString("symbol") != c.Asset.Symbol)
                reason = $"{c.Asset.Symbol} was sent to the address of a {payment.GetString("symbol")} payment.";
            else if (p.Status is PaymentStatus.Created or PaymentStatus.Expired)
            {
                p.Detect(c.Amount, c.BlockTime);
                p.BeginConfirming(); // the deposit is already in a block: it waits for its confirmations from here
            }
            else
                reason = $"The payment is already {PaymentService.StatusName(p.Status)}; a further deposit is not settled automatically.";

            var deposit = DepositItem(c, depositId, paymentId, merchantId, reason is null ? DepositStatus.Detected : DepositStatus.NeedsReview, now);
            if (reason is not null) deposit["reason"] = reason;
            else deposit["late"] = p.Late;
            var ops = new List<TransactOp> { TransactOp.Put(deposit, Condition.ItemAbsent) };
            var eventId = NewEventId(now);
            if (reason is null)
            {
                ops.Add(PaymentRecords.TransitionUpdate(payment, p, now, u => u.Set("detectedBy", depositId)));
                ops.Add(Outbox(eventId, nameof(PaymentDetectedV1), JsonSerializer.Serialize(new PaymentDetectedV1(
                    eventId, paymentId, merchantId, depositId, PaymentService.StatusName(p.Status), p.StatusVersion,
                    Amount(c), c.Asset.Id, chain, network, c.To.ToString(), c.TxHash, c.BlockNumber, p.Late, now),
                    DepositsJsonContext.Default.PaymentDetectedV1), now));
            }
            else
            {
                ops.Add(Outbox(eventId, nameof(PaymentNeedsReviewV1), JsonSerializer.Serialize(new PaymentNeedsReviewV1(
                    eventId, paymentId, merchantId, depositId, reason, Amount(c), c.Asset.Id, c.TxHash, now),
                    DepositsJsonContext.Default.PaymentNeedsReviewV1), now));
            }

            try
            {
                await store.TransactWriteAsync(ops, ct).ConfigureAwait(false);
            }
            catch (ConditionFailedException e) when (e.OperationIndex == 0)
            {
                continue; // recorded meanwhile: the next attempt finds it and answers AlreadyRecorded
            }
            catch (ConditionFailedException e) when (e.OperationIndex == 1 && reason is null)
            {
                continue; // the payment moved meanwhile: decide again on its new state
            }
            if (reason is null)
                log.LogInformation("Deposit {DepositId}: {Amount} {Asset} to payment {PaymentId} in block {BlockNumber}; payment {Status}",
                    depositId, Amount(c), c.Asset.Id, paymentId, c.BlockNumber, PaymentService.StatusName(p.Status));
            else
                log.LogWarning("Deposit {DepositId} to payment {PaymentId} needs review: {Reason}", depositId, paymentId, reason);
            return reason is null ? RecordOutcome.Recorded : RecordOutcome.NeedsReview;
        }
        throw new StoreUnavailableException($"Deposit {c.TxHash}/{c.Index} could not be written after {MaxAttempts} attempts (payment {paymentId} kept changing).");
    }

    /// <summary>The deposits recorded at a block height (a reorg looks them up by height; never a scan).</summary>
    public async Task<List<Item>> AtHeightAsync(ulong blockNumber, CancellationToken ct)
    {
        var items = new List<Item>();
        string? cursor = null;
        do
        {
            var page = await store.QueryAsync(new Query(DepositKeys.AtHeight(chain, network, blockNumber))
            {
                Index = "GSI1", Limit = 100, Cursor = cursor,
            }, ct).ConfigureAwait(false);
            items.AddRange(page.Items);
            cursor = page.Cursor;
        } while (cursor is not null);
        return items;
    }

    /// <summary>
    /// The deposit's block left the canonical chain. A detected (or confirmed, not yet credited) deposit becomes orphaned and,
    /// if it is what moved its payment, the payment goes back to created (or expired) with a DepositOrphanedV1 event; a credited
    /// one goes to needs_review (money was credited on a block that no longer exists). Idempotent: an orphaned deposit is left alone.
    /// </summary>
    public async Task<bool> OrphanAsync(ItemKey depositKey, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var deposit = await store.GetAsync(depositKey, ct).ConfigureAwait(false);
            var status = deposit?.GetString("status");
            if (deposit is null || status is DepositStatus.Orphaned or DepositStatus.NeedsReview) return false;

            var now = clock.GetUtcNow();
            var depositId = deposit.RequireString("depositId");
            var paymentId = deposit.RequireString("paymentId");
            var merchantId = deposit.RequireString("merchantId");
            var version = deposit.GetInt64("version") ?? 0;
            var eventId = NewEventId(now);
            var ops = new List<TransactOp>();
            if (status == DepositStatus.Credited)
            {
                const string reason = "The deposit's block was orphaned after the payment was credited.";
                ops.Add(TransactOp.Update(depositKey, new Update().Set("status", DepositStatus.NeedsReview).Set("reason", reason)
                    .Set("version", version + 1), Condition.VersionEquals(version)));
                ops.Add(Outbox(eventId, nameof(PaymentNeedsReviewV1), JsonSerializer.Serialize(new PaymentNeedsReviewV1(
                    eventId, paymentId, merchantId, depositId, reason, deposit.RequireNumber("amount").ToString(CultureInfo.InvariantCulture),
                    deposit.RequireString("asset"), deposit.RequireString("txHash"), now), DepositsJsonContext.Default.PaymentNeedsReviewV1), now));
                log.LogError("Deposit {DepositId} was credited but its block {BlockHash} is orphaned: needs review",
                    depositId, deposit.RequireString("blockHash"));
            }
            else
            {
                ops.Add(TransactOp.Update(depositKey, new Update().Set("status", DepositStatus.Orphaned).Set("orphanedAt", Iso(now))
                    .Set("version", version + 1), Condition.VersionEquals(version)));
                var payment = await store.GetAsync(Keys.Payment(paymentId), ct).ConfigureAwait(false);
                var paymentStatus = payment?.GetString("status") ?? "";
                var statusVersion = payment?.GetInt64("statusVersion") ?? 0;
                if (payment is not null && payment.GetString("detectedBy") == depositId)
                {
                    var p = PaymentRecords.Restore(payment);
                    if (p.Status is PaymentStatus.Detected or PaymentStatus.Confirming)
                    {
                        p.Orphan(now);
                        ops.Add(PaymentRecords.TransitionUpdate(payment, p, now, u => u.Remove("detectedBy")));
                        paymentStatus = PaymentService.StatusName(p.Status);
                        statusVersion = p.StatusVersion;
                    }
                }
                ops.Add(Outbox(eventId, nameof(DepositOrphanedV1), JsonSerializer.Serialize(new DepositOrphanedV1(
                    eventId, paymentId, merchantId, depositId, paymentStatus, statusVersion, deposit.RequireString("txHash"),
                    (ulong)deposit.RequireNumber("blockNumber"), deposit.RequireString("blockHash"), now),
                    DepositsJsonContext.Default.DepositOrphanedV1), now));
                log.LogWarning("Deposit {DepositId} orphaned (block {BlockHash} left the chain); payment {PaymentId} is {Status}",
                    depositId, deposit.RequireString("blockHash"), paymentId, paymentStatus);
            }
            try
            {
                await store.TransactWriteAsync(ops, ct).ConfigureAwait(false);
                return true;
            }
            catch (ConditionFailedException)
            {
                // The deposit or the payment moved (the confirm workflow works on them too): decide again.
            }
        }
        throw new StoreUnavailableException($"Deposit {depositKey} could not be orphaned after {MaxAttempts} attempts.");
    }

    /// <summary>The id for this sighting: the first of id, id~1, id~2... that is free, or null when a live record of the same
    /// block already holds one. A live record of the same transfer in another block is orphaned first (a transaction is in
    /// one canonical block at most).</summary>
    private async Task<string?> ChooseIdAsync(DepositCandidate c, CancellationToken ct)
    {
        var baseId = DepositKeys.DepositId(chain, c.TxHash, c.Index);
        for (var revision = 0; revision <= MaxRevisions; revision++)
        {
            var id = revision == 0 ? baseId : $"{baseId}~{revision.ToString(CultureInfo.InvariantCulture)}";
            var existing = await store.GetAsync(DepositKeys.Deposit(id), ct).ConfigureAwait(false);
            if (existing is null) return id;
            var status = existing.GetString("status");
            if (status == DepositStatus.Orphaned) continue;
            if (existing.GetString("blockHash") == c.BlockHash) return null;
            await OrphanAsync(existing.Key, ct).ConfigureAwait(false);
        }
        throw new InvalidOperationException($"Transfer {c.TxHash}/{c.Index} was re-included more than {MaxRevisions} times.");
    }

    private Item DepositItem(DepositCandidate c, string depositId, string paymentId, string merchantId, string status, DateTimeOffset now)
    {
        var item = new Item(DepositKeys.Deposit(depositId))
        {
            ["depositId"] = depositId,
            ["paymentId"] = paymentId,
            ["merchantId"] = merchantId,
            ["chain"] = chain,
            ["network"] = network,
            ["asset"] = c.Asset.Id,
            ["symbol"] = c.Asset.Symbol,
            ["amount"] = c.Amount,
            ["address"] = c.To.ToString(),
            ["from"] = c.From.ToString(),
            ["txHash"] = c.TxHash,
            ["index"] = c.Index,
            ["blockNumber"] = (long)c.BlockNumber,
            ["blockHash"] = c.BlockHash,
            ["blockTime"] = Iso(c.BlockTime),
            ["status"] = status,
            ["detectedAt"] = Iso(now),
            ["version"] = 1,
            [KeyNames.IndexPK("GSI1")] = DepositKeys.AtHeight(chain, network, c.BlockNumber),
            [KeyNames.IndexSK("GSI1")] = depositId,
            [KeyNames.IndexPK("GSI2")] = DepositKeys.OfPayment(paymentId),
            [KeyNames.IndexSK("GSI2")] = $"{Iso(now)}#{depositId}",
        };
        if (c.Asset.Contract is { } token) item["token"] = token;
        return item;
    }

    private static TransactOp Outbox(string eventId, string type, string payload, DateTimeOffset now) => TransactOp.Put(new Item(Keys.Outbox(eventId))
    {
        ["type"] = type,
        ["payload"] = payload,
        ["occurredAt"] = Iso(now),
    }, Condition.ItemAbsent);

    private static string Amount(DepositCandidate c) => c.Amount.ToString(CultureInfo.InvariantCulture);

    private static string NewEventId(DateTimeOffset now) =>
        $"evt_{now.ToUnixTimeMilliseconds():x12}{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(10))}";

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
}
