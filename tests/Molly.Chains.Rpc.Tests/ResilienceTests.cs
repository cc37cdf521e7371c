using Molly.Chains.Rpc.Evm;
using Molly.Testing;
using Xunit;

namespace Molly.Chains.Rpc.Tests;

/// <summary>Fail-over, retries and rejection of malformed answers: a real node behind tiny local HTTP stubs.</summary>
public class ResilienceTests
{
    private static Action<EvmRpcOptions> Fast(params string[] endpoints) => o =>
    {
        o.Endpoints = [.. endpoints];
        o.RetryBaseDelay = TimeSpan.FromMilliseconds(10);
        o.MaxRetryDelay = TimeSpan.FromMilliseconds(50);
        o.RequestTimeout = TimeSpan.FromSeconds(5);
    };

    [Fact]
    public async Task A_dead_first_endpoint_fails_over_and_is_skipped_while_cooling_down()
    {
        var node = await HardhatNode.Shared;
        var closed = $"http://127.0.0.1:{RpcStub.FreePort()}/";
        var client = node.CreateClient(Fast(closed, node.RpcUrl));
        Assert.Equal(31337, await client.GetChainIdAsync());

        // A failing first endpoint that counts its hits: after one failure it is not asked again during the cooldown.
        await using var broken = new RpcStub((_, _) => Task.FromResult((503, "busy")));
        var counted = node.CreateClient(Fast(broken.Url, node.RpcUrl));
        for (var i = 0; i < 5; i++) Assert.Equal(31337, await counted.GetChainIdAsync());
        Assert.Equal(1, broken.Requests);
    }

    [Fact]
    public async Task A_5xx_is_retried_with_backoff_until_the_node_answers()
    {
        var node = await HardhatNode.Shared;
        await using var flaky = new RpcStub(async (stub, body) => stub.Requests <= 2 ? (502, "<html>bad gateway</html>") : await RpcStub.ForwardAsync(node.RpcUrl, body));
        var client = node.CreateClient(Fast(flaky.Url));
        Assert.Equal(await node.Rpc.GetBlockNumberAsync(), await client.GetBlockNumberAsync());
        Assert.Equal(3, flaky.Requests);
    }

    [Fact]
    public async Task When_every_endpoint_keeps_failing_the_error_names_them_without_their_secrets()
    {
        await using var down = new RpcStub((_, _) => Task.FromResult((500, "oops")));
        var withKey = down.Url + "v3/SECRET-API-KEY?token=ALSO-SECRET";
        var client = new EvmRpcClient(new HttpClient(), new EvmRpcOptions
        {
            Endpoints = [withKey, $"http://127.0.0.1:{RpcStub.FreePort()}/"],
            MaxRetryAttempts = 2,
            RetryBaseDelay = TimeSpan.FromMilliseconds(5),
            MaxRetryDelay = TimeSpan.FromMilliseconds(20),
        });
        var error = await Assert.ThrowsAsync<EvmRpcUnavailableException>(() => client.GetChainIdAsync());
        Assert.Equal(3, down.Requests); // first try + 2 retries
        Assert.Contains("HTTP 500", error.Message);
        Assert.Contains("/***", error.Message);
        Assert.DoesNotContain("SECRET", error.ToString());
        Assert.Equal("eth_chainId", error.Method);
    }

    [Fact]
    public async Task A_slow_endpoint_times_out_and_the_next_one_answers()
    {
        var node = await HardhatNode.Shared;
        await using var slow = new RpcStub(async (_, body) => { await Task.Delay(3000); return await RpcStub.ForwardAsync(node.RpcUrl, body); });
        var client = node.CreateClient(o => { Fast(slow.Url, node.RpcUrl)(o); o.RequestTimeout = TimeSpan.FromMilliseconds(300); });
        Assert.Equal(31337, await client.GetChainIdAsync());
        Assert.Equal(1, slow.Requests);
    }

