using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Xunit;

namespace Molly.Webhooks.Tests;

/// <summary>The README's verification snippets (C# in ReadmeSnippet.cs, Node.js in snippets/) against the signer.</summary>
public sealed class SignatureSnippetTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 3, 0, 0, TimeSpan.Zero);
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"id":"evt_1","type":"payment.paid","data":{"amount":"12.50"}}""");

    public static TheoryData<string, string, long, bool> Cases()
    {
        var secret = WebhookSignature.NewSecret();
        var other = WebhookSignature.NewSecret();
        var ts = Now.ToUnixTimeSeconds();
        var good = WebhookSignature.HeaderValue([secret], ts, Body);
        return new TheoryData<string, string, long, bool>
        {
            { good, secret, ts, true },
            { WebhookSignature.HeaderValue([other, secret], ts, Body), secret, ts, true }, // rotation: the second v1 matches
            { WebhookSignature.HeaderValue([other], ts, Body), secret, ts, false },
            { good, secret, ts + 301, false }, // replayed after the tolerance
            { good.Replace("t=", "t=1", StringComparison.Ordinal), secret, ts, false },
            { good[..^1] + (good[^1] == '0' ? '1' : '0'), secret, ts, false }, // one hex digit changed
            { "", secret, ts, false },
            { "v1=abc", secret, ts, false },
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_csharp_snippet_and_the_library_agree(string header, string secret, long now, bool valid)
    {
        var at = DateTimeOffset.FromUnixTimeSeconds(now);
        Assert.Equal(valid, MollyWebhook.Verify(header, Body, secret, at, TimeSpan.FromMinutes(5)));
        Assert.Equal(valid, WebhookSignature.Verify(header, Body, secret, at, TimeSpan.FromMinutes(5)));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task The_node_snippet_agrees(string header, string secret, long now, bool valid)
    {
        var psi = new ProcessStartInfo("node", Path.Combine(AppContext.BaseDirectory, "snippets", "run-snippet.js"))
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var node = Process.Start(psi)!;
        await node.StandardInput.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["header"] = header, ["bodyBase64"] = Convert.ToBase64String(Body), ["secret"] = secret, ["now"] = now,
        }));
        node.StandardInput.Close();
        var output = await node.StandardOutput.ReadToEndAsync();
        await node.WaitForExitAsync();
        Assert.True(node.ExitCode == 0, await node.StandardError.ReadToEndAsync());
        Assert.Equal(valid ? "true" : "false", output);
    }
}
