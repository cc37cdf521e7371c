using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Molly.Api.Endpoints;
using Molly.Payments;
using Molly.Storage;
using Xunit;

namespace Molly.Api.Tests;

/// <summary>Checkout with a throttle no test reaches (the test server's clock only moves by hand, so buckets never refill).</summary>
public sealed class CheckoutFactory() : ApiFactory("Sqlite", new Dictionary<string, string>
{
    ["Molly:Payments:PublicBaseUrl"] = "https://pay.example",
    ["Molly:Payments:StandardPermitsPerSecond"] = "100000",
    ["Molly:Payments:StandardBurst"] = "100000",
    ["Molly:Checkout:PermitsPerSecond"] = "100000",
    ["Molly:Checkout:Burst"] = "100000",
});

/// <summary>Checkout throttled to 1 request/s per client IP with a burst of 2.</summary>
public sealed class ThrottledCheckoutFactory() : ApiFactory("Sqlite", new Dictionary<string, string>
{
    ["Molly:Checkout:PermitsPerSecond"] = "1",
    ["Molly:Checkout:Burst"] = "2",
});

/// <summary>Creates payments the way a merchant does (signed API calls), for the checkout tests.</summary>
public sealed class CheckoutMerchant(ApiFactory factory, HttpClient http)
{
    private SignedClient? _shop;

    public async Task<JsonElement> CreatePaymentAsync(string body)
    {
        _shop ??= await NewShopAsync();
        var request = _shop.Build(HttpMethod.Post, "/v1/payments", body);
        request.Headers.Add("Idempotency-Key", "k-" + Guid.NewGuid().ToString("N"));
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        return JsonDocument.Parse(text).RootElement;
    }

    private async Task<SignedClient> NewShopAsync()
    {
        var cred = factory.AdminCredential();
        var admin = new SignedClient(http, cred.KeyId, cred.Secret, factory.Clock.GetUtcNow);
        var merchant = (await (await admin.SendAsync(HttpMethod.Post, "/v1/admin/merchants", $$"""{"name":"Shop {{Guid.NewGuid():N}}"}"""))
            .Content.ReadFromJsonAsync(ApiJsonContext.Default.MerchantResponse))!;
        var key = (await (await admin.SendAsync(HttpMethod.Post, $"/v1/admin/merchants/{merchant.Id}/api-keys"))
            .Content.ReadFromJsonAsync(ApiJsonContext.Default.IssuedApiKeyResponse))!;
        return new SignedClient(http, key.KeyId, key.Secret, factory.Clock.GetUtcNow);
    }
}

public sealed partial class CheckoutTests : IClassFixture<CheckoutFactory>
{
    private readonly CheckoutFactory _factory;
    private readonly HttpClient _http;
    private readonly CheckoutMerchant _merchant;

    public CheckoutTests(CheckoutFactory factory)
    {
        _factory = factory;
        _http = factory.CreateClient();
        _merchant = new CheckoutMerchant(factory, _http);
    }

    private static string Body(string orderId, string amount = "1234.000001", string? extra = null) =>
        $$"""{"merchantOrderId":"{{orderId}}","amount":"{{amount}}","asset":"USDT","chain":"tron"{{extra}}}""";

    private async Task<(HttpResponseMessage Response, string Html)> Page(string path, string? acceptLanguage = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (acceptLanguage is not null) request.Headers.TryAddWithoutValidation("Accept-Language", acceptLanguage);
        var response = await _http.SendAsync(request);
        return (response, await response.Content.ReadAsStringAsync());
    }

    private Task<Item> SetStoredAsync(string id, Update update) =>
        _factory.Services.GetRequiredService<IItemStore>().UpdateAsync(Keys.Payment(id), update, Condition.ItemExists);

