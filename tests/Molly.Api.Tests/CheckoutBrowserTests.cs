using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Molly.Api.Endpoints;
using Molly.Api.Security;
using Molly.Storage;
using Molly.Storage.DynamoDb;
using Molly.Testing;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;
using Xunit;

namespace Molly.Api.Tests;

/// <summary>
/// The checkout page in a real browser (Debian's chromium, headless, driven by chromedriver through Selenium) against the
/// built Api as a child process on 127.0.0.1. The Api's store is a DynamoDB Local table, so the test can mark the payment
/// paid in the store from outside the process, as settlement would, and watch the open page pick it up by polling.
/// chromium and chromium-driver come from tools/setup.d/chromium.sh (tools/setup.sh, ./test.sh).
/// </summary>
[Trait("Category", "Slow")]
public sealed class CheckoutBrowserTests : IAsyncLifetime
{
    private readonly string _dataDir = Directory.CreateTempSubdirectory("molly-checkout-browser-").FullName;
    private readonly string _profileDir = Directory.CreateTempSubdirectory("molly-chromium-").FullName;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private ApiProcess? _api;
    private string _table = "";
    private Uri _base = null!;
    private ChromeDriver? _browser;

    public async Task InitializeAsync()
    {
        _table = await DynamoDbLocal.Shared.CreateTableAsync();
        _api = new ApiProcess(_dataDir,
            "--Molly:Store:Kind", "DynamoDb", "--Molly:Store:TableName", _table,
            "--Molly:Store:ServiceUrl", DynamoDbLocal.Shared.Endpoint.ToString(), "--Molly:Store:Region", DynamoDbLocal.Region);
        _api.Environment["AWS_ACCESS_KEY_ID"] = "local";
        _api.Environment["AWS_SECRET_ACCESS_KEY"] = "local-secret";
        _api.Environment["AWS_REGION"] = DynamoDbLocal.Region;
        _base = await _api.StartAsync(_http);
        _browser = StartBrowser(_profileDir);
    }

