using System.Numerics;
using System.Text.Json.Nodes;
using Molly.Chains.Evm;
using Molly.Chains.Rpc.Evm;
using Molly.Testing;
using Xunit;

namespace Molly.Chains.Rpc.Tests;

/// <summary>
/// eth_getLogs split over block ranges and address batches, and on a node's "too large" errors: the union must equal the
/// unsplit answer. A node of its own with four tokens and logs spread over many blocks.
/// </summary>
public class LogSplittingTests(LogSplittingTests.Chain chain) : IClassFixture<LogSplittingTests.Chain>
{
    private readonly HardhatNode _node = chain.Node;
    private readonly List<EvmAddress> _tokens = chain.Tokens;
    private readonly ulong _head = chain.Head;

    /// <summary>One node for the class: four tokens (the test token and three more) with Transfer logs over many blocks.</summary>
    public sealed class Chain : IAsyncLifetime
    {
        public HardhatNode Node { get; private set; } = null!;

        public List<EvmAddress> Tokens { get; } = [];

        public ulong Head { get; private set; }

        public async Task InitializeAsync()
        {
            Node = await HardhatNode.StartAsync();
            var deployer = Node.DevAccount(5);
            Tokens.Add(Node.TokenAddress);
            var start = await Node.Rpc.GetTransactionCountAsync(deployer.Address);
            for (ulong i = 0; i < 3; i++)
            {
                var receipt = await Node.WaitForReceiptAsync(await Node.SendAsync(deployer, null, 0, Node.TokenInitCode), TimeSpan.FromSeconds(10));
                Assert.Equal(EvmAddress.ForCreate(deployer.Address, start + i), receipt.ContractAddress);
                Tokens.Add(receipt.ContractAddress!);
            }
            for (var round = 0; round < 4; round++)
            {
                for (var t = 1; t < Tokens.Count; t++)
                    await Node.SendAsync(deployer, Tokens[t], 0, Abi.EncodeCall("mint(address,uint256)", Node.DevAccount(6 + round % 3).Address, new BigInteger(round * 10 + t)));
                await Node.SendTokenAsync(Node.DevAccount(1), Node.DevAccount(2).Address, round + 1);
            }
            Head = await Node.Rpc.GetBlockNumberAsync();
        }

        public async Task DisposeAsync() => await Node.DisposeAsync();
    }

    [Fact]
    public async Task Splitting_by_range_and_address_batch_returns_exactly_the_unsplit_logs()
    {
        var filter = new EvmLogFilter(0, _head, [.. _tokens, EvmAddress.Parse("0x00000000000000000000000000000000000000ff")], null);
        var whole = await _node.CreateClient(o => { o.MaxLogBlockRange = 100_000; o.MaxLogAddresses = 100; }).GetLogsAsync(filter);
        var split = await _node.CreateClient(o => { o.MaxLogBlockRange = 3; o.MaxLogAddresses = 2; o.MaxBatchSize = 4; }).GetLogsAsync(filter);

        Assert.True(whole.Count >= 9 + 12 + 4, $"only {whole.Count} logs");
        Assert.Equal(_tokens.ToHashSet(), whole.Select(l => l.Address).ToHashSet());
        Assert.Equivalent(whole, split, strict: true);
        Assert.Equal(whole.Select(l => (l.BlockNumber, l.LogIndex)), split.Select(l => (l.BlockNumber, l.LogIndex))); // same order

        var anyAddress = await _node.CreateClient(o => o.MaxLogBlockRange = 2).GetLogsAsync(filter with { Addresses = null });
        Assert.Equivalent(whole, anyAddress, strict: true);
    }

    [Fact]
    public async Task A_node_that_refuses_large_queries_gets_smaller_ones_until_it_answers()
    {
        var requests = 0;
        await using var limited = new RpcStub(async (_, body) =>
        {
            Interlocked.Increment(ref requests);
            return await LimitLogQueriesAsync(_node.RpcUrl, body, maxBlocks: 2, maxAddresses: 1);
        });
        var filter = new EvmLogFilter(0, _head, _tokens, [[EvmHex.Encode(Erc20.TransferEventTopic.Span)]]);
        var whole = await _node.Rpc.GetLogsAsync(filter);
        var client = _node.CreateClient(o => { o.Endpoints = [limited.Url]; o.MaxLogBlockRange = 100_000; o.MaxLogAddresses = 100; });

        var narrowed = await client.GetLogsAsync(filter);

        Assert.NotEmpty(whole);
        Assert.Equivalent(whole, narrowed, strict: true);
        Assert.True(requests > 5, $"{requests} requests");
    }

    [Fact]
    public async Task A_refusal_for_a_single_block_and_address_is_thrown_not_looped()
    {
        await using var refusing = new RpcStub(async (_, body) => await LimitLogQueriesAsync(_node.RpcUrl, body, maxBlocks: 0, maxAddresses: 0));
        var client = _node.CreateClient(o => o.Endpoints = [refusing.Url]);
        var error = await Assert.ThrowsAsync<EvmRpcErrorException>(() => client.GetLogsAsync(new EvmLogFilter(1, 4, _tokens.Take(2).ToList(), null)));
        Assert.Equal(-32602, error.Code);
        Assert.True(refusing.Requests < 20);
    }

    /// <summary>Forwards to the node but answers eth_getLogs over the limits with a provider-style error (-32602 "block range
    /// too large" / "too many addresses"), request by request inside batches.</summary>
    private static async Task<(int, string)> LimitLogQueriesAsync(string nodeUrl, string body, int maxBlocks, int maxAddresses)
    {
        var request = JsonNode.Parse(body)!;
        var calls = request is JsonArray array ? array.Select(n => n!).ToList() : [request];
        var refused = new Dictionary<long, string>();
        foreach (var call in calls)
        {
            if (call["method"]!.GetValue<string>() != "eth_getLogs") continue;
            var f = call["params"]![0]!;
            var blocks = HexQuantity.Parse(f["toBlock"]!.GetValue<string>()) - HexQuantity.Parse(f["fromBlock"]!.GetValue<string>()) + 1;
            var addresses = f["address"] is JsonArray a ? a.Count : int.MaxValue;
            if (blocks > maxBlocks) refused[call["id"]!.GetValue<long>()] = $"eth_getLogs block range too large, max {maxBlocks}";
            else if (addresses > maxAddresses) refused[call["id"]!.GetValue<long>()] = $"too many addresses, max {maxAddresses}";
        }
        if (request is JsonObject single && refused.Count == 1)
            return (200, ErrorJson(single["id"]!.GetValue<long>(), refused.Single().Value).ToJsonString());
        var (status, answer) = await RpcStub.ForwardAsync(nodeUrl, body);
        if (request is not JsonArray || refused.Count == 0) return (status, answer);
        var answers = JsonNode.Parse(answer)!.AsArray();
        for (var i = 0; i < answers.Count; i++)
        {
            var id = answers[i]!["id"]!.GetValue<long>();
            if (refused.TryGetValue(id, out var message)) answers[i] = ErrorJson(id, message);
        }
        return (status, answers.ToJsonString());
    }

    private static JsonObject ErrorJson(long id, string message) =>
        new() { ["jsonrpc"] = "2.0", ["id"] = id, ["error"] = new JsonObject { ["code"] = -32602, ["message"] = message } };

}
