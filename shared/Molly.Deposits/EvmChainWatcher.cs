using Microsoft.Extensions.Logging;
using Molly.Chains.Evm;
using Molly.Chains.Rpc.Evm;
using Molly.Domain;
using Molly.Storage;

namespace Molly.Deposits;

/// <summary>What one pass did.</summary>
/// <param name="From">First block scanned (for a reorg: the first block that left the chain).</param>
/// <param name="Blocks">Blocks scanned.</param>
/// <param name="Deposits">Deposits written (detected or needs_review); replays of recorded ones do not count.</param>
/// <param name="Orphaned">Deposits orphaned by a reorg found in this pass.</param>
public sealed record WatchPass(ulong From, int Blocks, int Deposits, bool CaughtUp, bool Reorg = false, int Orphaned = 0);

/// <summary>The watcher cannot go on by itself (an operator decides): a reorg deeper than the cursor's window of block hashes,
/// or an endpoint that serves another chain (chain id, or the genesis block on a network that is never reset).</summary>
public sealed class ReorgTooDeepException(string message) : Exception(message);

/// <summary>The endpoint serves another chain than the one configured (see <see cref="ReorgTooDeepException"/>).</summary>
public sealed class ChainMismatchException(string message) : Exception(message);

/// <summary>
/// Follows one EVM chain's head and records deposits into watched addresses. A pass scans at most
/// <see cref="EvmChainOptions.MaxBlocksPerPass"/> blocks: the blocks themselves (their transactions' <c>to</c>, and their
/// hashes for the reorg check) and ONE eth_getLogs call over the range for the Transfer logs of the chain's registered tokens,
/// whatever the number of watched addresses; matching is in memory (<see cref="AddressSet"/>).
/// <para>Reorgs: a block whose parent hash is not the cursor's last hash (or a cursor tip the node no longer has) means the
/// chain changed. The watcher walks its window back to the newest block the node still has with the same hash (the common
/// ancestor), orphans the deposits recorded above it, rewinds the cursor, and the next pass scans the replacement chain.</para>
/// <para>Crash safety: see <see cref="ChainCursor"/>; every write is idempotent, so a crash at any point replays harmlessly.</para>
/// </summary>
public sealed class EvmChainWatcher
{
    private readonly IItemStore _store;
    private readonly IEvmRpc _rpc;
    private readonly EvmChainOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger _log;
    private readonly ItemKey _cursorKey;
    private readonly Asset? _native;
    private readonly long? _chainId;
    private readonly Dictionary<EvmAddress, Asset> _tokens;
    private ChainCursor? _cursor;

    public EvmChainWatcher(IItemStore store, IEvmRpc rpc, EvmChainOptions options, AssetRegistry assets, TimeProvider clock, ILogger log)
    {
        _store = store;
        _rpc = rpc;
        _options = options;
        _clock = clock;
        _log = log;
        _cursorKey = DepositKeys.Cursor(options.Chain, options.Network);
        var mine = assets.Assets.Where(a => a.Chain == options.Chain && a.Network == options.Network && a.Family == ChainFamily.Evm).ToList();
        if (mine.Count == 0) throw new ArgumentException($"The asset registry has no EVM asset on {options.Name}.", nameof(options));
        _native = mine.FirstOrDefault(a => a.IsNative);
        _chainId = mine[0].EvmChainId;
        _tokens = mine.Where(a => !a.IsNative).ToDictionary(a => EvmAddress.Parse(a.Contract!));
        Index = new WatchedAddressIndex(store, options.Chain, options.Network, TimeSpan.FromSeconds(options.IndexRefreshOverlapSeconds), clock, log);
        Recorder = new DepositRecorder(store, options.Chain, options.Network, clock, log);
    }

    public WatchedAddressIndex Index { get; }

    public DepositRecorder Recorder { get; }

    public string Name => _options.Name;

    /// <summary>When a pass of this instance last ended at the chain head (null: not yet).</summary>
    public DateTimeOffset? CaughtUpAt { get; private set; }