    [Fact]
    public async Task The_page_shows_amount_in_the_assets_units_address_qr_countdown_and_status_and_nothing_internal()
    {
        var p = await _merchant.CreatePaymentAsync(Body("o-page", extra: ""","metadata":{"note":"internal-note-7731"}"""));
        var id = p.GetProperty("id").GetString()!;
        var address = p.GetProperty("address").GetString()!;

        var (response, html) = await Page($"/checkout/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<html lang=\"en\">", html);
        Assert.Contains("<strong id=\"amount\">1234.000001</strong> <strong id=\"asset\">USDT</strong>", html);
        Assert.Contains("<span id=\"chain\">Tron</span>", html);
        Assert.Contains($"<code id=\"address\">{address}</code>", html);
        Assert.Contains("<button type=\"button\" id=\"copy\">Copy</button>", html);
        Assert.Matches(new Regex("<figure id=\"qr\"[^>]*><svg[^>]*viewBox=\"[^\"]+\"[^>]*>.*<path [^>]*d=\"M[^\"]+\".*</svg>", RegexOptions.Singleline), html);
        Assert.Contains("<strong id=\"countdown\">15:00</strong>", html); // default expiry, on the test's clock
        Assert.Contains("<strong id=\"status\">Waiting for payment</strong>", html);
        Assert.Contains("<section id=\"paid\" hidden>", html);

        // Only what a payer needs: no metadata, no merchant id, no derivation path or address index.
        Assert.DoesNotContain("internal-note-7731", html);
        Assert.DoesNotContain("mch_", html);
        Assert.DoesNotContain("m/44", html);
        Assert.DoesNotContain("addressIndex", html);

        _factory.Clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Contains("<strong id=\"countdown\">13:59</strong>", (await Page($"/checkout/{id}")).Html);
    }

    [Fact]
    public async Task Past_its_expiry_the_page_says_expired_and_no_longer_shows_the_address()
    {
        var id = (await _merchant.CreatePaymentAsync(Body("o-expired", extra: ""","expiresInSeconds":60"""))).GetProperty("id").GetString()!;
        Assert.Contains("<section id=\"pending\">", (await Page($"/checkout/{id}")).Html);
        _factory.Clock.Advance(TimeSpan.FromSeconds(61)); // the stored status is still "created": no expiry worker ran
        var (_, html) = await Page($"/checkout/{id}");
        Assert.Contains("<strong id=\"status\">Expired: do not send funds to this address</strong>", html);
        Assert.Contains("<section id=\"pending\" hidden>", html);
        Assert.Contains("<strong id=\"countdown\">0:00</strong>", html);
    }

    [Theory]
    [InlineData("Local", "10.1.2.3", null, "10.1.2.3")]
    [InlineData("Local", "10.1.2.3", "203.0.113.9", "10.1.2.3")] // on one machine a client could send any X-Forwarded-For
    [InlineData("Aws", "127.0.0.1", "198.51.100.1, 203.0.113.9", "203.0.113.9")] // the entry API Gateway appended, not the client's
    [InlineData("Aws", "127.0.0.1", null, "127.0.0.1")]
    public void The_throttle_keys_on_the_client_ip(string mode, string remote, string? forwardedFor, string expected)
    {
        var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(remote);
        if (forwardedFor is not null) context.Request.Headers["X-Forwarded-For"] = forwardedFor;
        Assert.Equal(expected, Molly.Api.Checkout.CheckoutApi.ClientIp(context, Enum.Parse<Molly.Api.Hosting.RuntimeMode>(mode)));
    }

    [Fact]
    public async Task A_solana_pay_payment_has_no_copy_button_and_says_to_pay_with_a_wallet()
    {
        var p = await _merchant.CreatePaymentAsync("""{"merchantOrderId":"o-sol","amount":"2.5","asset":"USDC","chain":"solana"}""");
        Assert.NotNull(p.GetProperty("reference").GetString());
        var (_, html) = await Page($"/checkout/{p.GetProperty("id").GetString()}?lang=zh");
        Assert.Contains($"<code id=\"address\">{p.GetProperty("address").GetString()}</code></p>", html);
        Assert.DoesNotContain("id=\"copy\"", html);
        Assert.Contains("<p id=\"wallet-only\" class=\"note\">请使用能扫描", html);
        Assert.Contains("<span id=\"chain\">Solana</span>", html);

        var tron = await Page($"/checkout/{(await _merchant.CreatePaymentAsync(Body("o-not-sol"))).GetProperty("id").GetString()}");
        Assert.DoesNotContain("wallet-only", tron.Html);
    }

