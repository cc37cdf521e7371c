using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Molly.Api.Endpoints;
using Molly.Chains.Evm;
using Molly.Testing;
using Xunit;

namespace Molly.Api.Tests;

/// <summary>What run.sh configures: Molly__Payments__Networks__0=local on top of the default mainnet.</summary>
public sealed class LocalNetworkPaymentsFactory() : ApiFactory("Sqlite", new Dictionary<string, string>
{
    ["Molly:Payments:Networks:0"] = "local",
});

/// <summary>A newcomer's path on the dev chain: create a USDT payment on the local network, pay it from a funded Hardhat
/// account with a transaction signed by our code, and the deposit address holds the amount.</summary>
public sealed class LocalDevChainPaymentsTests(LocalNetworkPaymentsFactory factory) : IClassFixture<LocalNetworkPaymentsFactory>
{
    [Fact]
    public async Task A_local_usdt_payment_is_created_for_the_dev_chain_token_and_paid_from_a_dev_account()
    {
        var http = factory.CreateClient();
        var cred = factory.AdminCredential();
        var admin = new SignedClient(http, cred.KeyId, cred.Secret, factory.Clock.GetUtcNow);
        var created = await admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants", """{"name":"Dev shop"}""");
        var merchant = (await created.Content.ReadFromJsonAsync(ApiJsonContext.Default.MerchantResponse))!;
        var issued = await admin.SendAsync(HttpMethod.Post, $"/v1/admin/merchants/{merchant.Id}/api-keys");
        var key = (await issued.Content.ReadFromJsonAsync(ApiJsonContext.Default.IssuedApiKeyResponse))!;
        var shop = new SignedClient(http, key.KeyId, key.Secret, factory.Clock.GetUtcNow);

        var request = shop.Build(HttpMethod.Post, "/v1/payments", """{"merchantOrderId":"dev-1","amount":"12.5","asset":"USDT","chain":"ethereum"}""");
        request.Headers.Add("Idempotency-Key", "dev-1");
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        var payment = JsonDocument.Parse(text).RootElement;
        Assert.Equal("local", payment.GetProperty("network").GetString());
        var uri = payment.GetProperty("paymentUri").GetString()!;
        Assert.Contains("0x5FbDB2315678afecb367f032d93F642f64180aa3", uri, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("@31337", uri);

        // Mainnet's other chains stay available next to the dev chain.
        var tron = shop.Build(HttpMethod.Post, "/v1/payments", """{"merchantOrderId":"dev-2","amount":"1","asset":"USDT","chain":"tron"}""");
        tron.Headers.Add("Idempotency-Key", "dev-2");
        Assert.Equal(HttpStatusCode.Created, (await http.SendAsync(tron)).StatusCode);

        var node = await HardhatNode.Shared;
        var deposit = EvmAddress.Parse(payment.GetProperty("address").GetString()!);
        var receipt = await node.WaitForReceiptAsync(await node.SendTokenAsync(node.DevAccount(8), deposit, 12_500_000), TimeSpan.FromSeconds(20));
        Assert.True(receipt.Succeeded);
        Assert.Equal(12_500_000, (long)await node.TokenBalanceAsync(deposit));
    }
}
