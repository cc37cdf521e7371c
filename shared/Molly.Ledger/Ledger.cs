using System.Collections.Concurrent;
using System.Numerics;
using Molly.Storage;
using static Molly.Ledger.LedgerItems;

namespace Molly.Ledger;

/// <summary>
/// A double-entry ledger with TigerBeetle's semantics (single-phase and two-phase transfers, account limits, linked batches,
/// idempotent ids, precise result codes) on the <see cref="IItemStore"/> seam. Every command batch is ONE store transaction:
/// the transfer items (each its own outbox record, see <see cref="LedgerEvents"/>), the pending transfers they resolve and the
/// balance shards they move.
/// Nothing is read on the write path of a plain transfer (account metadata is immutable and cached); limits are enforced by
/// conditions on the shards, so the no-overdraft rule holds under any concurrency. See README "Ledger" for the design.
/// </summary>
public sealed partial class Ledger
{
    private readonly IItemStore _store;
    private readonly TimeProvider _time;
    private readonly LedgerOptions _options;
    private readonly ConcurrentDictionary<AccountId, Account> _accounts = new();

    public Ledger(IItemStore store, TimeProvider time, LedgerOptions? options = null)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _options = options ?? new LedgerOptions();
        _options.Validate();
    }

    public LedgerOptions Options => _options;

    // ---------------------------------------------------------------- accounts

    /// <summary>Creates an account with <paramref name="flags"/> (default: <see cref="AccountKinds.DefaultFlags"/>) and
    /// <paramref name="shards"/> balance shards (1 unless the account is hot). Idempotent: the same call again returns Exists.</summary>
    public async Task<AccountResult> CreateAccountAsync(AccountId id, AccountFlags? flags = null, int shards = 1, CancellationToken ct = default)
    {
        RequireId(id);
        var f = flags ?? id.Kind.DefaultFlags();
        if (shards is < 1 or > LedgerOptions.MaxShards) return AccountResult.ShardsOutOfRange;
        if (shards > 1 && f == (AccountFlags.DebitsMustNotExceedCredits | AccountFlags.CreditsMustNotExceedDebits))
            return AccountResult.ShardedAccountMayHaveOneLimit;
        var account = new Account(id, f, shards, _time.GetUtcNow());
        var ops = new List<TransactOp> { TransactOp.Put(NewAccount(account), Condition.ItemAbsent) };
        for (var s = 0; s < shards; s++) ops.Add(TransactOp.Put(NewShard(id, s), Condition.ItemAbsent));
        try
        {
            await _store.TransactWriteAsync(ops, ct).ConfigureAwait(false);
            _accounts[id] = account;
            return AccountResult.Ok;
        }
        catch (ConditionFailedException)
        {
            var existing = await GetAccountAsync(id, ct).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Account {id} has balance shards but no account item.");
            if (existing.Flags != f) return AccountResult.ExistsWithDifferentFlags;
            if (existing.Shards != shards) return AccountResult.ExistsWithDifferentShards;
            return AccountResult.Exists;
        }
    }

    public async Task<Account?> GetAccountAsync(AccountId id, CancellationToken ct = default)
    {
        if (id.Owner is null) return null;
        if (_accounts.TryGetValue(id, out var cached)) return cached;
        var item = await _store.GetAsync(AccountKey(id), ct).ConfigureAwait(false);
        if (item is null) return null;
        var account = ReadAccount(item);
        _accounts[id] = account;
        return account;
    }

    private async Task<Item[]> ReadShardsAsync(Account account, CancellationToken ct)
    {
        var tasks = new Task<Item?>[account.Shards];
        for (var s = 0; s < account.Shards; s++) tasks[s] = _store.GetAsync(ShardKey(account.Id, s), ct);
        var items = await Task.WhenAll(tasks).ConfigureAwait(false);
        return items.Select((i, s) => i ?? throw new InvalidOperationException($"Balance shard {s} of account {account.Id} is missing.")).ToArray();
    }

    // ---------------------------------------------------------------- transfers

    public async Task<TransferResult> SubmitAsync(TransferCommand command, CancellationToken ct = default) =>
        (await SubmitAsync([command], ct).ConfigureAwait(false))[0];

    /// <summary>
    /// Applies a linked batch: every command or none, in order (a later command sees the balances left by an earlier one).
    /// Returns one result per command. On failure the failing command carries its reason, every other one
    /// <see cref="TransferResult.LinkedEventFailed"/> (or its own Exists code), and nothing was written.
    /// A retry of a committed batch returns Exists for every command. A batch must fit one store transaction
    /// (<see cref="TransactionLimits.MaxItems"/> items: 1 per transfer + 1 per resolved pending + 1 per distinct balance shard).
    /// </summary>
    public Task<IReadOnlyList<TransferResult>> SubmitAsync(IReadOnlyList<TransferCommand> batch, CancellationToken ct = default) =>
        SubmitAsync(batch, [], ct);

    /// <summary>
    /// As <see cref="SubmitAsync(IReadOnlyList{TransferCommand}, CancellationToken)"/>, with <paramref name="alongside"/> (the
    /// caller's own writes on items that are not ledger items) committed in the SAME store transaction, only if the batch
    /// commits. A failed condition of one of them throws <see cref="ConditionFailedException"/> whose operation index is its
    /// position in <paramref name="alongside"/>; nothing was written. When the batch answers without writing (a retry: every
    /// id Exists, or a refusal), the alongside writes were not made either.
    /// </summary>
    public async Task<IReadOnlyList<TransferResult>> SubmitAsync(IReadOnlyList<TransferCommand> batch, IReadOnlyList<TransactOp> alongside,
        CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(alongside);
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0) throw new ArgumentException("A batch holds at least one command.", nameof(batch));
        foreach (var c in batch)
        {
            ArgumentNullException.ThrowIfNull(c, nameof(batch));
            if (c.Id.Value is null) throw new ArgumentException("A command has no transfer id.", nameof(batch));
        }

        // Writes alongside belong to this batch's own transaction: such a batch is never coalesced with others.
        return alongside.Count == 0 && IsCoalescable(batch)
            ? await EnqueueAsync(batch, ct).ConfigureAwait(false)
            : await SubmitAloneAsync(batch, alongside, outcomeUnknown: false, ct).ConfigureAwait(false);
    }

    /// <summary>Plans and writes one linked batch as its own store transaction, retrying lost races. With
    /// <paramref name="outcomeUnknown"/> an earlier write of these commands may have committed (see <see cref="Finish"/>).</summary>
    private async Task<IReadOnlyList<TransferResult>> SubmitAloneAsync(IReadOnlyList<TransferCommand> batch, IReadOnlyList<TransactOp> alongside,
        bool outcomeUnknown, CancellationToken ct)
    {
        var overrides = new Dictionary<AccountId, int>();
        for (var attempt = 1; ; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            var now = _time.GetUtcNow();
            var plan = await PlanAsync(batch, overrides, now, ct).ConfigureAwait(false);
            if (plan.Results is { } early) return Finish(early, outcomeUnknown);
            var own = plan.Ops.Count;
            if (own + alongside.Count > TransactionLimits.MaxItems)
                return Enumerable.Repeat(TransferResult.LinkedBatchTooLarge, batch.Count).ToArray();
            try
            {
                await _store.TransactWriteAsync(alongside.Count == 0 ? plan.Ops : [.. plan.Ops, .. alongside], ct).ConfigureAwait(false);
                return new TransferResult[batch.Count];
            }
            catch (ConditionFailedException e) when (e.OperationIndex is { } i && i >= own)
            {
                throw new ConditionFailedException(e.Key, i - own, e);
            }
            catch (ConditionFailedException e)
            {
                var diagnosed = await DiagnoseAsync(batch, plan, e, overrides, ct).ConfigureAwait(false);
                if (diagnosed is not null) return Finish(diagnosed, outcomeUnknown);
            }
            catch (StoreUnavailableException) when (attempt < _options.MaxAttempts)
            {
                // The transaction may or may not have committed; the retry finds out through the ids (Exists).
                outcomeUnknown = true;
            }
            if (attempt >= _options.MaxAttempts)
                throw new LedgerContentionException($"Batch starting with transfer {batch[0].Id} lost {attempt} races for its items; nothing was written.");
            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 1 << Math.Min(attempt, 6))), ct).ConfigureAwait(false);
        }
    }

    /// <summary>When an attempt of this very call may have committed, a retry that finds every id stored with identical
    /// fields is this call's own success.</summary>
    private static TransferResult[] Finish(TransferResult[] results, bool outcomeUnknown) =>
        outcomeUnknown && results.All(r => r == TransferResult.Exists) ? new TransferResult[results.Length] : results;

    private sealed record Step(long Seq, int Command, BigInteger Dnet, BigInteger Cnet, bool Pinned);

    private sealed class ShardChange(Account account, int shard)
    {
        public Account Account { get; } = account;
        public int Shard { get; } = shard;
        public BigInteger Dpe, Dpo, Cpe, Cpo, Dnet, Cnet, NeedDnet, NeedCnet;
        public List<Step> Steps { get; } = [];

        public void Apply(Step step, BigInteger dpe, BigInteger dpo, BigInteger cpe, BigInteger cpo)
        {
            Dpe += dpe; Dpo += dpo; Cpe += cpe; Cpo += cpo;
            Dnet += step.Dnet; Cnet += step.Cnet;
            NeedDnet = BigInteger.Max(NeedDnet, -Dnet);
            NeedCnet = BigInteger.Max(NeedCnet, -Cnet);
            Steps.Add(step);
        }

        public TransactOp ToOp()
        {
            var u = new Update();
            if (!Dpe.IsZero) u.Add(LedgerItems.Dpe, Dpe);
            if (!Dpo.IsZero) u.Add(LedgerItems.Dpo, Dpo);
            if (!Cpe.IsZero) u.Add(LedgerItems.Cpe, Cpe);
            if (!Cpo.IsZero) u.Add(LedgerItems.Cpo, Cpo);
            if (!Dnet.IsZero) u.Add(LedgerItems.Dnet, Dnet);
            if (!Cnet.IsZero) u.Add(LedgerItems.Cnet, Cnet);
            var conditions = new List<Condition>();
            if (Account.Flags.HasFlag(AccountFlags.DebitsMustNotExceedCredits) && NeedDnet > 0)
                conditions.Add(Condition.NumberAtLeast(LedgerItems.Dnet, NeedDnet));
            if (Account.Flags.HasFlag(AccountFlags.CreditsMustNotExceedDebits) && NeedCnet > 0)
                conditions.Add(Condition.NumberAtLeast(LedgerItems.Cnet, NeedCnet));
            var condition = conditions.Count switch
            {
                0 => Condition.ItemExists,
                1 => conditions[0],
                _ => Condition.And([.. conditions]),
            };
            return TransactOp.Update(ShardKey(Account.Id, Shard), u, condition);
        }
    }

    private enum Role { TransferPut, PendingUpdate, Shard }

    private sealed class Plan
    {
        public TransferResult[]? Results;
        public List<TransactOp> Ops { get; } = [];
        public List<(Role Role, int Command, ShardChange? Shard)> Roles { get; } = [];
        public Dictionary<ItemKey, ShardChange> Shards { get; } = [];
        public long Seq;
    }

    private async Task<Plan> PlanAsync(IReadOnlyList<TransferCommand> batch, Dictionary<AccountId, int> overrides, DateTimeOffset now, CancellationToken ct)
    {
        var plan = new Plan();
        var results = new TransferResult[batch.Count];
        var records = new Transfer[batch.Count];
        var pendingUpdates = new List<(int Command, Transfer Pending, PendingState To)>();
        var resolved = new Dictionary<TransferId, PendingState>();
        var batchShard = new Dictionary<AccountId, int>();
        var ids = new HashSet<TransferId>();
        var anyExists = false;

        for (var i = 0; i < batch.Count; i++)
        {
            var cmd = batch[i];
            if (!ids.Add(cmd.Id)) return Fail(plan, results, i, TransferResult.LinkedBatchHasDuplicateId);
            if (cmd.UserData is { Length: var len } && len > _options.MaxUserDataLength)
                return Fail(plan, results, i, TransferResult.UserDataTooLong);

            switch (cmd)
            {
                case CreateTransfer c:
                {
                    var shape = ValidateShape(c);
                    if (shape != TransferResult.Ok) return Fail(plan, results, i, shape);
                    var debit = await GetAccountAsync(c.Debit, ct).ConfigureAwait(false);
                    if (debit is null) return Fail(plan, results, i, TransferResult.DebitAccountNotFound);
                    var credit = await GetAccountAsync(c.Credit, ct).ConfigureAwait(false);
                    if (credit is null) return Fail(plan, results, i, TransferResult.CreditAccountNotFound);
                    var dsh = ShardFor(debit, c.Id, batchShard, overrides);
                    var csh = ShardFor(credit, c.Id, batchShard, overrides);
                    var kind = c.Pending ? TransferKind.Pending : TransferKind.SinglePhase;
                    records[i] = new Transfer(c.Id, kind, c.Debit, c.Credit, c.Amount, c.Asset, c.Code, c.UserData, now, null,
                        c.Timeout, c.Timeout is { } t ? now + t : null, c.Pending ? PendingState.Pending : PendingState.None, null, dsh, csh);
                    if (c.Pending)
                    {
                        Move(plan, debit, dsh, i, false, dpe: c.Amount);
                        Move(plan, credit, csh, i, false, cpe: c.Amount);
                    }
                    else
                    {
                        Move(plan, debit, dsh, i, false, dpo: c.Amount);
                        Move(plan, credit, csh, i, false, cpo: c.Amount);
                    }
                    break;
                }
                case PostPending or VoidPending:
                {
                    var post = cmd as PostPending;
                    if (post?.Amount is { } a)
                    {
                        if (a.IsZero) return Fail(plan, results, i, TransferResult.AmountMustNotBeZero);
                        if (a.Sign < 0) return Fail(plan, results, i, TransferResult.AmountMustNotBeNegative);
                    }
                    var pendingId = post?.PendingId ?? ((VoidPending)cmd).PendingId;
                    if (pendingId.Value is null) return Fail(plan, results, i, TransferResult.PendingTransferNotFound);

                    // A post or void has a stored pending transfer to check, so its own id is checked first: a retry of a
                    // committed post must answer Exists, not "already posted".
                    var own = await _store.GetAsync(TransferKey(cmd.Id), ct).ConfigureAwait(false);
                    if (own is not null)
                    {
                        results[i] = Compare(cmd, ReadTransfer(own));
                        if (results[i] != TransferResult.Exists) return Fail(plan, results, i, results[i]);
                        anyExists = true;
                        continue;
                    }
                    if (resolved.TryGetValue(pendingId, out var already))
                        return Fail(plan, results, i, already == PendingState.Posted ? TransferResult.PendingTransferAlreadyPosted : TransferResult.PendingTransferAlreadyVoided);
                    var pendingItem = await _store.GetAsync(TransferKey(pendingId), ct).ConfigureAwait(false);
                    if (pendingItem is null) return Fail(plan, results, i, TransferResult.PendingTransferNotFound);
                    var pending = ReadTransfer(pendingItem);
                    var state = await StateNowAsync(pending, now, ct).ConfigureAwait(false);
                    var problem = state switch
                    {
                        _ when pending.Kind != TransferKind.Pending => TransferResult.PendingTransferNotPending,
                        PendingState.Posted => TransferResult.PendingTransferAlreadyPosted,
                        PendingState.Voided => TransferResult.PendingTransferAlreadyVoided,
                        PendingState.Expired => TransferResult.PendingTransferExpired,
                        _ => TransferResult.Ok,
                    };
                    if (problem != TransferResult.Ok) return Fail(plan, results, i, problem);
                    var amount = post is null ? pending.Amount : post.Amount ?? pending.Amount;
                    if (amount > pending.Amount) return Fail(plan, results, i, TransferResult.ExceedsPendingTransferAmount);

                    var debit = await GetAccountAsync(pending.Debit, ct).ConfigureAwait(false)
                        ?? throw new InvalidOperationException($"Account {pending.Debit} of pending transfer {pending.Id} is missing.");
                    var credit = await GetAccountAsync(pending.Credit, ct).ConfigureAwait(false)
                        ?? throw new InvalidOperationException($"Account {pending.Credit} of pending transfer {pending.Id} is missing.");
                    var to = post is null ? PendingState.Voided : PendingState.Posted;
                    resolved[pendingId] = to;
                    records[i] = new Transfer(cmd.Id, post is null ? TransferKind.VoidPending : TransferKind.PostPending, pending.Debit, pending.Credit,
                        amount, pending.Asset, pending.Code, cmd.UserData, now, pendingId, null, null, PendingState.None, post?.Amount,
                        pending.DebitShard, pending.CreditShard);
                    var posted = post is null ? BigInteger.Zero : amount;
                    Move(plan, debit, pending.DebitShard, i, true, dpe: -pending.Amount, dpo: posted);
                    Move(plan, credit, pending.CreditShard, i, true, cpe: -pending.Amount, cpo: posted);
                    pendingUpdates.Add((i, pending, to));
                    break;
                }
                default:
                    throw new ArgumentException($"Unknown command type {cmd.GetType().Name}.", nameof(batch));
            }
        }

        if (anyExists)
        {
            // Part of the batch is stored already: the whole batch is either a retry (every id Exists) or a conflict.
            plan.Results = await ResolveExistingAsync(batch, ct).ConfigureAwait(false);
            return plan;
        }

        for (var i = 0; i < batch.Count; i++)
            Add(plan, Role.TransferPut, i, null, TransactOp.Put(TransferItem(records[i]), Condition.ItemAbsent));
        foreach (var (command, pending, to) in pendingUpdates)
        {
            var u = new Update().Set("state", to.ToString()).Set("resolved_by", batch[command].Id.Value).Remove("GSI1PK").Remove("GSI1SK");
            Add(plan, Role.PendingUpdate, command, null,
                TransactOp.Update(TransferKey(pending.Id), u, Condition.AttributeEquals("state", PendingState.Pending.ToString())));
        }
        foreach (var change in plan.Shards.Values)
            Add(plan, Role.Shard, change.Steps[0].Command, change, change.ToOp());

        if (plan.Ops.Count > TransactionLimits.MaxItems)
        {
            plan.Results = Enumerable.Repeat(TransferResult.LinkedBatchTooLarge, batch.Count).ToArray();
            plan.Ops.Clear();
        }
        return plan;
    }

    /// <summary>The stored transfer; an open pending transfer with a timeout also enters the sparse expiry index.</summary>
    private Item TransferItem(Transfer t)
    {
        var item = WriteTransfer(t);
        if (t.State == PendingState.Pending && t.ExpiresAt is { } exp)
        {
            item["GSI1PK"] = ExpiryPartition((int)(t.Id.StableHash() % (uint)_options.ExpiryPartitions));
            item["GSI1SK"] = SortKey(exp.UtcTicks, t.Id);
        }
        return item;
    }

    private TransferResult ValidateShape(CreateTransfer c)
    {
        if (c.Amount.IsZero) return TransferResult.AmountMustNotBeZero;
        if (c.Amount.Sign < 0) return TransferResult.AmountMustNotBeNegative;
        if (c.Amount > _options.MaxAmount) return TransferResult.AmountTooLarge;
        if (c.Debit == c.Credit) return TransferResult.AccountsMustBeDifferent;
        if (c.Code == 0) return TransferResult.CodeMustNotBeZero;
        if (c.Timeout is { } t)
        {
            if (!c.Pending) return TransferResult.TimeoutReservedForPendingTransfer;
            if (t <= TimeSpan.Zero) return TransferResult.TimeoutMustBePositive;
        }
        if (c.Debit.Owner is null) return TransferResult.DebitAccountNotFound;
        if (c.Credit.Owner is null) return TransferResult.CreditAccountNotFound;
        if (c.Debit.Asset != c.Credit.Asset) return TransferResult.AccountsMustHaveTheSameAsset;
        if (!string.Equals(c.Asset, c.Debit.Asset, StringComparison.Ordinal)) return TransferResult.TransferMustHaveTheSameAssetAsAccounts;
        return TransferResult.Ok;
    }

    private static Plan Fail(Plan plan, TransferResult[] results, int index, TransferResult reason)
    {
        for (var i = 0; i < results.Length; i++)
            if (i != index && results[i] != TransferResult.Exists) results[i] = TransferResult.LinkedEventFailed;
        results[index] = reason;
        plan.Results = results;
        plan.Ops.Clear();
        return plan;
    }

    private static void Add(Plan plan, Role role, int command, ShardChange? shard, TransactOp op)
    {
        plan.Ops.Add(op);
        plan.Roles.Add((role, command, shard));
    }

    /// <summary>The shard a new transfer uses on an account: 0 if unsharded; else one shard per account for the whole batch
    /// (so the batch's own sequence is checked on one item), chosen by the transfer id's hash unless an earlier attempt
    /// found a shard with enough room.</summary>
    private static int ShardFor(Account account, TransferId id, Dictionary<AccountId, int> batchShard, Dictionary<AccountId, int> overrides)
    {
        if (account.Shards == 1) return 0;
        if (batchShard.TryGetValue(account.Id, out var s)) return s;
        s = overrides.TryGetValue(account.Id, out var o) ? o : (int)(id.StableHash() % (uint)account.Shards);
        batchShard[account.Id] = s;
        return s;
    }

    private static void Move(Plan plan, Account account, int shard, int command, bool pinned,
        BigInteger dpe = default, BigInteger dpo = default, BigInteger cpe = default, BigInteger cpo = default)
    {
        var key = ShardKey(account.Id, shard);
        if (!plan.Shards.TryGetValue(key, out var change)) plan.Shards[key] = change = new ShardChange(account, shard);
        var step = new Step(plan.Seq++, command, cpo - dpo - dpe, dpo - cpo - cpe, pinned);
        change.Apply(step, dpe, dpo, cpe, cpo);
    }

    // ---------------------------------------------------------------- failure diagnosis

    private async Task<TransferResult[]?> DiagnoseAsync(IReadOnlyList<TransferCommand> batch, Plan plan, ConditionFailedException e,
        Dictionary<AccountId, int> overrides, CancellationToken ct)
    {
        var index = e.OperationIndex ?? plan.Ops.FindIndex(o => o.Key == e.Key);
        if (index < 0 || index >= plan.Roles.Count) return null;
        var (role, _, shard) = plan.Roles[index];
        switch (role)
        {
            case Role.TransferPut:
                var existing = await ResolveExistingAsync(batch, ct).ConfigureAwait(false);
                return existing.Any(r => r != TransferResult.LinkedEventFailed) ? existing : null;
            case Role.Shard:
                return await DiagnoseShardAsync(batch.Count, plan, shard!, overrides, ct).ConfigureAwait(false);
            default:
                return null; // A pending transfer was resolved meanwhile: the next plan reads its new state.
        }
    }

    /// <summary>Reads every id of the batch: all stored with the same fields is a retry (all Exists); otherwise each stored one
    /// gets its comparison and the others LinkedEventFailed.</summary>
    private async Task<TransferResult[]> ResolveExistingAsync(IReadOnlyList<TransferCommand> batch, CancellationToken ct)
    {
        var items = await Task.WhenAll(batch.Select(c => _store.GetAsync(TransferKey(c.Id), ct))).ConfigureAwait(false);
        var results = new TransferResult[batch.Count];
        for (var i = 0; i < batch.Count; i++)
            results[i] = items[i] is { } item ? Compare(batch[i], ReadTransfer(item)) : TransferResult.LinkedEventFailed;
        return results;
    }

    private static TransferResult Compare(TransferCommand cmd, Transfer stored) => cmd switch
    {
        CreateTransfer c when stored.Kind != (c.Pending ? TransferKind.Pending : TransferKind.SinglePhase) => TransferResult.ExistsWithDifferentKind,
        CreateTransfer c when c.Debit != stored.Debit => TransferResult.ExistsWithDifferentDebitAccount,
        CreateTransfer c when c.Credit != stored.Credit => TransferResult.ExistsWithDifferentCreditAccount,
        CreateTransfer c when c.Amount != stored.Amount => TransferResult.ExistsWithDifferentAmount,
        CreateTransfer c when c.Asset != stored.Asset => TransferResult.ExistsWithDifferentAsset,
        CreateTransfer c when c.Code != stored.Code => TransferResult.ExistsWithDifferentCode,
        CreateTransfer c when c.Timeout != stored.Timeout => TransferResult.ExistsWithDifferentTimeout,
        PostPending when stored.Kind != TransferKind.PostPending => TransferResult.ExistsWithDifferentKind,
        VoidPending when stored.Kind != TransferKind.VoidPending => TransferResult.ExistsWithDifferentKind,
        PostPending p when p.PendingId != stored.PendingId => TransferResult.ExistsWithDifferentPendingId,
        VoidPending v when v.PendingId != stored.PendingId => TransferResult.ExistsWithDifferentPendingId,
        PostPending p when p.Amount != stored.RequestedAmount => TransferResult.ExistsWithDifferentAmount,
        _ when cmd.UserData != stored.UserData => TransferResult.ExistsWithDifferentUserData,
        _ => TransferResult.Exists,
    };

    /// <summary>
    /// A balance condition failed on <paramref name="failed"/>. Reads the account's shards and replays the batch's steps on the
    /// account's total room: if the total is short, the first step that overdraws is the failing command (exact for an
    /// unsharded account: the shard is the account). If the total suffices, either a concurrent writer changed the shard
    /// (retry) or, on a sharded account, the room sits on other shards: the batch is pointed at the shard with most room,
    /// after moving the other shards' room onto it if it alone is short.
    /// </summary>
    private async Task<TransferResult[]?> DiagnoseShardAsync(int count, Plan plan, ShardChange failed, Dictionary<AccountId, int> overrides, CancellationToken ct)
    {
        var account = failed.Account;
        var shards = await ReadShardsAsync(account, ct).ConfigureAwait(false);
        var steps = plan.Shards.Values.Where(c => c.Account.Id == account.Id).SelectMany(c => c.Steps.Select(s => (c.Shard, Step: s)))
            .OrderBy(x => x.Step.Seq).ToList();
        var limitD = account.Flags.HasFlag(AccountFlags.DebitsMustNotExceedCredits);
        var limitC = account.Flags.HasFlag(AccountFlags.CreditsMustNotExceedDebits);

        var d = shards.Aggregate(BigInteger.Zero, (a, s) => a + s.RequireNumber(Dnet));
        var c = shards.Aggregate(BigInteger.Zero, (a, s) => a + s.RequireNumber(Cnet));
        foreach (var (_, step) in steps)
        {
            d += step.Dnet;
            c += step.Cnet;
            if ((limitD && d < 0) || (limitC && c < 0))
            {
                var results = Enumerable.Repeat(TransferResult.LinkedEventFailed, count).ToArray();
                results[step.Command] = limitD && d < 0 ? TransferResult.ExceedsCredits : TransferResult.ExceedsDebits;
                return results;
            }
        }
        if (account.Shards == 1) return null;

        // Sharded (one limit only): pick the shard with the most room for the limited side.
        var attr = limitD ? Dnet : Cnet;
        var rooms = shards.Select(s => s.RequireNumber(attr)).ToArray();
        var target = Array.IndexOf(rooms, rooms.Max());
        var room = rooms[target];
        var fits = true;
        foreach (var (shard, step) in steps)
        {
            if (step.Pinned && shard != target) continue;
            room += limitD ? step.Dnet : step.Cnet;
            if (room < 0) { fits = false; break; }
        }
        if (!fits) await ConsolidateAsync(account, shards, target, limitD, ct).ConfigureAwait(false);
        overrides[account.Id] = target;
        return null;
    }

    /// <summary>Moves the room of every other shard onto <paramref name="target"/> in one transaction. Balance-neutral for the
    /// account (the sums of dpo/cpo over shards do not change), so it writes no transfer; each source shard is conditioned
    /// on still having the room moved, so a race only makes it fail, never overdraw.</summary>
    private async Task ConsolidateAsync(Account account, Item[] shards, int target, bool limitD, CancellationToken ct)
    {
        var attr = limitD ? Dnet : Cnet;
        var ops = new List<TransactOp>();
        var total = BigInteger.Zero;
        for (var s = 0; s < shards.Length; s++)
        {
            var r = shards[s].RequireNumber(attr);
            if (s == target || r <= 0) continue;
            total += r;
            ops.Add(TransactOp.Update(ShardKey(account.Id, s), MoveRoom(limitD, -r), Condition.NumberAtLeast(attr, r)));
        }
        if (ops.Count == 0) return;
        ops.Add(TransactOp.Update(ShardKey(account.Id, target), MoveRoom(limitD, total), Condition.ItemExists));
        try
        {
            await _store.TransactWriteAsync(ops, ct).ConfigureAwait(false);
        }
        catch (ConditionFailedException)
        {
            // A concurrent debit took some room meanwhile; the caller's next attempt re-reads.
        }
    }

    /// <summary>Room for debits is credits_posted; room for credits is debits_posted. Moving it keeps dnet/cnet derived.</summary>
    private static Update MoveRoom(bool limitD, BigInteger delta) => limitD
        ? new Update().Add(Cpo, delta).Add(Dnet, delta).Add(Cnet, -delta)
        : new Update().Add(Dpo, delta).Add(Cnet, delta).Add(Dnet, -delta);

    // ---------------------------------------------------------------- pending expiry

    /// <summary>Reads a transfer; a pending transfer past its timeout is expired (its reservation released) on the way.</summary>
    public async Task<Transfer?> GetTransferAsync(TransferId id, CancellationToken ct = default)
    {
        if (id.Value is null) return null;
        var item = await _store.GetAsync(TransferKey(id), ct).ConfigureAwait(false);
        if (item is null) return null;
        var t = ReadTransfer(item);
        var state = await StateNowAsync(t, _time.GetUtcNow(), ct).ConfigureAwait(false);
        return state == t.State ? t : t with { State = state };
    }

    /// <summary>The state of a pending transfer at <paramref name="now"/>, expiring it in the store if its time has come.</summary>
    private async Task<PendingState> StateNowAsync(Transfer t, DateTimeOffset now, CancellationToken ct)
    {
        if (t.State != PendingState.Pending || t.ExpiresAt is not { } exp || now < exp) return t.State;
        if (await ExpireAsync(t, now, ct).ConfigureAwait(false)) return PendingState.Expired;
        var fresh = await _store.GetAsync(TransferKey(t.Id), ct).ConfigureAwait(false);
        return fresh is null ? PendingState.Expired : ReadTransfer(fresh).State;
    }

    /// <summary>Expires one pending transfer: state and expired event, both reservations in one transaction, conditioned
    /// on it still being pending. False if it was resolved meanwhile.</summary>
    private async Task<bool> ExpireAsync(Transfer t, DateTimeOffset now, CancellationToken ct)
    {
        var ops = new List<TransactOp>
        {
            TransactOp.Update(TransferKey(t.Id),
                new Update().Set("state", PendingState.Expired.ToString()).Set(Event, PendingExpired).Set(EventAt, now.UtcTicks)
                    .Remove("GSI1PK").Remove("GSI1SK"),
                Condition.AttributeEquals("state", PendingState.Pending.ToString())),
            TransactOp.Update(ShardKey(t.Debit, t.DebitShard), new Update().Add(Dpe, -t.Amount).Add(Dnet, t.Amount), Condition.ItemExists),
            TransactOp.Update(ShardKey(t.Credit, t.CreditShard), new Update().Add(Cpe, -t.Amount).Add(Cnet, t.Amount), Condition.ItemExists),
        };
        try
        {
            await _store.TransactWriteAsync(ops, ct).ConfigureAwait(false);
            return true;
        }
        catch (ConditionFailedException)
        {
            return false;
        }
    }

    /// <summary>
    /// Expires every pending transfer whose timeout has passed, up to <paramref name="max"/>, found through the sparse expiry
    /// index (GSI1, one query per partition, oldest first); never a scan. Returns how many it expired. Safe to run anywhere,
    /// any number of times, beside lazy expiry: each expiry is conditioned on the transfer still being pending.
    /// </summary>
    public async Task<int> ExpirePendingAsync(int max = 1000, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        var now = _time.GetUtcNow();
        var upTo = (now.UtcTicks + 1).ToString("D19", System.Globalization.CultureInfo.InvariantCulture);
        var expired = 0;
        for (var p = 0; p < _options.ExpiryPartitions && expired < max; p++)
        {
            string? cursor = null;
            do
            {
                var page = await _store.QueryAsync(new Query(ExpiryPartition(p))
                {
                    Index = "GSI1",
                    SortKey = SortKeyCondition.LessThan(upTo),
                    Limit = Math.Min(100, max - expired),
                    Cursor = cursor,
                }, ct).ConfigureAwait(false);
                foreach (var indexed in page.Items)
                {
                    // The index may lag (DynamoDB): decide on a strongly consistent read of the transfer.
                    var item = await _store.GetAsync(indexed.Key, ct).ConfigureAwait(false);
                    if (item is null) continue;
                    var t = ReadTransfer(item);
                    if (t.State == PendingState.Pending && t.ExpiresAt <= now && await ExpireAsync(t, now, ct).ConfigureAwait(false))
                        expired++;
                    if (expired >= max) break;
                }
                cursor = page.Cursor;
            } while (cursor is not null && expired < max);
        }
        return expired;
    }

    // ---------------------------------------------------------------- history

    /// <summary>
    /// The transfers touching an account (as debit or credit; posts and voids included), oldest first, <paramref name="limit"/>
    /// a page. The cursor is the sort key of the last transfer returned (opaque to callers). Each page queries GSI2 and GSI3
    /// once per shard of the account and merges them; on DynamoDB index reads are eventually consistent.
    /// </summary>
    public async Task<Page<Transfer>> GetHistoryAsync(AccountId id, int limit = 50, string? cursor = null, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 1000);
        var after = cursor is null ? null : DecodeCursor(cursor);
        var account = await GetAccountAsync(id, ct).ConfigureAwait(false);
        if (account is null) return new Page<Transfer>([], null);

        var streams = new List<Task<(Page<Item> Page, string SkName)>>();
        for (var s = 0; s < account.Shards; s++)
        {
            foreach (var index in (string[])["GSI2", "GSI3"])
            {
                var query = new Query(HistoryPartition(id, s))
                {
                    Index = index,
                    SortKey = after is null ? null : SortKeyCondition.GreaterThan(after),
                    Limit = limit,
                };
                var skName = index + "SK";
                streams.Add(QueryStream(query, skName, ct));
            }
        }
        var pages = await Task.WhenAll(streams).ConfigureAwait(false);

        // A stream with more pages only vouches for order up to its last item: merge no further than the smallest such bound.
        string? bound = null;
        foreach (var (page, skName) in pages)
        {
            if (page.Cursor is null || page.Items.Count == 0) continue;
            var last = page.Items[^1].RequireString(skName);
            if (bound is null || string.CompareOrdinal(last, bound) < 0) bound = last;
        }
        var merged = pages.SelectMany(p => p.Page.Items.Select(i => (Sk: i.RequireString(p.SkName), Item: i)))
            .Where(x => bound is null || string.CompareOrdinal(x.Sk, bound) <= 0)
            .OrderBy(x => x.Sk, StringComparer.Ordinal)
            .ToList();
        var taken = merged.Take(limit).ToList();
        var more = merged.Count > limit || pages.Any(p => p.Page.Cursor is not null);
        var next = more && taken.Count > 0 ? EncodeCursor(taken[^1].Sk) : null;
        return new Page<Transfer>(taken.Select(x => ReadTransfer(x.Item)).ToList(), next);
    }

    private async Task<(Page<Item>, string)> QueryStream(Query query, string skName, CancellationToken ct) =>
        (await _store.QueryAsync(query, ct).ConfigureAwait(false), skName);

    private static string EncodeCursor(string sk) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(sk)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string DecodeCursor(string cursor)
    {
        try
        {
            var b64 = cursor.Replace('-', '+').Replace('_', '/');
            b64 = b64.PadRight(b64.Length + (4 - b64.Length % 4) % 4, '=');
            var sk = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(b64));
            if (sk.Length > 20 && sk[19] == '#' && sk[..19].All(char.IsAsciiDigit) && TransferId.TryParse(sk[20..], out _)) return sk;
        }
        catch (FormatException)
        {
        }
        throw new ArgumentException("The history cursor is not one this ledger returned.", nameof(cursor));
    }

    private static void RequireId(AccountId id)
    {
        if (id.Owner is null) throw new ArgumentException("The account id is empty.", nameof(id));
    }
}
