using System.Text;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using Molly.Api.Hosting;
using Molly.Api.Model;
using Molly.Api.Security;
using Molly.Domain;
using Molly.Payments;
using Molly.Storage;

namespace Molly.Api.Payments;

/// <summary>The <c>Molly:Payments</c> section.</summary>
public sealed class PaymentsOptions
{
    public const string Section = "Molly:Payments";

    /// <summary>Base URL of the hosted checkout page (the public URL of this API).</summary>
    public string PublicBaseUrl { get; set; } = "http://127.0.0.1:8080";

    /// <summary>Networks whose assets this deployment accepts: "mainnet" in production; "local" and "regtest" on one machine.</summary>
    public List<string> Networks { get; set; } = ["mainnet"];

    /// <summary>Account xpubs by chain ("eth", "tron", "btc", "ltc"). Local mode generates a development account when empty.</summary>
    public Dictionary<string, string> AccountXpubs { get; set; } = [];

    /// <summary>
    /// Solana receiving wallets by network ("mainnet"): the base58 public key of each shard's wallet, shard 0 first
    /// (<c>Molly:Payments:SolanaRecipients:mainnet:0</c>). Derive them offline with <c>molly keys derive --chain sol</c>
    /// (m/44'/501'/shard'/0'); only public keys belong here. Local mode derives them from its development account when empty;
    /// on AWS a network without any has no Solana deposits.
    /// </summary>
    public Dictionary<string, List<string>> SolanaRecipients { get; set; } = [];

    /// <summary>Allow http:// redirect URLs (local development only).</summary>
    public bool AllowHttpRedirects { get; set; }

    /// <summary>Requests per second (token bucket) of the standard plan, and its burst.</summary>
    public int StandardPermitsPerSecond { get; set; } = 50;
    public int StandardBurst { get; set; } = 100;

    /// <summary>The VIP plan's own throttle.</summary>
    public int VipPermitsPerSecond { get; set; } = 500;
    public int VipBurst { get; set; } = 1000;
}

public static class PaymentsSetup
{
    public const string MerchantRateLimit = "merchant";

