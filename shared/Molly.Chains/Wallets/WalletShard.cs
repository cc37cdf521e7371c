using System.Globalization;

namespace Molly.Chains.Wallets;

/// <summary>
/// Deposit addresses are grouped in shards of <see cref="Size"/> consecutive indexes; each shard has its own
/// hot and warm wallet so no single wallet item becomes a hot partition.
/// </summary>
public sealed record WalletShard(string Chain, uint Number, string HotWalletId, string WarmWalletId)
{
    public const uint Size = 10_000;

    public uint FirstIndex => Number * Size;

    public uint LastIndex => FirstIndex + Size - 1;

    public static WalletShard Of(string chain, uint index)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(chain);
        var c = chain.ToLowerInvariant();
        var shard = index / Size;
        var n = shard.ToString("D6", CultureInfo.InvariantCulture);
        return new WalletShard(c, shard, $"{c}-hot-{n}", $"{c}-warm-{n}");
    }
}
