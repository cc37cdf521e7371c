using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Molly.Chains.Rpc.Evm;
using Molly.Domain;
using Molly.Domain.Payments;
using Molly.Ledger;
using Molly.Payments;
using Molly.Storage;
using Molly.Workflows;

namespace Molly.Settlement;

/// <summary>
/// The five task handlers of the deposit-confirm workflow (DEPOSITS.md), each idempotent: Step Functions and the local engine
/// retry them, and a retry after a crash at any point completes the work without doing any of it twice.
/// <list type="bullet">
/// <item><see cref="CheckConfirmationsAsync"/> and <see cref="VerifyCanonicalAsync"/> only read (the deposit, the node).</item>
/// <item><see cref="CreditPaymentAsync"/> is ONE store transaction on both stores: the ledger's linked credit (transfer ids derived
/// from the deposit id), the deposit to <c>credited</c>, the payment to its final status and the outbox event. Each write is
/// conditioned on the state read, so of two racing calls one commits and the other re-reads and answers from the stored result.</item>
/// <item><see cref="UndoDetectionAsync"/> and <see cref="MarkForReviewAsync"/>: one transaction each, same guards.</item>
/// </list>
/// Errors: <see cref="TransientTaskException"/> (<c>Molly.Transient</c>) or <see cref="PermanentTaskException"/> (<c>Molly.Permanent</c>).
/// </summary>
public sealed class DepositConfirmTasks
{
    public const string CheckConfirmations = nameof(CheckConfirmations);
    public const string VerifyCanonical = nameof(VerifyCanonical);
    public const string CreditPayment = nameof(CreditPayment);
    public const string UndoDetection = nameof(UndoDetection);
    public const string MarkForReview = nameof(MarkForReview);

    private const int MaxCauseLength = 4_000;

    private readonly IItemStore _store;
    private readonly Ledger.Ledger _ledger;
    private readonly AssetRegistry _assets;
    private readonly IReadOnlyDictionary<string, IEvmRpc> _rpc;
    private readonly SettlementOptions _options;
    private readonly TimeProvider _time;

