using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace Molly.Signer;

/// <summary>
/// Which KMS key signs for which wallet, and on which EVM chains. The caller names a wallet; the key comes from here only
/// (never from the request). Environment: <c>Molly__Signer__Wallets__hot__KeyId</c>, <c>Molly__Signer__Wallets__hot__EvmChainIds__0</c>.
/// </summary>
public sealed class SignerOptions
{
    public const string Section = "Molly:Signer";

    public Dictionary<string, SignerWalletOptions> Wallets { get; set; } = new(StringComparer.Ordinal);
}

public sealed class SignerWalletOptions
{
    /// <summary>A KMS key or alias ARN, or <c>alias/name</c>.</summary>
    public string KeyId { get; set; } = "";

    /// <summary>EIP-155 chain ids this wallet may sign for: the same key is an address on every EVM chain, so a transaction for
    /// a chain not listed here is refused (it could move funds the gateway does not track).</summary>
    public List<ulong> EvmChainIds { get; set; } = [];
}

public sealed partial class SignerOptionsValidator : IValidateOptions<SignerOptions>
{
    public ValidateOptionsResult Validate(string? name, SignerOptions options)
    {
        var failures = new List<string>();
        if (options.Wallets.Count == 0) failures.Add("Molly:Signer:Wallets: at least one wallet is required.");
        foreach (var (wallet, settings) in options.Wallets)
        {
            if (!WalletName().IsMatch(wallet)) failures.Add($"Molly:Signer:Wallets: '{wallet}' is not a wallet name (a-z, 0-9, '-', up to 32).");
            if (!KeyId().IsMatch(settings.KeyId))
                failures.Add($"Molly:Signer:Wallets:{wallet}:KeyId must be a KMS key/alias ARN or alias/name.");
            if (settings.EvmChainIds.Count == 0 || settings.EvmChainIds.Contains(0UL))
                failures.Add($"Molly:Signer:Wallets:{wallet}:EvmChainIds must list one or more chain ids above 0.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    [GeneratedRegex("^[a-z][a-z0-9-]{0,31}$")]
    internal static partial Regex WalletName();

    [GeneratedRegex(@"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[A-Za-z0-9/_-]+|alias/[A-Za-z0-9/_-]+)$")]
    private static partial Regex KeyId();
}
