using System.Net;
using Molly.Testing;
using Xunit;

namespace Molly.Webhooks.Tests;

public sealed class SsrfGuardTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.5.6.7")]
    [InlineData("10.0.0.1")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.1.1")]
    [InlineData("100.64.0.1")]
    [InlineData("100.127.255.254")]
    [InlineData("169.254.169.254")]
    [InlineData("169.254.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("::")]
    [InlineData("::1")]
    [InlineData("fe80::1")]
    [InlineData("fc00::1")]
    [InlineData("fd00:ec2::254")]
    [InlineData("ff02::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:10.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("::127.0.0.1")]
    [InlineData("64:ff9b::a9fe:a9fe")]
    [InlineData("2002:0a00:0001::1")]
    public void Non_public_addresses_are_refused(string address) =>
        Assert.True(new SsrfGuard(allowHttpLoopback: false).IsBlocked(IPAddress.Parse(address)));

    [Theory]
    [InlineData("93.184.216.34")]
    [InlineData("8.8.8.8")]
    [InlineData("100.128.0.1")]
    [InlineData("172.32.0.1")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("::ffff:8.8.8.8")]
    public void Public_addresses_pass(string address) =>
        Assert.False(new SsrfGuard(allowHttpLoopback: false).IsBlocked(IPAddress.Parse(address)));

    [Fact]
    public void Local_development_allows_exactly_127_0_0_1()
    {
        var dev = new SsrfGuard(allowHttpLoopback: true);
        Assert.False(dev.IsBlocked(IPAddress.Loopback));
        Assert.True(dev.IsBlocked(IPAddress.Parse("127.0.0.2")));
        Assert.True(dev.IsBlocked(IPAddress.IPv6Loopback));
        Assert.True(dev.IsBlocked(IPAddress.Parse("10.0.0.1")));
    }

    [Theory]
    [InlineData("http://example.com/hook", "https")]
    [InlineData("http://127.0.0.1:8080/hook", "https")]
    [InlineData("https://user:pw@example.com/hook", "credentials")]
    [InlineData("https://example.com/hook#x", "fragment")]
    [InlineData("https://127.0.0.1/hook", "127.0.0.1")]
    [InlineData("https://10.0.0.1/hook", "10.0.0.1")]
    [InlineData("https://169.254.169.254/latest/meta-data", "169.254.169.254")]
    [InlineData("https://[::1]/hook", "::1")]
    [InlineData("https://[::ffff:10.0.0.1]/hook", "10.0.0.1")]
    [InlineData("https://localhost/hook", "localhost")]
    [InlineData("https://metadata.google.internal/", "internal")]
    [InlineData("https://intranet/hook", "intranet")]
    [InlineData("ftp://example.com/", "https")]
    [InlineData("/relative", "https")] // a file path on Unix: refused all the same
    [InlineData("not a url", "absolute")]
    public void Production_urls_are_checked_when_an_endpoint_is_created(string url, string mentioned)
    {
        var why = new SsrfGuard(allowHttpLoopback: false).CheckUrl(url);
        Assert.NotNull(why);
        Assert.Contains(mentioned, why, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Https_to_a_public_name_passes_and_http_to_127_0_0_1_only_in_local_development()
    {
        Assert.Null(new SsrfGuard(false).CheckUrl("https://hooks.example.com/molly?x=1"));
        Assert.Null(new SsrfGuard(true).CheckUrl("http://127.0.0.1:5000/hook"));
        Assert.NotNull(new SsrfGuard(true).CheckUrl("http://localhost:5000/hook"));
        Assert.NotNull(new SsrfGuard(true).CheckUrl("http://10.0.0.1/hook"));
    }

    /// <summary>The connect-time check: the handler refuses before any connection, whatever the URL check said. The
    /// receiver on 127.0.0.1 is real and listening, so a missed check would show up as a request it received.</summary>
    [Theory]
    [InlineData("https://127.0.0.1:{port}/hook", "127.0.0.1")]
    [InlineData("http://127.0.0.1:{port}/hook", "127.0.0.1")]
    [InlineData("https://10.0.0.1/hook", "10.0.0.1")]
    [InlineData("https://169.254.169.254/latest/meta-data/", "169.254.169.254")]
    [InlineData("https://[::1]:{port}/hook", "::1")]
    [InlineData("http://localhost:{port}/hook", "127.0.0.1")]
    [InlineData("https://rebound.example.com:{port}/hook", "10.1.2.3")]
    [InlineData("https://mixed.example.com:{port}/hook", "192.168.0.7")]
    public async Task The_connect_callback_refuses_non_public_addresses(string template, string address)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var resolver = new Func<string, CancellationToken, Task<IPAddress[]>>((host, ct) => host switch
        {
            // DNS rebinding: the name answers with a private address when the connection is made.
            "rebound.example.com" => Task.FromResult(new[] { IPAddress.Parse("10.1.2.3") }),
            "mixed.example.com" => Task.FromResult(new[] { IPAddress.Parse("93.184.216.34"), IPAddress.Parse("192.168.0.7") }),
            _ => Dns.GetHostAddressesAsync(host, ct), // "localhost" through the system resolver (/etc/hosts)
        });
        var guard = new SsrfGuard(allowHttpLoopback: false, resolver);
        using var http = new HttpClient(guard.CreateHandler(TimeSpan.FromSeconds(2)));
        var url = template.Replace("{port}", receiver.BaseUri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var e = await Assert.ThrowsAsync<HttpRequestException>(() => http.PostAsync(url, new StringContent("{}")));
        var blocked = Assert.IsType<WebhookAddressBlockedException>(e.InnerException);
        Assert.Equal(IPAddress.Parse(address), blocked.Address.IsIPv4MappedToIPv6 ? blocked.Address.MapToIPv4() : blocked.Address);
        Assert.Equal(0, receiver.Count);
    }

    [Fact]
    public async Task In_local_development_the_same_handler_reaches_127_0_0_1_and_does_not_follow_a_redirect()
    {
        await using var target = await WebhookReceiver.StartAsync();
        await using var receiver = await WebhookReceiver.StartAsync(_ => new Reply(307, Location: target.Url("/x")));
        using var http = new HttpClient(new SsrfGuard(allowHttpLoopback: true).CreateHandler(TimeSpan.FromSeconds(2)));
        var response = await http.PostAsync(receiver.Url(), new StringContent("{}"));
        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
        Assert.Equal(1, receiver.Count);
        Assert.Equal(0, target.Count);
    }
}
