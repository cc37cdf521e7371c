using System.Numerics;
using Molly.Chains.Evm;
using Molly.Chains.Rpc.Evm;
using Molly.Chains.Signing;
using Molly.Testing;
using Xunit;

namespace Molly.Chains.Rpc.Tests;

public class FeeEstimatorTests
{
    private const long Gwei = 1_000_000_000;

    private static EvmFeeHistory History(long[] baseFees, double[] ratios, long[] tips) =>
        new(100, baseFees.Select(b => new BigInteger(b)).ToList(), ratios, tips.Select(t => (IReadOnlyList<BigInteger>)[new BigInteger(t)]).ToList());

    [Fact]
    public void Max_fee_is_the_next_base_fee_times_the_factor_plus_the_median_tip_of_busy_blocks()
    {
        // Blocks 100..104; block 102 is empty (its 0 tip is ignored). Tips of busy blocks: 1, 3, 5, 2 gwei -> median 3 gwei.
        var history = History([10 * Gwei, 11 * Gwei, 12 * Gwei, 11 * Gwei, 12 * Gwei, 13 * Gwei], [0.5, 0.9, 0, 0.6, 0.7], [1 * Gwei, 3 * Gwei, 0, 5 * Gwei, 2 * Gwei]);
        var estimate = EvmFeeEstimator.Estimate(history, new EvmFeeOptions { BaseFeeMultiplierPercent = 150, MinPriorityFeePerGas = 1 });
        Assert.Equal(13 * Gwei, (long)estimate.NextBaseFeePerGas);
        Assert.Equal(3 * Gwei, (long)estimate.MaxPriorityFeePerGas);
        Assert.Equal(13 * Gwei * 3 / 2 + 3 * Gwei, (long)estimate.MaxFeePerGas);
        Assert.Equal(104UL, estimate.NewestBlock);
        Assert.Equal(estimate.MaxFeePerGas * 21_000, estimate.MaxCost(21_000));
    }

    [Fact]
    public void Quiet_chains_get_the_minimum_tip_and_spikes_the_maximum()
    {
        var quiet = EvmFeeEstimator.Estimate(History([Gwei, Gwei, Gwei], [0, 0], [0, 0]), new EvmFeeOptions());
        Assert.Equal(new EvmFeeOptions().MinPriorityFeePerGas, quiet.MaxPriorityFeePerGas);
        var spike = EvmFeeEstimator.Estimate(History([Gwei, Gwei], [1], [900 * Gwei]), new EvmFeeOptions { MaxPriorityFeePerGas = 7 * Gwei });
        Assert.Equal(7 * Gwei, (long)spike.MaxPriorityFeePerGas);
    }

    [Fact]
    public void The_cap_limits_the_max_fee_and_refuses_when_even_the_base_fee_is_above_it()
    {
        var options = new EvmFeeOptions { MaxFeePerGasCap = 30 * Gwei, MinPriorityFeePerGas = Gwei };
        var capped = EvmFeeEstimator.Estimate(History([20 * Gwei, 20 * Gwei], [0.5], [Gwei]), options);
        Assert.Equal(30 * Gwei, (long)capped.MaxFeePerGas); // 20*2+1 = 41 capped to 30, still above base+tip = 21
        var error = Assert.Throws<EvmFeeCapExceededException>(() => EvmFeeEstimator.Estimate(History([40 * Gwei, 40 * Gwei], [0.5], [Gwei]), options));
        Assert.Equal(41 * Gwei, (long)error.Needed);
    }

    [Fact]
    public void Bad_options_fail_at_construction()
    {
        var rpc = new EvmRpcClient(new HttpClient(), new EvmRpcOptions { Endpoints = ["http://127.0.0.1:1"] });
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new EvmFeeEstimator(rpc, new EvmFeeOptions { BaseFeeMultiplierPercent = 50 }));
        Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => new EvmFeeEstimator(rpc, new EvmFeeOptions { MaxPriorityFeePerGas = 0 }));
    }

    [Fact]
    public async Task A_transaction_priced_by_the_estimator_is_mined_at_no_more_than_its_max_fee_on_a_busy_chain()
    {
        await using var node = await HardhatNode.StartAsync();
        // Fill a few blocks so the base fee moves and the fee history has real tips.
        await node.SetAutomineAsync(false);
        for (var i = 0; i < 30; i++) await node.SendEthAsync(node.DevAccount(1 + i % 8), node.DevAccount(9).Address, 1);
        await node.MineAsync(3);
        await node.SetAutomineAsync(true);

        var estimator = new EvmFeeEstimator(node.Rpc, new EvmFeeOptions { HistoryBlocks = 5 });
        var estimate = await estimator.EstimateAsync();
        var history = await node.Rpc.GetFeeHistoryAsync(5, "latest", [50]);
        Assert.Equal(history.BaseFeePerGas[^1], estimate.NextBaseFeePerGas);
        Assert.Contains(history.Reward, r => r[0] > 0); // the tips HardhatDevChain paid show up

        var from = node.DevAccount(3);
        var signer = new InMemorySigner().Add("k", SignerKeyAlgorithm.Secp256k1, from.PrivateKey);
        var tx = new Eip1559Transaction
        {
            ChainId = node.ChainId, Nonce = await node.Rpc.GetTransactionCountAsync(from.Address), GasLimit = 21_000,
            MaxFeePerGas = estimate.MaxFeePerGas, MaxPriorityFeePerGas = estimate.MaxPriorityFeePerGas, To = node.DevAccount(9).Address, Value = 5,
        };
        var receipt = await node.WaitForReceiptAsync(await node.Rpc.SendRawTransactionAsync((await tx.SignAsync(signer, "k")).RawBytes), TimeSpan.FromSeconds(10));
        Assert.True(receipt.Succeeded);
        var block = await node.Rpc.GetBlockByNumberAsync(receipt.BlockNumber);
        Assert.Equal(block!.BaseFeePerGas + estimate.MaxPriorityFeePerGas, receipt.EffectiveGasPrice);
        Assert.True(receipt.EffectiveGasPrice <= estimate.MaxFeePerGas);
    }
}
