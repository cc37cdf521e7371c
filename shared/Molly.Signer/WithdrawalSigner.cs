using System.Numerics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Amazon.KeyManagementService;
using Amazon.Runtime;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Molly.Chains.Evm;
using Molly.Chains.Kms;
using Molly.Chains.Signing;

namespace Molly.Signer;

/// <summary>
/// Signs one prepared withdrawal transaction with the configured wallet's KMS key. The only code that calls kms:Sign (its
/// Lambda runs as the signer role, the one principal the wallet keys' policies allow). Strict: an unknown field, a wallet or
/// chain not configured, calldata other than an ERC-20 transfer, or inconsistent fees is <see cref="MollyPermanent"/> before
/// KMS is called. Logs name the withdrawal, wallet, chain, nonce and transaction hash; never the signature or raw bytes.
/// </summary>
public sealed partial class WithdrawalSigner
{
    /// <summary>A plain transfer costs 21000; a token transfer well under 100k. Anything above this bound is not a withdrawal.</summary>
    public const ulong MinGasLimit = 21_000, MaxGasLimit = 500_000;

    /// <summary>transfer(address,uint256) calldata: selector and two words.</summary>
    public const int MaxDataBytes = 4 + 64;

    private readonly SignerOptions _options;
    private readonly ISigner _signer;
    private readonly ILogger _log;

    public WithdrawalSigner(SignerOptions options, ISigner signer, ILogger<WithdrawalSigner> log)
    {
        var validation = new SignerOptionsValidator().Validate(null, options);
        if (validation.Failed) throw new OptionsValidationException(SignerOptions.Section, typeof(SignerOptions), validation.Failures);
        _options = options;
        _signer = signer;
        _log = log;
    }

    /// <summary>Binds <see cref="SignerOptions"/> from <paramref name="configuration"/> (fails at start when invalid) over a KMS client.</summary>
    public static WithdrawalSigner Create(IConfiguration configuration, IAmazonKeyManagementService kms, ILoggerFactory logs) =>
        new(configuration.GetSection(SignerOptions.Section).Get<SignerOptions>() ?? new SignerOptions(), new KmsSigner(kms),
            logs.CreateLogger<WithdrawalSigner>());

