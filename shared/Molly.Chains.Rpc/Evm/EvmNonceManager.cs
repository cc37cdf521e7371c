using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Molly.Chains.Evm;
using Molly.Storage;

namespace Molly.Chains.Rpc.Evm;

/// <summary>
/// Hands out the nonces of a hot wallet so that no two transactions ever get the same one, however many senders run at
/// once (Lambda instances, threads). State lives in the item store, one item per (chain, wallet):
/// PK <c>nonce#{chain}#{address}</c>, SK <c>nonce</c>, attributes <c>next</c> (the next fresh nonce), <c>released</c>
/// (nonces given back, comma-separated) and <c>version</c>; every change is a Put conditioned on the version read, so
/// concurrent allocations serialise through the store (a lost race re-reads and tries again).
/// <para>Policy:</para>
/// <list type="bullet">
/// <item>Allocation takes the lowest released nonce first (a gap blocks every later transaction of the wallet), else
/// <c>next</c>. Before that it resyncs with the node: nonces below the node's pending count are used on chain, so
/// <c>next</c> moves up to it and released nonces below it are dropped. It never moves down on its own.</item>
/// <item>Release a nonce ONLY when its transaction was never broadcast, or the node rejected it for good. A broadcast
/// transaction may still be mined: its nonce is spent, even if it looks stuck (replace it with a higher fee instead).
/// Releasing the highest nonce lowers <c>next</c>; a lower one joins <c>released</c> and is reused next.</item>
/// <item><see cref="ResetAsync"/> is the operator's tool after transactions were dropped from every pool: <c>next</c>
/// becomes the node's pending count. Run it only when nothing is being sent from the wallet.</item>
/// </list>
/// </summary>
public sealed class EvmNonceManager
{
    private const int MaxAttempts = 200;

    private readonly IItemStore _store;
    private readonly IEvmRpc _rpc;
    private readonly string _chain;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public EvmNonceManager(IItemStore store, IEvmRpc rpc, string chain, TimeProvider? time = null, ILogger<EvmNonceManager>? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(chain);
        if (chain.Contains('#', StringComparison.Ordinal)) throw new ArgumentException("The chain key may not contain '#'.", nameof(chain));
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _rpc = rpc ?? throw new ArgumentNullException(nameof(rpc));
        _chain = chain;
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    public ItemKey KeyOf(EvmAddress wallet) => new($"nonce#{_chain}#{wallet.ToLowerHex()}", "nonce");

    /// <summary>The next nonce of <paramref name="wallet"/>, never handed to anyone else (until released).</summary>
    public async Task<ulong> AllocateAsync(EvmAddress wallet, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(wallet);
        var onChain = await _rpc.GetTransactionCountAsync(wallet, "pending", ct).ConfigureAwait(false);
        return await ChangeAsync(wallet, state =>
        {
            if (onChain > state.Next)
            {
                _logger.LogInformation("Nonce of {Chain} wallet {Wallet} resynced from {Stored} to the node's pending count {Pending}",
                    _chain, wallet, state.Next, onChain);
                state.Next = onChain;
            }
            state.Released.RemoveWhere(n => n < onChain);
            if (state.Released.Count > 0)
            {
                var reused = state.Released.Min;
                state.Released.Remove(reused);
                return reused;
            }
            return state.Next++;
        }, ct).ConfigureAwait(false);
    }

    /// <summary>Gives back a nonce whose transaction was never broadcast (or was rejected for good). Idempotent.</summary>
    public Task ReleaseAsync(EvmAddress wallet, ulong nonce, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(wallet);
        return ChangeAsync(wallet, state =>
        {
            if (nonce >= state.Next || state.Released.Contains(nonce)) return 0UL; // never handed out, or already back
            if (nonce == state.Next - 1)
            {
                state.Next = nonce;
                while (state.Next > 0 && state.Released.Remove(state.Next - 1)) state.Next--;
            }
            else
            {
                state.Released.Add(nonce);
            }
            return 0UL;
        }, ct);
    }

    /// <summary>Sets the wallet's next nonce to the node's pending count and forgets released nonces. Operators only, with
    /// sending stopped (see the class notes).</summary>
    public async Task<ulong> ResetAsync(EvmAddress wallet, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(wallet);
        var onChain = await _rpc.GetTransactionCountAsync(wallet, "pending", ct).ConfigureAwait(false);
        await ChangeAsync(wallet, state =>
        {
            _logger.LogWarning("Nonce of {Chain} wallet {Wallet} reset from {Stored} to {Pending}", _chain, wallet, state.Next, onChain);
            state.Next = onChain;
            state.Released.Clear();
            return 0UL;
        }, ct).ConfigureAwait(false);
        return onChain;
    }

    /// <summary>The stored state (next fresh nonce and released ones), or null when the wallet never allocated.</summary>
    public async Task<(ulong Next, IReadOnlyList<ulong> Released)?> PeekAsync(EvmAddress wallet, CancellationToken ct = default)
    {
        var item = await _store.GetAsync(KeyOf(wallet), ct).ConfigureAwait(false);
        if (item is null) return null;
        var state = State.From(item);
        return (state.Next, state.Released.ToList());
    }

    /// <summary>Read, change, write conditioned on the version read; a lost race waits a moment (jittered) and starts over.</summary>
    private async Task<ulong> ChangeAsync(EvmAddress wallet, Func<State, ulong> change, CancellationToken ct)
    {
        var key = KeyOf(wallet);
        for (var attempt = 1; ; attempt++)
        {
            var item = await _store.GetAsync(key, ct).ConfigureAwait(false);
            var state = item is null ? new State() : State.From(item);
            var result = change(state);
            var write = new Item(key)
            {
                ["chain"] = _chain,
                ["address"] = wallet.ToLowerHex(),
                ["next"] = (long)state.Next,
                ["released"] = string.Join(',', state.Released.Select(n => n.ToString(CultureInfo.InvariantCulture))),
                ["version"] = state.Version + 1,
                ["updatedAt"] = _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture),
            };
            if (state.Released.Count == 0) write["released"] = AttributeValue.Null;
            try
            {
                await _store.PutAsync(write, item is null ? Condition.ItemAbsent : Condition.VersionEquals(state.Version), ct).ConfigureAwait(false);
                return result;
            }
            catch (ConditionFailedException) when (attempt < MaxAttempts)
            {
                // Another sender won this round; back off a little (more after repeated losses) so the winners drain.
                var ceiling = Math.Min(2 + attempt * 2, 50);
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, ceiling)), _time, ct).ConfigureAwait(false);
            }
        }
    }

    private sealed class State
    {
        public ulong Next { get; set; }

        public SortedSet<ulong> Released { get; } = [];

        public long Version { get; private init; }

        public static State From(Item item)
        {
            var state = new State { Next = checked((ulong)item.RequireNumber("next")), Version = item.GetInt64("version") ?? 0 };
            if (item.GetString("released") is { Length: > 0 } released)
                foreach (var n in released.Split(',')) state.Released.Add(ulong.Parse(n, NumberStyles.None, CultureInfo.InvariantCulture));
            return state;
        }
    }
}
