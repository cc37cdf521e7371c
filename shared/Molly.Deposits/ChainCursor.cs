using Molly.Chains.Evm;
using Molly.Storage;

namespace Molly.Deposits;

/// <summary>
/// Where a chain watcher is (item <c>cursor#evm#{chain}#{network}</c> / <c>cursor</c>):
/// <list type="bullet">
/// <item><see cref="Next"/>: the next block to scan; the hashes of the blocks just below it are <see cref="Hashes"/> (a
/// contiguous window, oldest first, at most the reorg window long), so a parent-hash mismatch can be traced back to the
/// common ancestor;</item>
/// <item><see cref="RecordedBelow"/>: every deposit of the blocks below it is written. It lags <see cref="Next"/> only between
/// the two cursor writes of a pass with deposits: the window first takes the new blocks' hashes (so a crash while writing the
/// deposits leaves their blocks known, and a reorg of them is found), then the deposits are written, then this moves up.</item>
/// </list>
/// Writes are conditioned on <c>version</c>: a second watcher on the same chain fails instead of interleaving.
/// </summary>
public sealed class ChainCursor
{
    private const int HashLength = 32;

    public ulong Next { get; private set; }
    public ulong RecordedBelow { get; private set; }
    public List<string> Hashes { get; } = [];
    public long Version { get; private set; }

    /// <summary>The hash of block 0 of the chain this cursor follows (a dev chain started afresh has another).</summary>
    public string? Genesis { get; private set; }

    /// <summary>The number of the oldest block in <see cref="Hashes"/>.</summary>
    public ulong WindowStart => Next - (ulong)Hashes.Count;

    public string? HashOf(ulong number) =>
        number >= WindowStart && number < Next ? Hashes[(int)(number - WindowStart)] : null;

    /// <summary>A new cursor before <paramref name="block"/>; <paramref name="parentHash"/> (of block - 1) opens the window.</summary>
    public static ChainCursor StartAt(ulong block, string? parentHash, string genesis, long version = 0)
    {
        var cursor = new ChainCursor { Next = block, RecordedBelow = block, Genesis = genesis, Version = version };
        if (parentHash is not null) cursor.Hashes.Add(parentHash);
        return cursor;
    }

    /// <summary>Appends scanned blocks (contiguous from <see cref="Next"/>) and trims the window.</summary>
    public void Advance(IReadOnlyList<Molly.Chains.Rpc.Evm.EvmBlock> blocks, int window, bool recorded)
    {
        foreach (var b in blocks)
        {
            if (b.Number != Next) throw new InvalidOperationException($"Block {b.Number} does not follow {Next - 1}.");
            Hashes.Add(b.Hash);
            Next++;
        }
        if (recorded) RecordedBelow = Next;
        Trim(window);
    }

    public void MarkRecorded(int window)
    {
        RecordedBelow = Next;
        Trim(window);
    }

    /// <summary>Keeps the last <paramref name="window"/> hashes, and always those of blocks whose deposits are not all written.</summary>
    private void Trim(int window)
    {
        var keep = Math.Max(window, (int)(Next - RecordedBelow));
        if (Hashes.Count > keep) Hashes.RemoveRange(0, Hashes.Count - keep);
    }

    /// <summary>Rewinds to just after <paramref name="ancestor"/> (a block of the window that is still canonical).</summary>
    public void RewindTo(ulong ancestor)
    {
        if (ancestor < WindowStart || ancestor >= Next) throw new ArgumentOutOfRangeException(nameof(ancestor));
        Hashes.RemoveRange((int)(ancestor - WindowStart + 1), (int)(Next - ancestor - 1));
        Next = ancestor + 1;
        RecordedBelow = Math.Min(RecordedBelow, Next);
    }

    public static async Task<ChainCursor?> LoadAsync(IItemStore store, ItemKey key, CancellationToken ct)
    {
        var item = await store.GetAsync(key, ct).ConfigureAwait(false);
        if (item is null) return null;
        var cursor = new ChainCursor
        {
            Next = (ulong)item.RequireNumber("next"),
            RecordedBelow = (ulong)item.RequireNumber("recordedBelow"),
            Version = item.GetInt64("version") ?? 0,
            Genesis = item.GetString("genesis"),
        };
        var hashes = item.GetBinary("hashes") ?? ReadOnlyMemory<byte>.Empty;
        for (var i = 0; i + HashLength <= hashes.Length; i += HashLength)
            cursor.Hashes.Add(EvmHex.Encode(hashes.Span.Slice(i, HashLength)));
        return cursor;
    }

    public async Task SaveAsync(IItemStore store, ItemKey key, DateTimeOffset now, CancellationToken ct)
    {
        var hashes = new byte[Hashes.Count * HashLength];
        for (var i = 0; i < Hashes.Count; i++)
            EvmHex.Decode(Hashes[i], "block hash").CopyTo(hashes, i * HashLength);
        await store.PutAsync(new Item(key)
        {
            ["next"] = (long)Next,
            ["recordedBelow"] = (long)RecordedBelow,
            ["hashes"] = hashes,
            ["genesis"] = Genesis is null ? Storage.AttributeValue.Null : Genesis,
            ["updatedAt"] = now.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            ["version"] = Version + 1,
        }, Condition.VersionEquals(Version), ct).ConfigureAwait(false);
        Version++;
    }
}
