using System.Threading.Channels;
using Molly.Storage;

namespace Molly.Ledger;

/// <summary>
/// Coalescing: concurrent <see cref="Ledger.SubmitAsync(IReadOnlyList{TransferCommand}, CancellationToken)"/> calls made only of
/// <see cref="CreateTransfer"/> commands queue up while earlier groups are being written, and the queue is written as ONE
/// store transaction (up to <see cref="LedgerOptions.CoalesceMaxTransfers"/> transfers and <see cref="LedgerOptions.CoalesceMaxItems"/>
/// items), planned exactly as
/// one linked batch of all their commands in queue order: the balance shards are updated once per account with the summed
/// amounts, conditioned on the worst running balance of that order. So a group that commits is equivalent to running its
/// calls one after another in that order, each all-or-nothing. If the group's transaction fails (a limit, an id that
/// exists, a duplicate id across calls, a lost race) nothing of it was written and its halves are run the same way, first
/// then second, down to single calls that run on their own with their own result: one bad transfer never fails the others.
/// </summary>
public sealed partial class Ledger
{
    private readonly Channel<QueuedBatch> _queue = Channel.CreateUnbounded<QueuedBatch>(
        new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });
    private SemaphoreSlim? _groupSlots;
    private int _pumpStarted;

    /// <summary>False when coalescing is off, for a post or void (they read before planning), or for a batch too large to
    /// share a transaction: its items (1 per transfer, its own outbox record, plus one balance shard per account) alone.</summary>
    private bool IsCoalescable(IReadOnlyList<TransferCommand> batch)
    {
        if (_options.CoalesceMaxTransfers <= 1 || batch.Count > _options.CoalesceMaxTransfers) return false;
        foreach (var c in batch)
            if (c is not CreateTransfer) return false;
        return batch.Count + Accounts(batch).Count() <= _options.CoalesceMaxItems;
    }

    private static IEnumerable<AccountId> Accounts(IReadOnlyList<TransferCommand> batch) =>
        batch.Cast<CreateTransfer>().SelectMany(c => (AccountId[])[c.Debit, c.Credit]).Distinct();

    private Task<IReadOnlyList<TransferResult>> EnqueueAsync(IReadOnlyList<TransferCommand> batch, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var queued = new QueuedBatch(batch, ct);
        if (Interlocked.Exchange(ref _pumpStarted, 1) == 0)
        {
            _groupSlots = new SemaphoreSlim(_options.CoalesceMaxInFlight);
            // The pump outlives the call that starts it: it must not carry that caller's async-local context.
            using (ExecutionContext.SuppressFlow()) _ = Task.Run(PumpAsync, CancellationToken.None);
        }
        _queue.Writer.TryWrite(queued);
        return queued.Task;
    }

    /// <summary>Takes what queued up while all group slots were busy and starts it as one group; never returns.</summary>
    private async Task PumpAsync()
    {
        var reader = _queue.Reader;
        var slots = _groupSlots!;
        QueuedBatch? carried = null;
        while (carried is not null || await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            await slots.WaitAsync().ConfigureAwait(false);
            var group = new List<QueuedBatch>();
            var accounts = new HashSet<AccountId>();
            int items = 0, transfers = 0;
            while (carried is not null || reader.TryRead(out carried))
            {
                var next = carried;
                carried = null;
                if (next.CancellationToken.IsCancellationRequested)
                {
                    next.Complete(null, new OperationCanceledException(next.CancellationToken));
                    continue;
                }
                var newAccounts = Accounts(next.Batch).Count(a => !accounts.Contains(a));
                var nextItems = items + next.Batch.Count + newAccounts;
                if (group.Count > 0 && (nextItems > _options.CoalesceMaxItems || transfers + next.Batch.Count > _options.CoalesceMaxTransfers))
                {
                    carried = next;
                    break;
                }
                group.Add(next);
                accounts.UnionWith(Accounts(next.Batch));
                items = nextItems;
                transfers += next.Batch.Count;
            }
            if (group.Count == 0)
            {
                slots.Release();
                continue;
            }
            _ = RunGroupAsync(group, slots);
        }
    }

    private async Task RunGroupAsync(List<QueuedBatch> group, SemaphoreSlim slots)
    {
        try
        {
            await RunAsync(group, outcomeUnknown: false).ConfigureAwait(false);
        }
        finally
        {
            slots.Release();
        }
    }

    /// <summary>Writes the calls as one transaction; if that fails, nothing of it was written and the first half, then the
    /// second half, are run the same way (so one bad call costs a few transactions, not one per call), down to single
    /// calls, which run on their own with their own diagnosis and answer.</summary>
    private async Task RunAsync(List<QueuedBatch> group, bool outcomeUnknown)
    {
        if (group.Count == 1)
        {
            var q = group[0];
            try
            {
                q.Complete(await SubmitAloneAsync(q.Batch, outcomeUnknown, q.CancellationToken).ConfigureAwait(false), null);
            }
            catch (Exception e)
            {
                q.Complete(null, e);
            }
            return;
        }
        try
        {
            var commands = group.SelectMany(q => q.Batch).ToList();
            var plan = await PlanAsync(commands, [], _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
            if (plan.Results is null)
            {
                await _store.TransactWriteAsync(plan.Ops, CancellationToken.None).ConfigureAwait(false);
                foreach (var q in group) q.Complete(new TransferResult[q.Batch.Count], null);
                return;
            }
        }
        catch (ConditionFailedException)
        {
            // Nothing of the group was written.
        }
        catch (StoreUnavailableException)
        {
            outcomeUnknown = true; // The group may have committed: the halves find their ids (Exists) and answer Ok.
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Planning failed (a store read): the calls meet the failure on their own.
        }
        var half = group.Count / 2;
        await RunAsync(group[..half], outcomeUnknown).ConfigureAwait(false);
        await RunAsync(group[half..], outcomeUnknown).ConfigureAwait(false);
    }

    private sealed class QueuedBatch(IReadOnlyList<TransferCommand> batch, CancellationToken ct)
    {
        private readonly TaskCompletionSource<IReadOnlyList<TransferResult>> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IReadOnlyList<TransferCommand> Batch { get; } = batch;

        public CancellationToken CancellationToken { get; } = ct;

        public Task<IReadOnlyList<TransferResult>> Task => _tcs.Task;

        public void Complete(IReadOnlyList<TransferResult>? results, Exception? error)
        {
            if (error is OperationCanceledException && CancellationToken.IsCancellationRequested) _tcs.TrySetCanceled(CancellationToken);
            else if (error is not null) _tcs.TrySetException(error);
            else _tcs.TrySetResult(results!);
        }
    }
}