    public Task DisposeAsync()
    {
        _browser?.Quit();
        _browser?.Dispose();
        _api?.Dispose();
        _http.Dispose();
        foreach (var dir in new[] { _dataDir, _profileDir })
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task The_page_renders_counts_down_and_turns_paid_without_a_reload()
    {
        var payment = await CreatePaymentAsync();
        var id = payment.GetProperty("id").GetString()!;
        var browser = _browser!;
        browser.Navigate().GoToUrl(new Uri(_base, $"/checkout/{id}?lang=ja"));

        // Rendered: the amount in the asset's units, the address, the QR code, the Japanese strings, our stylesheet applied.
        Assert.Equal("ja", browser.FindElement(By.TagName("html")).GetAttribute("lang"));
        Assert.Equal("12.5", browser.FindElement(By.Id("amount")).Text);
        Assert.Equal("USDT", browser.FindElement(By.Id("asset")).Text);
        Assert.Equal(payment.GetProperty("address").GetString(), browser.FindElement(By.Id("address")).Text);
        Assert.True(browser.FindElement(By.CssSelector("#qr svg")).Size.Width > 100);
        Assert.Equal("お支払い待ち", browser.FindElement(By.Id("status")).Text);
        Assert.Equal("rgba(255, 255, 255, 1)", browser.FindElement(By.TagName("main")).GetCssValue("background-color"));
        Assert.False(browser.FindElement(By.Id("paid")).Displayed);

        // The countdown is the script's (CSP let the nonce'd script run): its text changes within a few seconds.
        var first = browser.FindElement(By.Id("countdown")).Text;
        Assert.Matches(@"^\d+:\d\d$", first);
        var wait = new WebDriverWait(browser, TimeSpan.FromSeconds(30)); // generous: the machine is shared
        wait.Until(b => b.FindElement(By.Id("countdown")).Text != first);

        // Marked paid in the store (by another process, as settlement does): the open page shows it without a reload.
        ((IJavaScriptExecutor)browser).ExecuteScript("window.notReloaded = 42;");
        var store = DynamoDbItemStore.Create(DynamoDbLocal.Shared.CreateClient(), _table, DynamoDbLocal.Credentials, _http);
        await store.UpdateAsync(Molly.Payments.Keys.Payment(id), new Update().Set("status", "paid").Set("received", "12500000"), Condition.ItemExists);

        wait.Until(b => b.FindElement(By.Id("paid")).Displayed);
        Assert.Equal("お支払い完了", browser.FindElement(By.Id("status")).Text);
        Assert.False(browser.FindElement(By.Id("pending")).Displayed);
        var back = browser.FindElement(By.Id("return"));
        Assert.True(back.Displayed);
        Assert.Equal("https://shop.example/thanks?order=o-browser", back.GetAttribute("href"));
        Assert.Equal(42L, ((IJavaScriptExecutor)browser).ExecuteScript("return window.notReloaded;"));

        // Nothing the page did was refused by its own Content-Security-Policy.
        var csp = browser.Manage().Logs.GetLog(LogType.Browser).Where(e => e.Message.Contains("Content Security Policy", StringComparison.Ordinal)).ToList();
        Assert.True(csp.Count == 0, string.Join("\n", csp.Select(e => e.Message)));
    }

    private async Task<JsonElement> CreatePaymentAsync()
    {
        var cred = JsonSerializer.Deserialize(File.ReadAllBytes(Path.Combine(_dataDir, AdminBootstrap.FileName)), ApiJsonContext.Default.AdminCredentialFile)!;
        var admin = new SignedClient(_http, cred.KeyId, cred.Secret, () => DateTimeOffset.UtcNow);
        var merchant = (await (await Send(admin, HttpMethod.Post, "/v1/admin/merchants", """{"name":"Browser shop"}""", HttpStatusCode.Created))
            .Content.ReadFromJsonAsync(ApiJsonContext.Default.MerchantResponse))!;
        var key = (await (await Send(admin, HttpMethod.Post, $"/v1/admin/merchants/{merchant.Id}/api-keys", null, HttpStatusCode.Created))
            .Content.ReadFromJsonAsync(ApiJsonContext.Default.IssuedApiKeyResponse))!;
        var shop = new SignedClient(_http, key.KeyId, key.Secret, () => DateTimeOffset.UtcNow);
        var created = await Send(shop, HttpMethod.Post, "/v1/payments",
            """{"merchantOrderId":"o-browser","amount":"12.50","asset":"USDT","chain":"tron","expiresInSeconds":600,"redirectUrl":"https://shop.example/thanks?order=o-browser"}""",
            HttpStatusCode.Created, idempotencyKey: "k-browser");
        return JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
    }

    private async Task<HttpResponseMessage> Send(SignedClient client, HttpMethod method, string path, string? json, HttpStatusCode expected,
        string? idempotencyKey = null)
    {
        var request = client.Build(method, path, json);
        request.RequestUri = new Uri(_base, path);
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        var response = await _http.SendAsync(request);
        Assert.True(response.StatusCode == expected, $"{method} {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return response;
    }

    /// <summary>Debian's chromium and chromedriver from PATH (never a downloaded browser), headless, offline-friendly flags.</summary>
    private static ChromeDriver StartBrowser(string profileDir)
    {
        var chromium = OnPath("chromium");
        var driver = OnPath("chromedriver");
        var options = new ChromeOptions { BinaryLocation = chromium };
        options.AddArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", $"--user-data-dir={profileDir}", "--window-size=800,1200");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(driver)!, Path.GetFileName(driver));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    private static string OnPath(string name)
    {
        foreach (var dir in (System.Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            var candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        throw new InvalidOperationException($"{name} is not on PATH: run tools/setup.sh (tools/setup.d/chromium.sh installs chromium and chromium-driver).");
    }
}
