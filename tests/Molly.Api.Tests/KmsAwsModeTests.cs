using System.Net;
using System.Net.Http.Json;
using Amazon.KeyManagementService;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Molly.Api.Endpoints;
using Molly.Api.Hosting;
using Molly.Api.Model;
using Molly.Api.Security;
using Molly.Secrets.Kms;
using Molly.Storage;
using Molly.Testing;
using Xunit;

namespace Molly.Api.Tests;

/// <summary>
/// The Api in Mode Aws: DynamoDB Local for the table and <see cref="KmsEnvelopeStub"/> (real SDK client, real HTTP) for the
/// envelope key, so API key secrets are sealed with KmsEnvelopeSecretProtector exactly as on AWS.
/// </summary>
public sealed class KmsAwsModeTests : IAsyncLifetime
{
    private readonly KmsEnvelopeStub _kms = new();

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _kms.DisposeAsync();

    [Fact]
    public async Task An_api_in_aws_mode_issues_an_api_key_under_KMS_and_authenticates_a_request_signed_with_it()
    {
        using var factory = new AwsModeFactory(_kms);
        var http = factory.CreateClient();
        var services = factory.Services;
        var store = services.GetRequiredService<IItemStore>();
        Assert.IsType<KmsEnvelopeSecretProtector>(services.GetRequiredService<ISecretProtector>());

        // An admin sealed by another process (its own data key): the Api has to ask KMS Decrypt for it once.
        using var otherProcess = new KmsEnvelopeSecretProtector(_kms.Client(), new KmsSecretsOptions { KmsKeyId = _kms.KeyArn }, factory.Clock);
        var adminKeys = new ApiKeys(store, otherProcess, factory.Clock, services.GetRequiredService<IOptions<MollyOptions>>());
        var admin = adminKeys.Generate(PrincipalId.NewUser(), [Roles.Admin], "test admin");
        var user = new Item(TableKeys.User(admin.Record.Principal)) { [Attr.Type] = "User", [Attr.Name] = "test admin", [Attr.Roles] = Roles.Admin };
        await store.TransactWriteAsync([TransactOp.Put(user, Condition.ItemAbsent), TransactOp.Put(adminKeys.ToItem(admin.Record), Condition.ItemAbsent)],
            CancellationToken.None);

        var adminClient = new SignedClient(http, admin.Record.Id.Value, admin.Secret, factory.Clock.GetUtcNow);
        var created = await adminClient.SendAsync(HttpMethod.Post, "/v1/admin/merchants", """{"name":"Kms Shop"}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var merchant = (await created.Content.ReadFromJsonAsync(ApiJsonContext.Default.MerchantResponse))!;
        Assert.Single(_kms.CallsTo("Decrypt"));

        var issued = await adminClient.SendAsync(HttpMethod.Post, $"/v1/admin/merchants/{merchant.Id}/api-keys");
        Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
        var key = (await issued.Content.ReadFromJsonAsync(ApiJsonContext.Default.IssuedApiKeyResponse))!;
        // The Api sealed the new key under a data key of its own (plus the stub-side one for the admin above).
        Assert.Equal(2, _kms.CallsTo("GenerateDataKey").Count);

        var merchantClient = new SignedClient(http, key.KeyId, key.Secret, factory.Clock.GetUtcNow);
        var me = await merchantClient.SendAsync(HttpMethod.Get, "/v1/me");
        Assert.Equal(HttpStatusCode.OK, me.StatusCode);
        Assert.Contains(merchant.Id, await me.Content.ReadAsStringAsync());
        Assert.Single(_kms.CallsTo("Decrypt")); // the Api's own data key is cached: no further KMS call

        var forged = new SignedClient(http, key.KeyId, key.Secret + "x", factory.Clock.GetUtcNow);
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.SendAsync(HttpMethod.Get, "/v1/me")).StatusCode);

        // The stored item holds only ciphertext naming the KMS protector.
        Assert.True(ApiKeyId.TryParse(key.KeyId, out var keyId));
        var stored = await store.GetAsync(TableKeys.ApiKey(keyId), CancellationToken.None);
        Assert.NotNull(stored);
        Assert.Equal("kms:" + _kms.KeyArn, stored.GetString(Attr.SecretProtector));
        Assert.DoesNotContain(key.Secret, string.Join(" ", stored.Select(a => a.Value.ToString())));
    }

    [Fact]
    public void Aws_mode_without_a_kms_key_id_fails_at_start_naming_the_setting()
    {
        using var factory = new AwsModeFactory(_kms, keyId: null);
        var e = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains("Molly:Secrets:KmsKeyId", e.ToString());
    }

    private sealed class AwsModeFactory(KmsEnvelopeStub kms, string? keyId = "") : ApiFactory("DynamoDb", Settings(kms, keyId))
    {
        private static Dictionary<string, string> Settings(KmsEnvelopeStub kms, string? keyId)
        {
            var settings = new Dictionary<string, string> { ["Molly:Mode"] = "Aws" };
            if (keyId is not null) settings["Molly:Secrets:KmsKeyId"] = keyId.Length == 0 ? kms.KeyArn : keyId;
            return settings;
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureServices(s => s.AddSingleton(kms.Client()));
        }
    }
}