    [Fact]
    public async Task The_qr_code_is_the_payment_uri()
    {
        var p = await _merchant.CreatePaymentAsync(Body("o-qr"));
        var uri = p.GetProperty("paymentUri").GetString()!;
        var (_, html) = await Page($"/checkout/{p.GetProperty("id").GetString()}");
        var svg = Regex.Match(html, "<svg.*?</svg>", RegexOptions.Singleline).Value;
        Assert.Equal(Molly.Api.Checkout.CheckoutPage.QrSvg(uri), svg);
        Assert.NotEqual(Molly.Api.Checkout.CheckoutPage.QrSvg(uri + "0"), svg);
        Assert.Contains($"<a id=\"wallet\" href=\"{uri.Replace("&", "&amp;", StringComparison.Ordinal)}\">", html);
    }

    [Theory]
    [InlineData("?lang=ja", null, "ja", "金額")]
    [InlineData("?lang=zh", null, "zh-Hans", "金额")]
    [InlineData("?lang=nl", "ja-JP,ja;q=0.9", "nl", "Bedrag")]
    [InlineData("?lang=xx", "ja-JP,ja;q=0.9", "ja", "金額")]
    [InlineData("", "zh-CN,zh;q=0.9,en;q=0.8", "zh-Hans", "金额")]
    [InlineData("", "fr-FR,fr;q=0.9,nl;q=0.5", "nl", "Bedrag")]
    [InlineData("", "en;q=0.2,ja;q=0.8", "ja", "金額")]
    [InlineData("", "fr-FR,de;q=0.5", "en", "Amount")]
    [InlineData("", null, "en", "Amount")]
    public async Task The_language_is_lang_then_accept_language_then_english(string query, string? acceptLanguage, string htmlLang, string amountLabel)
    {
        var p = await _merchant.CreatePaymentAsync(Body("o-lang-" + Guid.NewGuid().ToString("N")[..8]));
        var (response, html) = await Page($"/checkout/{p.GetProperty("id").GetString()}{query}", acceptLanguage);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains($"<html lang=\"{htmlLang}\">", html);
        Assert.Contains($"<span class=\"label\">{amountLabel}</span>", html);
        Assert.Contains("Accept-Language", response.Headers.Vary);
    }

    [Fact]
    public void Every_language_has_its_own_text_for_every_string()
    {
        var props = typeof(Molly.Api.Checkout.CheckoutText).GetProperties().Where(p => p.PropertyType == typeof(string)).ToList();
        foreach (var lang in Molly.Api.Checkout.CheckoutText.All)
            foreach (var prop in props)
                Assert.False(string.IsNullOrWhiteSpace((string?)prop.GetValue(lang)), $"{lang.Code}.{prop.Name}");
        // Translations, not copies of the English table (a few words are the same in Dutch: "Status").
        foreach (var lang in Molly.Api.Checkout.CheckoutText.All.Skip(1))
            Assert.True(props.Count(p => Equals(p.GetValue(lang), p.GetValue(Molly.Api.Checkout.CheckoutText.English))) <= 1, lang.Code);
    }

