using Amazon.KeyManagementService;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Molly.Signer;

namespace Molly.SignerFunction;

/// <summary>
/// The withdrawal signer on AWS: a Step Functions task input (<see cref="SignEvmWithdrawalRequest"/>) in, the raw signed
/// transaction and its hash out. Configuration from the environment (<c>Molly__Signer__Wallets__{name}__KeyId</c>,
/// <c>..__EvmChainIds__{i}</c>), validated when the instance starts.
/// </summary>
public sealed class Function
{
    /// <summary>Under the function's 30 s timeout, so a slow KMS ends as Molly.Transient (retried) rather than a killed instance.</summary>
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(25);

    private static readonly Lazy<WithdrawalSigner> FromEnvironment = new(() => WithdrawalSigner.Create(
        new ConfigurationBuilder().AddEnvironmentVariables().Build(),
        new AmazonKeyManagementServiceClient(new AmazonKeyManagementServiceConfig { Timeout = TimeSpan.FromSeconds(10), MaxErrorRetry = 2 }),
        LoggerFactory.Create(b => b.AddJsonConsole())));

    private readonly WithdrawalSigner _signer;

    public Function() : this(FromEnvironment.Value) { }

    internal Function(WithdrawalSigner signer) => _signer = signer;

    public async Task<Stream> Handle(Stream input)
    {
        using var budget = new CancellationTokenSource(Budget);
        return await _signer.HandleAsync(input, budget.Token).ConfigureAwait(false);
    }
}
