using Microsoft.Extensions.Options;
using Molly.Api.Hosting;
using Molly.Storage;
using Molly.Webhooks;

namespace Molly.Api.Webhooks;

public static class WebhooksSetup
{
    /// <summary>The change-feed consumer name of the fan-out (its checkpoint is <c>sys#feed / webhooks-fanout</c>).</summary>
    public const string FanOutConsumer = "webhooks-fanout";

    public static IServiceCollection AddMollyWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WebhookOptions>().Bind(configuration.GetSection(WebhookOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>();
        services.AddSingleton(sp => new SsrfGuard(sp.GetRequiredService<IOptions<WebhookOptions>>().Value.AllowHttpLoopback));
        services.AddSingleton(sp => new WebhookEndpoints(sp.GetRequiredService<IItemStore>(), sp.GetRequiredService<ISecretProtector>(),
            sp.GetRequiredService<SsrfGuard>(), sp.GetRequiredService<IOptions<WebhookOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new WebhookDeliveries(sp.GetRequiredService<IItemStore>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<WebhookOptions>>().Value;
            var guard = sp.GetRequiredService<SsrfGuard>();
            return new WebhookDispatcher(sp.GetRequiredService<IItemStore>(), sp.GetRequiredService<WebhookEndpoints>(),
                WebhookDispatcher.CreateHttpClient(guard, options), guard, options, sp.GetRequiredService<TimeProvider>());
        });
        return services;
    }

    private sealed class WebhookOptionsValidator(IOptions<MollyOptions> molly) : IValidateOptions<WebhookOptions>
    {
        public ValidateOptionsResult Validate(string? name, WebhookOptions options)
        {
            var errors = options.Validate().ToList();
            if (options.AllowHttpLoopback && molly.Value.Mode != RuntimeMode.Local)
                errors.Add("Molly:Webhooks:AllowHttpLoopback is for local development only; it cannot be set with Molly:Mode Aws.");
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
