namespace Molly.Infra.Constructs;

/// <summary>
/// The Signer function's configuration (functions/Signer, shared/Molly.Signer): wallet name -> KMS key ARN and the EVM chain
/// ids each wallet may sign for, as the environment variables <c>SignerOptions</c> binds. Keys come from the stack, never
/// from the caller.
/// </summary>
public static class SignerSettings
{
    public const string Handler = "Molly.Signer.Function::Molly.SignerFunction.Function::Handle";

    /// <summary>Under Step Functions' 60 s task timeout; the function stops KMS calls at 25 s itself.</summary>
    public const int TimeoutSeconds = 30;

    public const int MemoryMb = 512;

    public static Dictionary<string, string> Environment(SigningKeys keys, IReadOnlyList<ulong> evmChainIds)
    {
        var environment = new Dictionary<string, string>();
        foreach (var (wallet, key) in new[] { ("hot", keys.HotWallet), ("warm", keys.WarmWallet) })
        {
            environment[$"Molly__Signer__Wallets__{wallet}__KeyId"] = key.KeyArn;
            for (var i = 0; i < evmChainIds.Count; i++)
                environment[$"Molly__Signer__Wallets__{wallet}__EvmChainIds__{i}"] = evmChainIds[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return environment;
    }
}
