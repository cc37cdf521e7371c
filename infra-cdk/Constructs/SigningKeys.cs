using Amazon.CDK;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.KMS;
using Constructs;

namespace Molly.Infra.Constructs;

public sealed class SigningKeysProps
{
    public required string EnvironmentName { get; init; }
    public required RemovalPolicy RemovalPolicy { get; init; }
}

/// <summary>
/// The wallet keys. Asymmetric keys (hot and warm secp256k1 wallets, Ed25519 for Solana) have a key policy that lets the
/// account administer them but NOT use them: the only principal the key policy allows to kms:Sign is <see cref="SignerRole"/>.
/// The envelope key (symmetric, yearly rotation) wraps HD seeds and merchant secrets and keeps the default account policy.
/// </summary>
public sealed class SigningKeys : Construct
{
    /// <summary>Key administration without key use: no kms:Sign, kms:Decrypt, kms:Encrypt, kms:GenerateDataKey*.</summary>
    public static readonly string[] AdminActions =
    [
        "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
        "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
        "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
    ];

    public static readonly string[] SignActions = ["kms:Sign", "kms:GetPublicKey"];

    public const string Ed25519KeySpec = "ECC_NIST_EDWARDS25519";

    public Key HotWallet { get; }
    public Key WarmWallet { get; }
    public Key Solana { get; }
    public Key Envelope { get; }

    /// <summary>The one role allowed to sign. A later signer function takes it with MollyFunctionProps.Role.</summary>
    public Role SignerRole { get; }

    public IReadOnlyList<Key> WalletKeys => [HotWallet, WarmWallet, Solana];

    public SigningKeys(Construct scope, string id, SigningKeysProps props) : base(scope, id)
    {
        SignerRole = new Role(this, "SignerRole", new RoleProps
        {
            Description = "The only principal allowed to kms:Sign with Molly's wallet keys",
            AssumedBy = new ServicePrincipal("lambda.amazonaws.com"),
            ManagedPolicies = [ManagedPolicy.FromAwsManagedPolicyName("service-role/AWSLambdaBasicExecutionRole")],
        });

        HotWallet = SigningKey("HotWallet", KeySpec.ECC_SECG_P256K1, "secp256k1 hot wallet (EVM, Tron, Bitcoin family)", props);
        WarmWallet = SigningKey("WarmWallet", KeySpec.ECC_SECG_P256K1, "secp256k1 warm wallet", props);

        // CDK 2.160.0's KeySpec enum has no Ed25519 member: create the key with a placeholder asymmetric spec and set
        // the real one on the L1 resource (escape hatch). The construct's own checks only compare spec to usage.
        Solana = SigningKey("Solana", KeySpec.ECC_NIST_P256, "Ed25519 wallet (Solana)", props);
        ((CfnKey)Solana.Node.DefaultChild!).AddPropertyOverride("KeySpec", Ed25519KeySpec);

        Envelope = new Key(this, "Envelope", new KeyProps
        {
            Description = $"Molly {props.EnvironmentName}: envelope encryption of HD seeds and merchant secrets",
            EnableKeyRotation = true,
            RemovalPolicy = props.RemovalPolicy,
            PendingWindow = Duration.Days(30),
        });
        Envelope.GrantDecrypt(SignerRole);
    }

    private Key SigningKey(string id, KeySpec spec, string purpose, SigningKeysProps props)
    {
        var policy = new PolicyDocument(new PolicyDocumentProps
        {
            Statements =
            [
                new PolicyStatement(new PolicyStatementProps
                {
                    Sid = "AccountAdministersButDoesNotUse",
                    Principals = [new AccountRootPrincipal()],
                    Actions = AdminActions,
                    Resources = ["*"],
                }),
            ],
        });
        var key = new Key(this, id, new KeyProps
        {
            Description = $"Molly {props.EnvironmentName}: {purpose}",
            KeySpec = spec,
            KeyUsage = KeyUsage.SIGN_VERIFY,
            Policy = policy,
            RemovalPolicy = props.RemovalPolicy,
            PendingWindow = Duration.Days(30),
        });
        // Both halves: the key policy names the signer role (the account root is not trusted for kms:Sign, so an
        // identity policy alone would not do) and the role's own policy names the key.
        key.Grant(SignerRole, SignActions);
        key.AddToResourcePolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "OnlyTheSignerRoleSigns",
            Principals = [SignerRole],
            Actions = SignActions,
            Resources = ["*"],
        }));
        return key;
    }
}
