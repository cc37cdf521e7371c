using System.Numerics;
using System.Text.Json.Serialization;

namespace Molly.Signer;

/// <summary>
/// The Step Functions task input of the withdrawal workflow's signing state: which withdrawal, which configured wallet, and the
/// prepared transaction. Integers that fit 64 bits are JSON numbers; wei amounts are decimal strings (never JSON numbers).
/// </summary>
public sealed record SignEvmWithdrawalRequest
{
    public required string WithdrawalId { get; init; }

    /// <summary>A wallet name from <see cref="SignerOptions.Wallets"/>; the key is looked up, never taken from the request.</summary>
    public required string Wallet { get; init; }

    public required EvmEip1559Fields Transaction { get; init; }
}

/// <summary>The fields of an EIP-1559 (type 2) transaction, as the preparing step computed them (nonce, fees, gas).</summary>
public sealed record EvmEip1559Fields
{
    /// <summary>Always <c>eip1559</c>: the one format this signer builds.</summary>
    public required string Type { get; init; }

    public required ulong ChainId { get; init; }

    public required ulong Nonce { get; init; }

    public required string To { get; init; }

    /// <summary>Wei, decimal string.</summary>
    public required string Value { get; init; }

    /// <summary>0x-prefixed calldata: empty for a native transfer, an ERC-20 transfer(address,uint256) otherwise.</summary>
    public required string Data { get; init; }

    public required ulong GasLimit { get; init; }

    /// <summary>Wei per gas, decimal string.</summary>
    public required string MaxFeePerGas { get; init; }

    /// <summary>Wei per gas, decimal string.</summary>
    public required string MaxPriorityFeePerGas { get; init; }
}

/// <summary>The task output: the raw signed transaction for eth_sendRawTransaction and its hash.</summary>
public sealed record SignedWithdrawalV1(
    string WithdrawalId, string Wallet, string From, ulong ChainId, ulong Nonce, string TxHash, string RawTransaction);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(SignEvmWithdrawalRequest))]
[JsonSerializable(typeof(SignedWithdrawalV1))]
public sealed partial class SignerJson : JsonSerializerContext;

internal static class WeiAmount
{
    private static readonly BigInteger Max = (BigInteger.One << 256) - 1;

    /// <summary>A canonical decimal string (no sign, no leading zeros, no exponent) of a uint256.</summary>
    public static BigInteger Parse(string text, string field)
    {
        if (text.Length is 0 or > 78 || (text.Length > 1 && text[0] == '0') || !text.All(char.IsAsciiDigit))
            throw new MollyPermanent($"transaction.{field} must be a decimal string of base units (no sign, no leading zeros).");
        var value = BigInteger.Parse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture);
        return value <= Max ? value : throw new MollyPermanent($"transaction.{field} does not fit 256 bits.");
    }
}