    public static IServiceCollection AddMollyPayments(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PaymentsOptions>().Bind(configuration.GetSection(PaymentsOptions.Section))
            .Validate(o => Uri.TryCreate(o.PublicBaseUrl, UriKind.Absolute, out _), "Molly:Payments:PublicBaseUrl must be an absolute URL.")
            .Validate(o => o.Networks.Count > 0, "Molly:Payments:Networks must name at least one network.")
            .Validate(o => o.SolanaRecipients.Values.All(list => list.All(r => ChainDepositTargets.TryParseSolanaRecipient(r, out _, out _))),
                "Molly:Payments:SolanaRecipients must be base58 ed25519 wallet public keys (on the curve).")
            .Validate(o => o.StandardPermitsPerSecond > 0 && o.VipPermitsPerSecond > 0 && o.StandardBurst > 0 && o.VipBurst > 0,
                "Rate limits must be positive.")
            .ValidateOnStart();
        services.AddSingleton(sp => AssetRegistry.ForNetworks(sp.GetRequiredService<IOptions<PaymentsOptions>>().Value.Networks));
        services.AddSingleton<IDepositTargetFactory>(sp =>
        {
            var (xpubs, solanaRecipients) = AccountKeys(sp);
            return new ChainDepositTargets(xpubs, solanaRecipients);
        });
        services.AddSingleton<MerchantSettingsStore>();
        // The ledger: GET /v1/balances reads it in every mode; locally settlement writes through the same instance.
        services.AddSingleton(sp => new Molly.Ledger.Ledger(sp.GetRequiredService<IItemStore>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<PaymentsOptions>>().Value;
            return new PaymentService(sp.GetRequiredService<IItemStore>(), sp.GetRequiredService<AssetRegistry>(),
                sp.GetRequiredService<IDepositTargetFactory>(),
                new PaymentOptions { PublicBaseUrl = o.PublicBaseUrl, AllowHttpRedirects = o.AllowHttpRedirects },
                sp.GetRequiredService<TimeProvider>());
        });

        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.AddPolicy(MerchantRateLimit, context =>
            {
                var o = context.RequestServices.GetRequiredService<IOptions<PaymentsOptions>>().Value;
                var merchant = context.User.Identity?.Name ?? "anonymous";
                var vip = context.Items[MerchantSettingsStore.PlanItem] as string == MerchantPlan.Vip;
                var time = context.RequestServices.GetRequiredService<TimeProvider>();
                return RateLimitPartition.Get($"{(vip ? "vip" : "std")}:{merchant}", _ => new TokenBucket(time,
                    vip ? o.VipPermitsPerSecond : o.StandardPermitsPerSecond, vip ? o.VipBurst : o.StandardBurst));
            });
            limiter.OnRejected = async (ctx, ct) =>
            {
                var retryAfter = ctx.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                ctx.HttpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await TypedResults.Problem($"This merchant's rate limit is exhausted; retry after {seconds} s.",
                    statusCode: StatusCodes.Status429TooManyRequests, title: "Too Many Requests").ExecuteAsync(ctx.HttpContext);
            };
        });
        return services;
    }

    /// <summary>Looks up the authenticated merchant's plan (cached) so the limiter can pick its partition.</summary>
    public static IApplicationBuilder UseMerchantPlans(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.User.Identity?.IsAuthenticated == true && context.User.IsInRole(Roles.Merchant) && context.User.Identity.Name is { } id)
        {
            var settings = await context.RequestServices.GetRequiredService<MerchantSettingsStore>().GetAsync(id, context.RequestAborted);
            context.Items[MerchantSettingsStore.PlanItem] = settings.Plan;
        }
        await next(context);
    });

    /// <summary>The account xpubs and the Solana receiving wallets: as configured, or on one machine from a development account.</summary>
    private static (IReadOnlyDictionary<string, string> Xpubs, IReadOnlyDictionary<string, IReadOnlyList<string>> SolanaRecipients) AccountKeys(
        IServiceProvider sp)
    {
        var options = sp.GetRequiredService<IOptions<PaymentsOptions>>().Value;
        var configuredSolana = options.SolanaRecipients.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value);
        if (options.AccountXpubs.Count > 0 && (configuredSolana.Count > 0 || !IsLocal(sp)))
            return (options.AccountXpubs, configuredSolana);
        if (!IsLocal(sp))
            throw new OptionsValidationException(PaymentsOptions.Section, typeof(PaymentsOptions), ["Molly:Payments:AccountXpubs must be configured on AWS."]);

        // One machine: a development account, its mnemonic kept in an owner-only file of the data dir (never logged).
        var dataDir = sp.GetRequiredService<DataDirectory>();
        dataDir.EnsureExists();
        var path = dataDir.File("dev-wallet-mnemonic");
        if (!File.Exists(path))
            SecureFile.TryCreate(path, Encoding.UTF8.GetBytes(ChainDepositTargets.NewDevelopmentAccount().Mnemonic));
        var mnemonic = Encoding.UTF8.GetString(SecureFile.ReadOwnerOnly(path)).Trim();
        sp.GetRequiredService<ILoggerFactory>().CreateLogger("Molly.Payments")
            .LogInformation("Deposit addresses and Solana receiving wallets derive from the development account in {MnemonicPath}", path);
        var account = ChainDepositTargets.NewDevelopmentAccount(mnemonic);
        // Solana uses coin type 501 on every cluster, so each Solana network of the registry gets the same wallets.
        var solana = configuredSolana.Count > 0 ? configuredSolana : sp.GetRequiredService<AssetRegistry>().Assets
            .Where(a => a.Family == ChainFamily.Solana).Select(a => a.Network).Distinct()
            .ToDictionary(network => network, _ => account.SolanaRecipients);
        return (options.AccountXpubs.Count > 0 ? options.AccountXpubs : account.Xpubs, solana);
    }

    private static bool IsLocal(IServiceProvider sp) => sp.GetRequiredService<IOptions<MollyOptions>>().Value.Mode == RuntimeMode.Local;
}