    /// <summary>Task input JSON in, <see cref="SignedWithdrawalV1"/> JSON out.</summary>
    public async Task<Stream> HandleAsync(Stream input, CancellationToken cancellationToken)
    {
        SignEvmWithdrawalRequest request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(input, SignerJson.Default.SignEvmWithdrawalRequest, cancellationToken).ConfigureAwait(false)
                ?? throw new MollyPermanent("The sign request is null.");
        }
        catch (JsonException e)
        {
            _log.LogWarning("Refused a sign request that is not a valid SignEvmWithdrawal input: {Reason}", e.Message);
            throw new MollyPermanent($"Invalid sign request: {e.Message}", e);
        }
        var signed = await SignAsync(request, cancellationToken).ConfigureAwait(false);
        var output = new MemoryStream();
        await JsonSerializer.SerializeAsync(output, signed, SignerJson.Default.SignedWithdrawalV1, cancellationToken).ConfigureAwait(false);
        output.Position = 0;
        return output;
    }

    public async Task<SignedWithdrawalV1> SignAsync(SignEvmWithdrawalRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        (string KeyId, Eip1559Transaction Tx) prepared;
        try
        {
            prepared = Prepare(request);
        }
        catch (MollyPermanent e)
        {
            _log.LogWarning("Refused to sign withdrawal {WithdrawalId}: {Reason}", SafeId(request.WithdrawalId), e.Message);
            throw;
        }

        try
        {
            var publicKey = await _signer.GetPublicKeyAsync(prepared.KeyId, cancellationToken).ConfigureAwait(false);
            var signed = await prepared.Tx.SignAsync(_signer, prepared.KeyId, cancellationToken).ConfigureAwait(false);
            var from = EvmAddress.FromPublicKey(publicKey.Key.Span);
            var txHash = EvmHex.Encode(signed.Hash);
            _log.LogInformation("Signed withdrawal {WithdrawalId} with wallet {Wallet} ({From}) on chain {ChainId}, nonce {Nonce}: tx {TxHash}",
                request.WithdrawalId, request.Wallet, from.ToString(), request.Transaction.ChainId, request.Transaction.Nonce, txHash);
            return new SignedWithdrawalV1(request.WithdrawalId, request.Wallet, from.ToString(), request.Transaction.ChainId,
                request.Transaction.Nonce, txHash, signed.ToHex());
        }
        catch (Exception e) when (Classify(e) is { } error)
        {
            _log.LogError("Signing withdrawal {WithdrawalId} with wallet {Wallet} failed ({Error}): {Reason}",
                request.WithdrawalId, request.Wallet, error.GetType().Name, e.Message);
            throw error;
        }
    }

    private (string KeyId, Eip1559Transaction Tx) Prepare(SignEvmWithdrawalRequest request)
    {
        if (!WithdrawalId().IsMatch(request.WithdrawalId))
            throw new MollyPermanent("withdrawalId must be 1 to 128 characters of A-Z a-z 0-9 _ - : . #.");
        if (!_options.Wallets.TryGetValue(request.Wallet, out var wallet))
            throw new MollyPermanent($"Wallet '{SafeId(request.Wallet)}' is not configured for signing.");
        var t = request.Transaction;
        if (t.Type != "eip1559") throw new MollyPermanent("transaction.type must be 'eip1559'.");
        if (!wallet.EvmChainIds.Contains(t.ChainId))
            throw new MollyPermanent($"Wallet '{request.Wallet}' does not sign for chain id {t.ChainId}.");
        if (t.Nonce == ulong.MaxValue) throw new MollyPermanent("transaction.nonce must be below 2^64-1 (EIP-2681).");
        if (!EvmAddress.TryParse(t.To, out var to, out var addressError)) throw new MollyPermanent($"transaction.to: {addressError}");
        if (t.GasLimit is < MinGasLimit or > MaxGasLimit)
            throw new MollyPermanent($"transaction.gasLimit must be {MinGasLimit} to {MaxGasLimit}.");

        var value = WeiAmount.Parse(t.Value, "value");
        var maxFee = WeiAmount.Parse(t.MaxFeePerGas, "maxFeePerGas");
        var priorityFee = WeiAmount.Parse(t.MaxPriorityFeePerGas, "maxPriorityFeePerGas");
        if (maxFee.IsZero) throw new MollyPermanent("transaction.maxFeePerGas must be above 0.");
        if (priorityFee > maxFee) throw new MollyPermanent("transaction.maxPriorityFeePerGas must not exceed maxFeePerGas.");

        if (!t.Data.StartsWith("0x", StringComparison.Ordinal) || t.Data.Length % 2 != 0 || t.Data.Length > 2 + 2 * MaxDataBytes
            || !t.Data.Skip(2).All(char.IsAsciiHexDigit))
            throw new MollyPermanent($"transaction.data must be 0x-prefixed hex, an even number of digits, at most {MaxDataBytes} bytes.");
        var data = Convert.FromHexString(t.Data.AsSpan(2));
        // A withdrawal moves native coin (no calldata) or tokens (transfer(address,uint256), no value); nothing else is signed.
        if (data.Length == 0)
        {
            if (value.IsZero) throw new MollyPermanent("A native withdrawal needs transaction.value above 0.");
        }
        else if (!Erc20.TryDecodeTransfer(data, out _, out var tokens) || tokens.IsZero || !value.IsZero)
        {
            throw new MollyPermanent("transaction.data must be empty or an ERC-20 transfer(address,uint256) of more than 0 with value 0.");
        }

        return (wallet.KeyId, new Eip1559Transaction
        {
            ChainId = t.ChainId, Nonce = t.Nonce, To = to, Value = value, Data = data, GasLimit = t.GasLimit,
            MaxFeePerGas = maxFee, MaxPriorityFeePerGas = priorityFee,
        });
    }

    /// <summary>Which contract error a signing failure is: permanent (the key or its configuration is wrong) or transient.</summary>
    private static Exception? Classify(Exception e) => e switch
    {
        MollyPermanent or MollyTransient => e,
        SignerKeyNotFoundException or SignerKeyAlgorithmMismatchException => new MollyPermanent(e.Message, e),
        SignerException { InnerException: AmazonServiceException service } => IsTransient(service)
            ? new MollyTransient(e.Message, e) : new MollyPermanent(e.Message, e),
        SignerException => new MollyTransient(e.Message, e), // a malformed or unrecoverable signature: KMS may answer right next time
        AmazonServiceException service => IsTransient(service) ? new MollyTransient($"KMS: {service.ErrorCode}", e) : new MollyPermanent($"KMS: {service.ErrorCode}", e),
        HttpRequestException or IOException or TimeoutException or OperationCanceledException or AmazonClientException
            => new MollyTransient($"KMS unreachable: {e.GetType().Name}", e),
        _ => null,
    };

    private static bool IsTransient(AmazonServiceException e) =>
        (int)e.StatusCode >= 500 || e.ErrorCode is "ThrottlingException" or "KMSInternalException" or "DependencyTimeoutException"
            or "LimitExceededException" or "RequestLimitExceeded";

    private static string SafeId(string? text) => text is null ? "" : text.Length <= 64 ? text : text[..64] + "...";

    [GeneratedRegex("^[A-Za-z0-9_:.#-]{1,128}$")]
    private static partial Regex WithdrawalId();
}