    /// <summary>Passes until the watcher has caught up with the head, <paramref name="maxPasses"/> are done, or the budget is spent.</summary>
    public async Task<List<WatchPass>> CatchUpAsync(int maxPasses, TimeSpan budget, CancellationToken ct)
    {
        var until = _clock.GetUtcNow() + budget;
        var passes = new List<WatchPass>();
        for (var i = 0; i < maxPasses && _clock.GetUtcNow() < until; i++)
        {
            var pass = await RunPassAsync(ct).ConfigureAwait(false);
            passes.Add(pass);
            if (pass.CaughtUp && !pass.Reorg) break;
        }
        return passes;
    }

    /// <summary>Runs passes until <paramref name="ct"/> is cancelled: at once while behind, every poll interval once caught up,
    /// with a growing pause (up to 30 s) after failures. A reorg deeper than the window stops the loop with its exception.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var poll = TimeSpan.FromMilliseconds(_options.PollIntervalMs);
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            TimeSpan pause;
            try
            {
                var pass = await RunPassAsync(ct).ConfigureAwait(false);
                failures = 0;
                pause = pass.CaughtUp || (pass.Blocks == 0 && !pass.Reorg) ? poll : TimeSpan.Zero;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is ReorgTooDeepException or ChainMismatchException)
            {
                _log.LogCritical(e, "Chain watcher {Chain} stopped: {Reason}", Name, e.Message);
                throw;
            }
            catch (Exception e)
            {
                failures++;
                pause = TimeSpan.FromMilliseconds(Math.Min(30_000, _options.PollIntervalMs * Math.Pow(2, Math.Min(failures, 10))));
                _log.LogWarning(e, "Chain watcher {Chain} pass failed ({Failures} in a row); retrying in {PauseMs} ms", Name, failures, (long)pause.TotalMilliseconds);
            }
            if (pause <= TimeSpan.Zero) continue;
            try
            {
                await Task.Delay(pause, _clock, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One bounded pass: finish a range whose deposits a crash left half-written, or check for a reorg, or scan the
    /// next blocks up to the head.</summary>
    public async Task<WatchPass> RunPassAsync(CancellationToken ct)
    {
        try
        {
            var pass = await PassAsync(ct).ConfigureAwait(false);
            if (pass.CaughtUp) CaughtUpAt = _clock.GetUtcNow();
            return pass;
        }
        catch
        {
            _cursor = null; // the pass may have moved the cursor in memory only: the next one starts from the stored cursor
            throw;
        }
    }

    private async Task<WatchPass> PassAsync(CancellationToken ct)
    {
        var cursor = _cursor ??= await LoadCursorAsync(ct).ConfigureAwait(false);
        var head = await _rpc.GetBlockNumberAsync(ct).ConfigureAwait(false);

        if (cursor.RecordedBelow < cursor.Next)
        {
            // A previous pass stored these blocks' hashes but may not have written all their deposits: scan them again if
            // they are still canonical (writes are idempotent), else it is a reorg.
            var from = cursor.RecordedBelow;
            var pending = await FetchBlocksAsync(from, cursor.Next - 1, ct).ConfigureAwait(false);
            if (pending.Count != (int)(cursor.Next - from) || pending.Any(b => b.Hash != cursor.HashOf(b.Number)))
                return await RewindAsync(cursor, head, ct).ConfigureAwait(false);
            var written = await ScanAsync(pending, ct).ConfigureAwait(false);
            if (written is null) return new WatchPass(from, 0, 0, false);
            cursor.MarkRecorded(_options.ReorgWindow);
            await SaveAsync(cursor, ct).ConfigureAwait(false);
            return new WatchPass(from, pending.Count, written.Value, head < cursor.Next);
        }

        if (head < cursor.Next)
        {
            // Nothing new: make sure the tip we hold is still the node's (a reorg to a shorter or equal chain).
            if (cursor.Hashes.Count > 0)
            {
                var tipNumber = Math.Min(head, cursor.Next - 1);
                var tip = tipNumber >= cursor.WindowStart ? await _rpc.GetBlockByNumberAsync(tipNumber, ct).ConfigureAwait(false) : null;
                if (tip is null || tip.Hash != cursor.HashOf(tipNumber))
                    return await RewindAsync(cursor, head, ct).ConfigureAwait(false);
            }
            return new WatchPass(cursor.Next, 0, 0, true);
        }

        var to = Math.Min(head, cursor.Next + (ulong)_options.MaxBlocksPerPass - 1);
        var blocks = await FetchBlocksAsync(cursor.Next, to, ct).ConfigureAwait(false);
        if (blocks.Count == 0) return new WatchPass(cursor.Next, 0, 0, false);
        if (cursor.Hashes.Count > 0 && blocks[0].ParentHash != cursor.Hashes[^1])
            return await RewindAsync(cursor, head, ct).ConfigureAwait(false);

        var start = cursor.Next;
        var candidates = await MatchAsync(blocks, ct).ConfigureAwait(false);
        if (candidates is null) return new WatchPass(start, 0, 0, false); // the chain moved under the pass
        if (candidates.Count == 0)
        {
            cursor.Advance(blocks, _options.ReorgWindow, recorded: true);
            await SaveAsync(cursor, ct).ConfigureAwait(false);
            return new WatchPass(start, blocks.Count, 0, cursor.Next > head);
        }

        cursor.Advance(blocks, _options.ReorgWindow, recorded: false);
        await SaveAsync(cursor, ct).ConfigureAwait(false);
        var recorded = await RecordAsync(candidates, ct).ConfigureAwait(false);
        cursor.MarkRecorded(_options.ReorgWindow);
        await SaveAsync(cursor, ct).ConfigureAwait(false);
        return new WatchPass(start, blocks.Count, recorded, cursor.Next > head);
    }

    private async Task<ChainCursor> LoadCursorAsync(CancellationToken ct)
    {
        var chainId = await _rpc.GetChainIdAsync(ct).ConfigureAwait(false);
        if (_chainId is { } expected && chainId != expected)
            throw new ChainMismatchException($"{Name}: the endpoint serves chain id {chainId}, the asset registry says {expected}.");
        var genesis = (await _rpc.GetBlockByNumberAsync(0, ct).ConfigureAwait(false))?.Hash
            ?? throw new InvalidOperationException($"{Name}: the node has no block 0.");

        var stored = await ChainCursor.LoadAsync(_store, _cursorKey, ct).ConfigureAwait(false);
        if (stored is not null && (stored.Genesis is null || stored.Genesis == genesis)) return stored;
        if (stored is not null && !_options.ChainResetAllowed)
            throw new ChainMismatchException($"{Name}: the node's genesis block {genesis} is not the one the cursor was written for ({stored.Genesis}).");
        if (stored is not null)
            _log.LogWarning("Chain watcher {Chain}: the chain was started afresh (new genesis block); starting over. Deposits of the old " +
                            "chain are left to the confirm workflow, which finds their blocks gone", Name);

        var start = _options.StartBlock is { } s ? (ulong)s : await _rpc.GetBlockNumberAsync(ct).ConfigureAwait(false);
        _log.LogInformation("Chain watcher {Chain} starts at block {Block}", Name, start);
        // The start block's parent opens the window, so a reorg of the very first block scanned is seen too.
        var parent = start > 0 ? await _rpc.GetBlockByNumberAsync(start - 1, ct).ConfigureAwait(false) : null;
        var cursor = ChainCursor.StartAt(start, parent?.Hash, genesis, stored?.Version ?? 0);
        await SaveAsync(cursor, ct).ConfigureAwait(false);
        return cursor;
    }

    private async Task<int?> ScanAsync(List<EvmBlock> blocks, CancellationToken ct)
    {
        var candidates = await MatchAsync(blocks, ct).ConfigureAwait(false);
        return candidates is null ? null : await RecordAsync(candidates, ct).ConfigureAwait(false);
    }

    /// <summary>The range's candidates, or null when the logs do not belong to the blocks fetched (a reorg during the pass).</summary>
    private async Task<List<DepositCandidate>?> MatchAsync(List<EvmBlock> blocks, CancellationToken ct)
    {
        IReadOnlyList<EvmLog> logs = [];
        if (_tokens.Count > 0)
        {
            logs = await _rpc.GetLogsAsync(new EvmLogFilter(blocks[0].Number, blocks[^1].Number, _tokens.Keys.ToList(),
                [[TransferMatcher.TransferTopic]]), ct).ConfigureAwait(false);
            var first = blocks[0].Number;
            foreach (var log in logs)
            {
                if (log.Removed) continue;
                if (log.BlockNumber < first || log.BlockNumber > blocks[^1].Number || blocks[(int)(log.BlockNumber - first)].Hash != log.BlockHash)
                {
                    _log.LogInformation("Chain watcher {Chain}: log of block {Block} does not match the block fetched; the chain moved, pass retried",
                        Name, log.BlockNumber);
                    return null;
                }
            }
        }
        // After the blocks are fetched: every address handed out before they were mined is in the index now.
        await Index.RefreshAsync(ct).ConfigureAwait(false);
        return TransferMatcher.Match(blocks, logs, Index.Addresses, _native, _tokens);
    }

    private async Task<int> RecordAsync(List<DepositCandidate> candidates, CancellationToken ct)
    {
        var recorded = 0;
        foreach (var c in candidates)
        {
            var outcome = await Recorder.RecordAsync(c, ct).ConfigureAwait(false);
            if (outcome is RecordOutcome.Recorded or RecordOutcome.NeedsReview) recorded++;
        }
        return recorded;
    }

    /// <summary>Blocks [from, to] in order, linked by parent hash; stops early at a block the node does not have yet or at a
    /// link that breaks (the chain moved while reading; the rest waits for the next pass).</summary>
    private async Task<List<EvmBlock>> FetchBlocksAsync(ulong from, ulong to, CancellationToken ct)
    {
        const int parallel = 8;
        var blocks = new List<EvmBlock>();
        for (var at = from; at <= to; at += parallel)
        {
            var batchEnd = Math.Min(to, at + parallel - 1);
            var fetched = await Task.WhenAll(Enumerable.Range(0, (int)(batchEnd - at + 1))
                .Select(i => _rpc.GetBlockByNumberAsync(at + (ulong)i, ct))).ConfigureAwait(false);
            foreach (var b in fetched)
            {
                if (b is null || (blocks.Count > 0 && b.ParentHash != blocks[^1].Hash)) return blocks;
                blocks.Add(b);
            }
        }
        return blocks;
    }

    private async Task<WatchPass> RewindAsync(ChainCursor cursor, ulong head, CancellationToken ct)
    {
        ulong? ancestor = null;
        var top = cursor.Next - 1;
        for (var n = Math.Min(top, head); n >= cursor.WindowStart; n--)
        {
            var block = await _rpc.GetBlockByNumberAsync(n, ct).ConfigureAwait(false);
            if (block is not null && block.Hash == cursor.HashOf(n)) { ancestor = n; break; }
            if (n == 0) break;
        }
        if (ancestor is null)
            throw new ReorgTooDeepException(
                $"{Name}: no block of the last {cursor.Hashes.Count} the watcher saw (from {cursor.WindowStart}) is canonical any more.");

        _log.LogWarning("Chain watcher {Chain}: reorg; blocks {From}..{To} left the chain, common ancestor {Ancestor}",
            Name, ancestor.Value + 1, top, ancestor.Value);
        var orphaned = 0;
        for (var n = ancestor.Value + 1; n <= top; n++)
        {
            var hash = cursor.HashOf(n);
            foreach (var deposit in await Recorder.AtHeightAsync(n, ct).ConfigureAwait(false))
                if (deposit.GetString("blockHash") == hash && await Recorder.OrphanAsync(deposit.Key, ct).ConfigureAwait(false))
                    orphaned++;
        }
        // The deposits go first: a crash before the cursor write finds the same mismatch again and re-does this (idempotent).
        cursor.RewindTo(ancestor.Value);
        await SaveAsync(cursor, ct).ConfigureAwait(false);
        return new WatchPass(ancestor.Value + 1, 0, 0, false, Reorg: true, Orphaned: orphaned);
    }

    private async Task SaveAsync(ChainCursor cursor, CancellationToken ct)
    {
        try
        {
            await cursor.SaveAsync(_store, _cursorKey, _clock.GetUtcNow(), ct).ConfigureAwait(false);
        }
        catch (ConditionFailedException)
        {
            _cursor = null;
            throw new InvalidOperationException($"The cursor of {Name} was moved by another watcher; this one re-reads it.");
        }
    }
}