    /// <param name="rpc">The node client of each EVM chain, by the registry's chain name.</param>
    public DepositConfirmTasks(IItemStore store, Ledger.Ledger ledger, AssetRegistry assets, IReadOnlyDictionary<string, IEvmRpc> rpc,
        SettlementOptions options, TimeProvider time)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _ledger = ledger ?? throw new ArgumentNullException(nameof(ledger));
        _assets = assets ?? throw new ArgumentNullException(nameof(assets));
        _rpc = rpc ?? throw new ArgumentNullException(nameof(rpc));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _options.Validate();
        _time = time ?? throw new ArgumentNullException(nameof(time));
    }

    /// <summary>The handlers by their ASL name (<c>${CheckConfirmationsArn}</c> -> "CheckConfirmations"), JSON in and out
    /// (System.Text.Json source generation), for the local engine and the WorkflowTasks function.</summary>
    public IReadOnlyDictionary<string, WorkflowTaskHandler> Handlers => new Dictionary<string, WorkflowTaskHandler>(StringComparer.Ordinal)
    {
        [CheckConfirmations] = (input, _, ct) => Json(input, SettlementJsonContext.Default.DepositTaskInput, i => CheckConfirmationsAsync(DepositIdOf(i.DepositId), ct), SettlementJsonContext.Default.ConfirmationsResult),
        [VerifyCanonical] = (input, _, ct) => Json(input, SettlementJsonContext.Default.DepositTaskInput, i => VerifyCanonicalAsync(DepositIdOf(i.DepositId), ct), SettlementJsonContext.Default.CanonicalResult),
        [CreditPayment] = (input, _, ct) => Json(input, SettlementJsonContext.Default.DepositTaskInput, i => CreditPaymentAsync(DepositIdOf(i.DepositId), ct), SettlementJsonContext.Default.CreditResult),
        [UndoDetection] = (input, _, ct) => Json(input, SettlementJsonContext.Default.DepositTaskInput, i => UndoDetectionAsync(DepositIdOf(i.DepositId), ct), SettlementJsonContext.Default.UndoResult),
        [MarkForReview] = (input, _, ct) => Json(input, SettlementJsonContext.Default.ReviewTaskInput, i => MarkForReviewAsync(DepositIdOf(i.DepositId), i.Error, ct), SettlementJsonContext.Default.ReviewResult),
    };

    // ------------------------------------------------------------------ CheckConfirmations

    /// <summary>
    /// confirmations = head - blockNumber + 1; required from the asset registry (chain + network). <c>orphaned</c> only on positive
    /// evidence: the node's block at the deposit's height has another hash, the receipt sits in another block, or the watcher
    /// marked the deposit orphaned. A node that is behind (no block at that height yet) means waiting, never orphaned: an
    /// orphaning cannot be taken back.
    /// </summary>
    public Task<ConfirmationsResult> CheckConfirmationsAsync(string depositId, CancellationToken ct = default) => Guard(async () =>
    {
        var deposit = await LoadDepositAsync(depositId, ct);
        var asset = ResolveAsset(deposit);
        var required = asset.Confirmations;
        switch (deposit.Status)
        {
            case DepositStatus.Orphaned:
                return new ConfirmationsResult(ConfirmationState.Orphaned, 0, required, 0);
            case DepositStatus.Credited:
                return new ConfirmationsResult(ConfirmationState.Confirmed, required, required, 0);
            case DepositStatus.NeedsReview:
                throw new PermanentTaskException($"Deposit {depositId} is under review.");
        }

        var rpc = RpcFor(deposit);
        var head = await Rpc(() => rpc.GetBlockNumberAsync(ct), deposit, "eth_blockNumber", ct);
        var view = await ReadChainAsync(rpc, deposit, head, ct);
        if (view.Orphaned) return new ConfirmationsResult(ConfirmationState.Orphaned, 0, required, 0);
        var confirmations = view.BlockPresent && head >= deposit.BlockNumber ? (long)(head - deposit.BlockNumber) + 1 : 0;
        if (view.BlockPresent && view.Receipt is null)
            throw new TransientTaskException($"The node has block {deposit.BlockNumber} of deposit {depositId} but no receipt for its transaction yet.");
        if (view.Receipt is { Succeeded: false })
            throw new PermanentTaskException($"The transaction of deposit {depositId} reverted; it moved nothing.");
        return confirmations >= required
            ? new ConfirmationsResult(ConfirmationState.Confirmed, confirmations, required, 0)
            : new ConfirmationsResult(ConfirmationState.Waiting, confirmations, required, _options.WaitSecondsFor(deposit.Chain, required - confirmations));
    }, ct);

    // ------------------------------------------------------------------ VerifyCanonical

    /// <summary>The last check before the credit: the block at the deposit's height still has its hash, the receipt is in that
    /// block and succeeded, and (ERC-20) the log is in the receipt at its index. False only on positive evidence of a reorg;
    /// a node that cannot tell yet is <c>Molly.Transient</c>.</summary>
    public Task<CanonicalResult> VerifyCanonicalAsync(string depositId, CancellationToken ct = default) => Guard(async () =>
    {
        var deposit = await LoadDepositAsync(depositId, ct);
        switch (deposit.Status)
        {
            case DepositStatus.Credited: return new CanonicalResult(true);
            case DepositStatus.Orphaned: return new CanonicalResult(false);
            case DepositStatus.NeedsReview: throw new PermanentTaskException($"Deposit {depositId} is under review.");
        }
        var rpc = RpcFor(deposit);
        var head = await Rpc(() => rpc.GetBlockNumberAsync(ct), deposit, "eth_blockNumber", ct);
        var view = await ReadChainAsync(rpc, deposit, head, ct);
        if (view.Orphaned) return new CanonicalResult(false);
        if (!view.BlockPresent || view.Receipt is null)
            throw new TransientTaskException($"The node cannot show block {deposit.BlockNumber} and the receipt of deposit {depositId} yet.");
        if (!view.Receipt.Succeeded)
            throw new PermanentTaskException($"The transaction of deposit {depositId} reverted; it moved nothing.");
        if (deposit.LogIndex is { } logIndex && !view.Receipt.Logs.Any(l => l.LogIndex == logIndex && !l.Removed))
            throw new PermanentTaskException($"The receipt of deposit {depositId} has no log {logIndex}.");
        return new CanonicalResult(true);
    }, ct);

    private sealed record ChainView(bool Orphaned, bool BlockPresent, EvmReceipt? Receipt);

    private async Task<ChainView> ReadChainAsync(IEvmRpc rpc, Deposit deposit, ulong head, CancellationToken ct)
    {
        var block = head >= deposit.BlockNumber
            ? await Rpc(() => rpc.GetBlockByNumberAsync(deposit.BlockNumber, ct), deposit, "eth_getBlockByNumber", ct)
            : null;
        if (block is not null && !string.Equals(block.Hash, deposit.BlockHash, StringComparison.OrdinalIgnoreCase))
            return new ChainView(true, true, null);
        var receipt = await Rpc(() => rpc.GetTransactionReceiptAsync(deposit.TxHash, ct), deposit, "eth_getTransactionReceipt", ct);
        if (receipt is not null && !string.Equals(receipt.BlockHash, deposit.BlockHash, StringComparison.OrdinalIgnoreCase))
            return new ChainView(true, block is not null, receipt);
        return new ChainView(false, block is not null, receipt);
    }

    // ------------------------------------------------------------------ CreditPayment

    /// <summary>
    /// Settles the deposit. The payment's new status comes from the aggregate (tolerance, expiry, every credited deposit of the
    /// payment together); the ledger credits the merchant the deposit net of the fee and the fee account the fee (a linked batch,
    /// ids <c>dep:{chain}:{tx}:{index}:net|:fee</c>); the deposit becomes <c>credited</c> and the outbox gets the event, all in
    /// one store transaction. A deposit already credited answers from what it stored.
    /// </summary>
    public Task<CreditResult> CreditPaymentAsync(string depositId, CancellationToken ct = default) => Guard(async () =>
    {
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            var deposit = await LoadDepositAsync(depositId, ct);
            if (deposit.Status == DepositStatus.Credited) return StoredCredit(deposit);
            if (deposit.Status is not (DepositStatus.Detected or DepositStatus.Confirmed))
                throw new PermanentTaskException($"Deposit {depositId} is {deposit.Status}; only a detected deposit is credited.");
            var asset = ResolveAsset(deposit);
            var payment = await LoadPaymentAsync(deposit, asset, ct);
            var now = _time.GetUtcNow();

            var total = payment.Credited + deposit.Amount;
            var redetected = payment.Payment.Status is PaymentStatus.Created or PaymentStatus.Expired;
            var status = Settle(payment.Payment, total, deposit.SeenAt);
            var statusName = PaymentService.StatusName(status);
            var ledgerAsset = LedgerAsset(asset);
            await EnsureAccountsAsync(deposit.MerchantId, ledgerAsset, ct);
            // The merchant's fee as set now (merchant settings, read uncached): a credit after a fee change takes the new fee.
            var fee = await MerchantSettings.ReadFeeAsync(_store, deposit.MerchantId, asset.Id, ct);
            var feeAmount = fee.FeeFor(deposit.Amount);
            var net = deposit.Amount - feeAmount;
            var transferBase = TransferBase(deposit);
            var transferId = transferBase + (net.Sign > 0 ? ":net" : ":fee");

            var type = status switch
            {
                PaymentStatus.Paid => "PaymentPaidV1",
                PaymentStatus.Underpaid => "PaymentUnderpaidV1",
                PaymentStatus.Overpaid => "PaymentOverpaidV1",
                PaymentStatus.PaidLate => "PaymentPaidLateV1",
                _ => throw new PermanentTaskException($"Settlement of deposit {depositId} ended in {status}."),
            };
            var eventId = EventId(type, depositId);
            var settled = new PaymentSettledV1(eventId, payment.PaymentId, payment.MerchantId, depositId, statusName, payment.Payment.StatusVersion,
                Str(payment.Payment.Amount), Str(total), Str(deposit.Amount), Str(net), Str(feeAmount), asset.Symbol, asset.Chain,
                deposit.TxHash, transferId, now);
            var alongside = new List<TransactOp>
            {
                TransactOp.Update(deposit.Item.Key, new Update()
                    .Set("status", DepositStatus.Credited)
                    .Set("paymentStatus", statusName)
                    .Set("transferId", transferId)
                    .Set("net", net)
                    .Set("fee", feeAmount)
                    .Set("creditedAt", Iso(now))
                    .Set("version", deposit.Version + 1), deposit.Unchanged),
                payment.Write(deposit.Amount, detectedBy: redetected ? depositId : null),
                Outbox(eventId, type, JsonSerializer.Serialize(settled, SettlementJsonContext.Default.PaymentSettledV1), now),
            };

            PaymentCredit credit;
            try
            {
                credit = await _ledger.CreditPaymentAsync(transferBase, deposit.MerchantId, ledgerAsset, deposit.Amount, fee, alongside, ct);
            }
            catch (ConditionFailedException)
            {
                continue; // the deposit or the payment changed since it was read (a racing call): read again
            }
            if (credit.Results.All(r => r == TransferResult.Ok))
                return new CreditResult(payment.PaymentId, statusName, transferId);
            // A racing call may have committed this credit (and with it the deposit's new status), with the fee of its own
            // moment: its ids then exist, the same (Exists) or with another amount if the fee changed in between. Read again:
            // a credited deposit answers from what it stored, and the payment is credited once.
            if (credit.Results.Any(r => r is TransferResult.Exists or TransferResult.ExistsWithDifferentAmount) &&
                (await LoadDepositAsync(depositId, ct)).Status == DepositStatus.Credited)
                continue;
            throw new PermanentTaskException(
                $"The ledger refused the credit of deposit {depositId}: {string.Join(", ", credit.Results)}.");
        }
        throw new TransientTaskException($"Deposit {depositId} kept changing under the settlement ({_options.MaxAttempts} attempts).");
    }, ct);

    /// <summary>
    /// The payment's status once <paramref name="total"/> (every credited deposit with this one) is confirmed: the aggregate
    /// decides. Detected/Confirming settle; an ended payment is topped up; a payment back in Created/Expired (its detection
    /// was undone by another, orphaned deposit) is detected again by this deposit first.
    /// </summary>
    private static PaymentStatus Settle(Payment p, BigInteger total, DateTimeOffset seenAt)
    {
        try
        {
            switch (p.Status)
            {
                case PaymentStatus.Created or PaymentStatus.Expired:
                    p.Detect(total, seenAt);
                    p.BeginConfirming();
                    return p.Settle(total);
                case PaymentStatus.Detected:
                    p.BeginConfirming();
                    return p.Settle(total);
                case PaymentStatus.Confirming:
                    return p.Settle(total);
                default:
                    return p.TopUp(total, seenAt);
            }
        }
        catch (Exception e) when (e is PaymentStateException or ArgumentOutOfRangeException)
        {
            throw new PermanentTaskException($"The payment cannot be settled: {e.Message}", e);
        }
    }

    private static CreditResult StoredCredit(Deposit d) =>
        new(d.PaymentId, d.Item.RequireString("paymentStatus"), d.Item.RequireString("transferId"));

    private async Task EnsureAccountsAsync(string merchant, string asset, CancellationToken ct)
    {
        AccountId[] accounts;
        try
        {
            accounts =
            [
                AccountId.Platform(asset, AccountKind.DepositsInFlight),
                AccountId.Create(merchant, asset, AccountKind.MerchantAvailable),
                AccountId.Platform(asset, AccountKind.FeeRevenue),
            ];
        }
        catch (ArgumentException e)
        {
            throw new PermanentTaskException($"No ledger account can be named for merchant {merchant} and asset {asset}: {e.Message}", e);
        }
        foreach (var id in accounts)
        {
            if (await _ledger.GetAccountAsync(id, ct) is not null) continue;
            var result = await _ledger.CreateAccountAsync(id, ct: ct);
            if (result is not (AccountResult.Ok or AccountResult.Exists or AccountResult.ExistsWithDifferentShards))
                throw new PermanentTaskException($"Ledger account {id} could not be created: {result}.");
        }
    }

    // ------------------------------------------------------------------ UndoDetection

    /// <summary>
    /// The deposit's block is gone: the deposit becomes <c>orphaned</c> (never credited) and, when it is what holds the payment
    /// in Detected/Confirming (the payment's <c>detectedBy</c>), the payment goes back to Created (Expired when past its
    /// expiry); an outbox <c>DepositOrphanedV1</c>. One transaction. A credited deposit cannot be undone (Molly.Permanent).
    /// </summary>
    public Task<UndoResult> UndoDetectionAsync(string depositId, CancellationToken ct = default) => Guard(async () =>
    {
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            var deposit = await LoadDepositAsync(depositId, ct);
            var payment = await LoadPaymentAsync(deposit, null, ct);
            if (deposit.Status == DepositStatus.Orphaned && deposit.Item.Has("orphanedAt"))
                return new UndoResult(deposit.PaymentId, deposit.Item.GetString("paymentStatus") ?? PaymentService.StatusName(payment.Payment.Status));
            if (deposit.Status == DepositStatus.Credited)
                throw new PermanentTaskException($"Deposit {depositId} is credited already; a reorg after the credit needs an operator.");

            var now = _time.GetUtcNow();
            // The watcher names the deposit that moved the payment (detectedBy); without that mark, a payment in detection
            // with nothing credited yet is held by this deposit.
            var holds = payment.DetectedBy is { } by ? by == depositId : payment.Credited.IsZero;
            var moves = payment.Payment.Status is PaymentStatus.Detected or PaymentStatus.Confirming && holds;
            if (moves) payment.Payment.Orphan(now);
            var statusName = PaymentService.StatusName(payment.Payment.Status);
            const string type = nameof(Deposits.DepositOrphanedV1); // the watcher's event: one shape whoever undoes the detection
            var eventId = EventId(type, depositId);
            var ev = new Deposits.DepositOrphanedV1(eventId, payment.PaymentId, payment.MerchantId, depositId, statusName, payment.Payment.StatusVersion,
                deposit.TxHash, deposit.BlockNumber, deposit.BlockHash, now);
            var ops = new List<TransactOp>
            {
                TransactOp.Update(deposit.Item.Key, new Update()
                    .Set("status", DepositStatus.Orphaned)
                    .Set("paymentStatus", statusName)
                    .Set("orphanedAt", Iso(now))
                    .Set("version", deposit.Version + 1), deposit.Unchanged),
                Outbox(eventId, type, JsonSerializer.Serialize(ev, Deposits.DepositsJsonContext.Default.DepositOrphanedV1), now),
            };
            // Unchanged payments are still guarded: the decision above rests on the status read.
            ops.Add(moves ? payment.Write(BigInteger.Zero, detectedBy: "")
                : TransactOp.Check(Keys.Payment(payment.PaymentId), Condition.VersionEquals(payment.ReadVersion, "statusVersion")));
            try
            {
                await _store.TransactWriteAsync(ops, ct);
                return new UndoResult(payment.PaymentId, statusName);
            }
            catch (ConditionFailedException)
            {
                // changed since read: read again
            }
        }
        throw new TransientTaskException($"Deposit {depositId} kept changing while its detection was undone ({_options.MaxAttempts} attempts).");
    }, ct);

    // ------------------------------------------------------------------ MarkForReview

    /// <summary>The operator-visible failure path: the deposit becomes <c>needs_review</c> with the error and an outbox
    /// <c>PaymentNeedsReviewV1</c>; the payment is left as it is. A deposit already credited or orphaned keeps its status (the
    /// money is settled one way or the other) and the error is only recorded on it.</summary>
    public Task<ReviewResult> MarkForReviewAsync(string depositId, TaskError? error, CancellationToken ct = default) => Guard(async () =>
    {
        var name = Truncate(error?.Error ?? "unknown", 256);
        var cause = Truncate(error?.Cause ?? "", MaxCauseLength);
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            var deposit = await LoadDepositAsync(depositId, ct);
            if (deposit.Status == DepositStatus.NeedsReview) return new ReviewResult();
            var now = _time.GetUtcNow();
            var update = new Update()
                .Set("reviewError", name)
                .Set("reviewCause", cause)
                .Set("reviewAt", Iso(now))
                .Set("version", deposit.Version + 1);
            var settled = deposit.Status is DepositStatus.Credited or DepositStatus.Orphaned;
            if (!settled) update.Set("status", DepositStatus.NeedsReview).Set("statusBeforeReview", deposit.Status);
            const string type = nameof(Deposits.PaymentNeedsReviewV1); // the watcher's event for the same operator queue
            var eventId = EventId(type, depositId);
            var ev = new Deposits.PaymentNeedsReviewV1(eventId, deposit.PaymentId, deposit.MerchantId, depositId,
                cause.Length == 0 ? name : $"{name}: {cause}", Str(deposit.Amount), deposit.Asset, deposit.TxHash, now);
            var ops = new List<TransactOp> { TransactOp.Update(deposit.Item.Key, update, deposit.Unchanged) };
            if (!settled) ops.Add(Outbox(eventId, type, JsonSerializer.Serialize(ev, Deposits.DepositsJsonContext.Default.PaymentNeedsReviewV1), now));
            try
            {
                await _store.TransactWriteAsync(ops, ct);
                return new ReviewResult();
            }
            catch (ConditionFailedException)
            {
                // changed since read: read again
            }
        }
        throw new TransientTaskException($"Deposit {depositId} kept changing while it was marked for review ({_options.MaxAttempts} attempts).");
    }, ct);

    // ------------------------------------------------------------------ helpers

    /// <summary>The ledger's name of an asset: account ids allow letters, digits, '_', '-', '.', so "USDT@ethereum" is "USDT-ethereum".</summary>
    public static string LedgerAsset(Asset asset) => $"{asset.Symbol}-{asset.Chain}";

    /// <summary>The ledger transfer ids of a deposit's credit start with this (ledger ids allow ':' but not '#').</summary>
    public static string TransferBase(Deposit deposit) => "dep:" + deposit.DepositId.Replace('#', ':');

    /// <summary>Deterministic, so a repeated write of the same event is the same item (and an ItemAbsent guard catches a double).</summary>
    public static string EventId(string type, string depositId) =>
        "evt_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(type + "\n" + depositId)))[..32];

    private async Task<Deposit> LoadDepositAsync(string depositId, CancellationToken ct)
    {
        var item = await _store.GetAsync(Deposit.Key(depositId), ct)
            ?? throw new PermanentTaskException($"Deposit {depositId} does not exist.");
        return Deposit.Read(depositId, item);
    }

    private async Task<PaymentRecord> LoadPaymentAsync(Deposit deposit, Asset? asset, CancellationToken ct)
    {
        var item = await _store.GetAsync(Keys.Payment(deposit.PaymentId), ct)
            ?? throw new PermanentTaskException($"Payment {deposit.PaymentId} of deposit {deposit.DepositId} does not exist.");
        var payment = PaymentRecord.Read(deposit.PaymentId, item);
        if (payment.MerchantId != deposit.MerchantId)
            throw new PermanentTaskException($"Deposit {deposit.DepositId} names merchant {deposit.MerchantId}; its payment belongs to another.");
        if (asset is not null && (payment.Chain != asset.Chain || payment.Symbol != asset.Symbol))
            throw new PermanentTaskException(
                $"Deposit {deposit.DepositId} is {asset.Symbol} on {asset.Chain}; payment {payment.PaymentId} asks for {payment.Symbol} on {payment.Chain}.");
        return payment;
    }

    private Asset ResolveAsset(Deposit deposit)
    {
        // The watcher may name the asset by symbol ("USDT") or by id ("USDT@ethereum").
        var symbol = deposit.Asset.Split('@')[0];
        if (!_assets.TryFind(deposit.Chain, symbol, out var asset, out var error))
            throw new PermanentTaskException($"Deposit {deposit.DepositId}: {error}");
        if (asset.Network != deposit.Network)
            throw new PermanentTaskException($"Deposit {deposit.DepositId} is on {deposit.Network}; this gateway runs {asset.Chain} on {asset.Network}.");
        return asset;
    }

    private IEvmRpc RpcFor(Deposit deposit) => _rpc.TryGetValue(deposit.Chain, out var rpc)
        ? rpc
        : throw new PermanentTaskException($"No EVM node is configured for chain {deposit.Chain} (deposit {deposit.DepositId}).");

    /// <summary>A node call: any failure but the caller's own cancellation is transient (timeouts, fail-over exhausted, a node error).</summary>
    private static async Task<T> Rpc<T>(Func<Task<T>> call, Deposit deposit, string method, CancellationToken ct)
    {
        try
        {
            return await call();
        }
        catch (Exception e) when (e is not TaskFailedException && !ct.IsCancellationRequested)
        {
            throw new TransientTaskException($"{method} for deposit {deposit.DepositId} failed: {e.Message}", e);
        }
    }

    /// <summary>Maps what a handler throws to the two names the workflow knows; the caller's cancellation passes through.</summary>
    private static async Task<T> Guard<T>(Func<Task<T>> body, CancellationToken ct)
    {
        try
        {
            return await body();
        }
        catch (TaskFailedException)
        {
            throw;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException e)
        {
            throw new TransientTaskException("A call timed out.", e);
        }
        catch (Exception e) when (e is StoreUnavailableException or LedgerContentionException or TimeoutException or HttpRequestException or IOException)
        {
            throw new TransientTaskException(e.Message, e);
        }
        catch (Exception e)
        {
            throw new PermanentTaskException($"{e.GetType().Name}: {e.Message}", e);
        }
    }

    private static async Task<JsonNode?> Json<TIn, TOut>(JsonNode? input, System.Text.Json.Serialization.Metadata.JsonTypeInfo<TIn> inInfo,
        Func<TIn, Task<TOut>> run, System.Text.Json.Serialization.Metadata.JsonTypeInfo<TOut> outInfo)
    {
        TIn? parsed;
        try
        {
            parsed = input is JsonObject ? input.Deserialize(inInfo) : default;
        }
        catch (JsonException e)
        {
            throw new PermanentTaskException($"The task input is not valid: {e.Message}", e);
        }
        if (parsed is null) throw new PermanentTaskException("The task input must be a JSON object with a depositId.");
        var result = await run(parsed);
        return JsonSerializer.SerializeToNode(result, outInfo);
    }

    private static string DepositIdOf(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 200 || id.Any(char.IsWhiteSpace))
            throw new PermanentTaskException("The task input needs a depositId (1..200 characters, no whitespace).");
        return id;
    }

    private static TransactOp Outbox(string eventId, string type, string payload, DateTimeOffset at) =>
        TransactOp.Put(new Item(Keys.Outbox(eventId))
        {
            ["type"] = type,
            ["payload"] = payload,
            ["occurredAt"] = Iso(at),
        }, Condition.ItemAbsent);

    private static string Str(BigInteger v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}
