using System.Numerics;
using Molly.Domain;

namespace Molly.Payments;

/// <summary>Where a payer sends a payment: the deposit address, its derivation path, the wallet URI and, on Solana, the reference
/// key that identifies the payment and, for SPL tokens, the recipient's associated token account that receives it.</summary>
public sealed record DepositTarget(string Address, string DerivationPath, string PaymentUri, string? Reference, string? TokenAccount = null);

/// <summary>
/// Turns an allocated index of an asset's chain into a deposit target. The implementation derives from the account xpub of the
/// chain (never a private key online) and builds the chain's payment URI (EIP-681, BIP21, Solana Pay).
/// </summary>
public interface IDepositTargetFactory
{
    DepositTarget Create(Asset asset, long index, BigInteger amount, string label);
}

/// <summary>Shards of the deposit-address space: 10,000 addresses each, with their own hot and warm wallet (the seeds' ratio).</summary>
public static class AddressShards
{
    public const int Size = 10_000;

    public static long ShardOf(long index) => index / Size;
}