    [Theory]
    [InlineData("eth_blockNumber", "\"0x01\"")]          // leading zero
    [InlineData("eth_blockNumber", "\"12\"")]            // decimal, no 0x
    [InlineData("eth_blockNumber", "\"0x\"")]            // no digits
    [InlineData("eth_blockNumber", "\"0xzz\"")]          // not hex
    [InlineData("eth_blockNumber", "12")]                // a JSON number
    [InlineData("eth_blockNumber", "null")]
    [InlineData("eth_chainId", "\"-0x1\"")]
    [InlineData("eth_getBalance", "\"0x" + "1" + "0000000000000000000000000000000000000000000000000000000000000000\"")] // 65 digits
    [InlineData("eth_getTransactionReceipt", "{\"transactionHash\":\"0x12\",\"blockNumber\":\"0x1\",\"blockHash\":\"0x00\",\"status\":\"0x1\",\"gasUsed\":\"0x1\",\"effectiveGasPrice\":\"0x1\",\"logs\":[]}")]
    [InlineData("eth_getTransactionReceipt", "{\"transactionHash\":\"0x2222222222222222222222222222222222222222222222222222222222222222\",\"blockNumber\":\"0x1\",\"blockHash\":\"0x2222222222222222222222222222222222222222222222222222222222222222\",\"status\":\"0x2\",\"gasUsed\":\"0x1\",\"effectiveGasPrice\":\"0x1\",\"logs\":[]}")]
    [InlineData("eth_getBlockByNumber", "{\"number\":\"0x5\",\"hash\":\"0x1\",\"parentHash\":\"0x1\",\"timestamp\":\"0x1\",\"transactions\":[]}")]
    [InlineData("eth_getBlockByNumber", "[]")]
    public async Task Malformed_results_are_rejected_not_guessed(string method, string result)
    {
        await using var liar = new RpcStub((_, body) => Task.FromResult((200, $$"""{"jsonrpc":"2.0","id":{{RpcStub.IdOf(body)}},"result":{{result}}}""")));
        var client = new EvmRpcClient(new HttpClient(), new EvmRpcOptions { Endpoints = [liar.Url] });
        var address = Molly.Chains.Evm.EvmAddress.Zero;
        var error = await Assert.ThrowsAsync<EvmRpcMalformedResponseException>(async () =>
        {
            switch (method)
            {
                case "eth_blockNumber": await client.GetBlockNumberAsync(); break;
                case "eth_chainId": await client.GetChainIdAsync(); break;
                case "eth_getBalance": await client.GetBalanceAsync(address); break;
                case "eth_getTransactionReceipt": await client.GetTransactionReceiptAsync("0x" + new string('2', 64)); break;
                default: await client.GetBlockByNumberAsync(5); break;
            }
        });
        Assert.Equal(method, error.Method);
        Assert.Equal(1, liar.Requests); // a node that answers garbage is not asked again and again
    }

    [Theory]
    [InlineData(200, "<html>not json</html>")]
    [InlineData(200, "{\"jsonrpc\":\"2.0\",\"id\":999999,\"result\":\"0x1\"}")]   // an id nobody asked for
    [InlineData(200, "{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":\"0x1\"}")]
    [InlineData(200, "")]
    [InlineData(403, "forbidden")]
    public async Task Broken_envelopes_count_as_a_failed_endpoint_and_the_next_one_is_used(int status, string body)
    {
        var node = await HardhatNode.Shared;
        await using var broken = new RpcStub((_, _) => Task.FromResult((status, body)));
        var client = node.CreateClient(Fast(broken.Url, node.RpcUrl));
        Assert.Equal(31337, await client.GetChainIdAsync());
        Assert.Equal(1, broken.Requests);
    }

    [Fact]
    public void Options_are_validated_before_anything_is_sent()
    {
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new EvmRpcClient(new HttpClient(), new EvmRpcOptions()));
        var bad = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            new EvmRpcClient(new HttpClient(), new EvmRpcOptions { Endpoints = ["ftp://key@example.invalid/SECRET"], MaxBatchSize = 0, MaxLogBlockRange = 0 }));
        Assert.Contains("Endpoints[0]", bad.Message);
        Assert.Contains("MaxBatchSize", bad.Message);
        Assert.Contains("MaxLogBlockRange", bad.Message);
        Assert.DoesNotContain("SECRET", bad.Message);
    }
}