    [Theory]
    [InlineData("/checkout/pay_0123456789abcdef0123456789abcdef")] // well-formed, unknown
    [InlineData("/checkout/pay_sample")]
    [InlineData("/checkout/%3Cscript%3Ealert(1)%3C%2Fscript%3E")]
    public async Task An_unknown_or_malformed_id_is_a_404_html_page(string path)
    {
        var (response, html) = await Page(path + "?lang=nl");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<html lang=\"nl\">", html);
        Assert.Contains("Betaling niet gevonden", html);
        Assert.DoesNotContain("<script>alert", html);
        Assert.Contains("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single());

        var status = await _http.GetAsync(path + "/status");
        Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        Assert.Equal("application/problem+json", status.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_csp_allows_only_the_pages_own_nonce_and_the_nonce_changes_per_response()
    {
        var id = (await _merchant.CreatePaymentAsync(Body("o-csp"))).GetProperty("id").GetString()!;
        var nonces = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var (response, html) = await Page($"/checkout/{id}");
            var csp = response.Headers.GetValues("Content-Security-Policy").Single();
            var nonce = Regex.Match(csp, "script-src 'nonce-([A-Za-z0-9+/=]+)'").Groups[1].Value;
            Assert.NotEmpty(nonce);
            Assert.Contains("default-src 'none'", csp);
            Assert.Contains($"style-src 'nonce-{nonce}'", csp);
            Assert.Contains("frame-ancestors 'none'", csp);
            Assert.DoesNotContain("unsafe-inline", csp);
            Assert.Contains($"<script nonce=\"{nonce}\">", html);
            Assert.Contains($"<style nonce=\"{nonce}\">", html);
            // Every executable script and stylesheet carries the nonce; no inline handlers or style attributes (CSP blocks them).
            Assert.Equal(Regex.Matches(html, "<script(?! type=\"application/json\")").Count, Regex.Matches(html, $"<script nonce=\"{Regex.Escape(nonce)}\">").Count);
            Assert.DoesNotMatch(" on[a-z]+=", html);
            Assert.DoesNotContain(" style=", html);
            Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
            nonces.Add(nonce);
        }
        Assert.NotEqual(nonces[0], nonces[1]);
    }

    [Fact]
    public async Task Anything_echoed_is_escaped_and_only_http_redirects_become_links()
    {
        var p = await _merchant.CreatePaymentAsync(Body("o-xss"));
        var id = p.GetProperty("id").GetString()!;
        // What the API refuses at creation could still be in the store (older rules, a bug): the page must not trust it.
        await SetStoredAsync(id, new Update()
            .Set("status", "paid")
            .Set("redirectUrl", "https://shop.example/done?a=\"><script>alert(1)</script>")
            .Set("uri", p.GetProperty("paymentUri").GetString() + "&label=<img src=x onerror=alert(2)>\""));
        var (_, html) = await Page($"/checkout/{id}");
        Assert.DoesNotContain("<script>alert(1)", html);
        Assert.DoesNotContain("<img src=x", html);
        Assert.Contains("&lt;img src=x onerror=alert(2)&gt;&quot;", html); // the wallet link's href, encoded
        Assert.Contains("<a id=\"return\" href=\"https://shop.example/done?a=%22%3E%3Cscript%3Ealert(1)%3C/script%3E\">", html);
        Assert.Contains("<section id=\"paid\">", html);
        Assert.Contains("<section id=\"pending\" hidden>", html);

        await SetStoredAsync(id, new Update().Set("redirectUrl", "javascript:alert(3)"));
        var (_, html2) = await Page($"/checkout/{id}");
        Assert.DoesNotContain("javascript:", html2);
        Assert.Contains("<a id=\"return\" href=\"#\" hidden>", html2);
        var status = await _http.GetFromJsonAsync<JsonElement>($"/checkout/{id}/status");
        Assert.False(status.TryGetProperty("redirectUrl", out var r) && r.ValueKind != JsonValueKind.Null);
    }

    [Fact]
    public async Task The_status_json_is_public_small_cacheable_and_shows_the_redirect_only_once_paid()
    {
        var p = await _merchant.CreatePaymentAsync(Body("o-status", extra: ""","redirectUrl":"https://shop.example/thanks","metadata":{"k":"secret-meta"}"""));
        var id = p.GetProperty("id").GetString()!;

        var response = await _http.GetAsync($"/checkout/{id}/status");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("public, max-age=1", response.Headers.CacheControl?.ToString());
        var text = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("secret-meta", text);
        Assert.DoesNotContain("o-status", text);
        var json = JsonDocument.Parse(text).RootElement;
        Assert.Equal("created", json.GetProperty("status").GetString());
        Assert.False(json.GetProperty("paid").GetBoolean());
        Assert.Equal(p.GetProperty("expiresAt").GetDateTimeOffset(), json.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.False(json.TryGetProperty("redirectUrl", out var early) && early.ValueKind != JsonValueKind.Null);

        await SetStoredAsync(id, new Update().Set("status", "overpaid").Set("received", "1300000000"));
        json = await _http.GetFromJsonAsync<JsonElement>($"/checkout/{id}/status");
        Assert.Equal("overpaid", json.GetProperty("status").GetString());
        Assert.True(json.GetProperty("paid").GetBoolean());
        Assert.Equal("1300", json.GetProperty("amountReceived").GetString());
        Assert.Equal("https://shop.example/thanks", json.GetProperty("redirectUrl").GetString());
    }

    [Fact]
    public async Task Signature_headers_on_the_public_routes_are_ignored_not_checked()
    {
        var id = (await _merchant.CreatePaymentAsync(Body("o-sig"))).GetProperty("id").GetString()!;
        foreach (var path in new[] { $"/checkout/{id}", $"/checkout/{id}/status" })
        {
            var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("Molly-Key-Id", "key_bogus");
            request.Headers.Add("Molly-Timestamp", "1");
            request.Headers.Add("Molly-Signature", new string('0', 64));
            Assert.Equal(HttpStatusCode.OK, (await _http.SendAsync(request)).StatusCode);
        }
        // The merchant route with the same headers is refused: the skip is the checkout routes' alone.
        var merchant = new HttpRequestMessage(HttpMethod.Get, $"/v1/payments/{id}");
        merchant.Headers.Add("Molly-Key-Id", "key_bogus");
        merchant.Headers.Add("Molly-Timestamp", "1");
        merchant.Headers.Add("Molly-Signature", new string('0', 64));
        Assert.Equal(HttpStatusCode.Unauthorized, (await _http.SendAsync(merchant)).StatusCode);
    }

    [Fact]
    public async Task The_openapi_document_lists_the_checkout_routes()
    {
        var doc = await _http.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = doc.GetProperty("paths");
        var page = paths.GetProperty("/checkout/{id}").GetProperty("get").GetProperty("responses");
        Assert.True(page.GetProperty("200").GetProperty("content").TryGetProperty("text/html", out _));
        Assert.True(page.TryGetProperty("404", out _));
        var status = paths.GetProperty("/checkout/{id}/status").GetProperty("get").GetProperty("responses");
        Assert.True(status.TryGetProperty("200", out _));
        Assert.True(status.TryGetProperty("404", out _));
        Assert.True(status.TryGetProperty("429", out _));
        Assert.True(doc.GetProperty("components").GetProperty("schemas").TryGetProperty("CheckoutStatusResponse", out _));
    }
}

public sealed class CheckoutRateLimitTests(ThrottledCheckoutFactory factory) : IClassFixture<ThrottledCheckoutFactory>
{
    [Fact]
    public async Task Polling_beyond_the_per_ip_bucket_gets_429_with_retry_after_until_it_refills()
    {
        var http = factory.CreateClient();
        const string path = "/checkout/pay_0123456789abcdef0123456789abcdef/status";
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(path)).StatusCode);
        var limited = await http.GetAsync(path);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        Assert.Contains("checkout requests", await limited.Content.ReadAsStringAsync()); // the checkout policy's own answer
        Assert.Equal("1", limited.Headers.GetValues("Retry-After").Single());

        factory.Clock.Advance(TimeSpan.FromSeconds(1.1)); // the bucket refills from the host's TimeProvider
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await http.GetAsync(path)).StatusCode);
    }
}
