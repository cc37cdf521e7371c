using System.Diagnostics;
using System.Globalization;
using Molly.Chains.Crypto;
using Molly.Chains.Hd;
using Molly.Chains.Wallets;
using Org.BouncyCastle.Math;

namespace Molly.Benchmarks;

/// <summary>
/// Deposit address generation from an account xpub (BIP84 and EVM), beside a baseline measured in the same run:
/// raw BouncyCastle fixed-base multiplications G*k for random k, single-threaded, extrapolated to 1M.
/// Usage: wallets [count=1000000]
/// </summary>
public sealed class WalletsBenchmark : IBenchmarkSuite
{
    public string Name => "wallets";

    public string Description => "1M BIP84 and EVM deposit addresses from an xpub vs raw G*k baseline";

    public Task RunAsync(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var seed = new byte[32];
        seed[0] = 1;
        var master = ExtKey.FromSeed(seed);
        var btcXpub = master.Derive(KeyPath.Parse("m/84'/0'/0'")).Neuter().ToString(ExtKeyVersion.Zpub);
        var ethXpub = master.Derive(KeyPath.Parse("m/44'/60'/0'")).Neuter().ToString();

        // Baseline: G*k with random k, one thread.
        var rng = new Random(42);
        var ks = Enumerable.Range(0, 2000).Select(_ =>
        {
            var b = new byte[32];
            rng.NextBytes(b);
            return new BigInteger(1, b).Mod(Secp256k1.N);
        }).ToArray();
        foreach (var k in ks) Secp256k1.MultiplyG(k); // warm-up: JIT tiers and the comb table
        var sw = Stopwatch.StartNew();
        foreach (var k in ks) Secp256k1.MultiplyG(k);
        var baselinePerOp = sw.Elapsed.TotalSeconds / ks.Length;
        Console.WriteLine($"cores: {Environment.ProcessorCount}");
        Console.WriteLine($"baseline  G*k (BouncyCastle comb, 1 thread): {1 / baselinePerOp:F0}/s -> {baselinePerOp * 1_000_000:F1} s per 1M (extrapolated)");

        foreach (var (chain, xpub) in new[] { ("btc", btcXpub), ("eth", ethXpub) })
        {
            var deriver = DepositAddressDeriver.Create(chain, "mainnet", xpub);
            deriver.DeriveRange(0, 1000);
            sw.Restart();
            var result = deriver.DeriveRange(0, count);
            var seconds = sw.Elapsed.TotalSeconds;
            var perMillion = seconds * 1_000_000 / count;
            Console.WriteLine($"{chain,-4} {count} addresses in {seconds:F1} s ({count / seconds:F0}/s, {perMillion:F1} s per 1M; " +
                              $"ratio to 1-thread G*k baseline {perMillion / (baselinePerOp * 1_000_000):F2}); last {result[^1].Address}");
        }

        return Task.CompletedTask;
    }
}
