using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Molly.Chains.Crypto;
using Molly.Chains.Hd;
using Molly.Chains.Wallets;
using Org.BouncyCastle.Math;

namespace Molly.Benchmarks;

/// <summary>
/// `molly wallets generate` (the same <see cref="DepositAddressDeriver.WriteRange"/> into a buffered file) of BIP84 and
/// EVM deposit addresses from an account xpub, beside a baseline measured in the same run: raw BouncyCastle fixed-base
/// multiplications G*k for random k on one thread, extrapolated to 1M. Prints wall time, addresses/s, the process CPU
/// time per address (what a quiet machine would divide by its cores) and the load average, plus a one-thread breakdown
/// of where an address's time goes. Usage: wallets [count=1000000]
/// </summary>
public sealed class WalletsBenchmark : IBenchmarkSuite
{
    public string Name => "wallets";

    public string Description => "1M BIP84 and EVM deposit addresses from an xpub (molly wallets generate) vs raw G*k baseline";

    public Task RunAsync(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var seed = new byte[32];
        seed[0] = 1;
        var master = ExtKey.FromSeed(seed);
        var btcXpub = master.Derive(KeyPath.Parse("m/84'/0'/0'")).Neuter().ToString(ExtKeyVersion.Zpub);
        var ethXpub = master.Derive(KeyPath.Parse("m/44'/60'/0'")).Neuter().ToString();
        Console.WriteLine($"cores: {Environment.ProcessorCount}; load average at start: {LoadAverage()}");

        // Baseline: BouncyCastle G*k with random k, one thread.
        var rng = new Random(42);
        var ks = Enumerable.Range(0, 2000).Select(_ =>
        {
            var b = new byte[32];
            rng.NextBytes(b);
            return new BigInteger(1, b).Mod(Secp256k1.N);
        }).ToArray();
        foreach (var k in ks) Secp256k1.MultiplyG(k); // warm-up: JIT tiers and the comb table
        var rounds = 0;
        var (baselineWall, baselineCpu) = Measure(() =>
        {
            // At least 2 s, so a moment of contention on a shared machine weighs less.
            var sw = Stopwatch.StartNew();
            do
            {
                foreach (var k in ks) Secp256k1.MultiplyG(k);
                rounds++;
            }
            while (sw.Elapsed.TotalSeconds < 2);
        });
        var multiplications = rounds * ks.Length;
        var baselinePerOp = baselineWall / multiplications;
        var baselineCpuPerOp = baselineCpu / multiplications;
        Console.WriteLine($"baseline  G*k (BouncyCastle comb, 1 thread): {1 / baselinePerOp:F0}/s -> {baselinePerOp * 1_000_000:F1} s per 1M " +
                          $"(extrapolated from {multiplications}; CPU {baselineCpuPerOp * 1e6:F1} us per multiplication)");

        Breakdown(master.Derive(KeyPath.Parse("m/84'/0'/0'/0")).Neuter());

        foreach (var (chain, xpub) in new[] { ("btc", btcXpub), ("eth", ethXpub) })
        {
            var deriver = DepositAddressDeriver.Create(chain, "mainnet", xpub);
            deriver.DeriveAddresses(0, 4096); // warm-up: JIT tiers and the fixed-base table
            var file = Path.Combine(Path.GetTempPath(), $"molly-wallets-{chain}-{Environment.ProcessId}.csv");
            try
            {
                var (seconds, cpu) = Measure(() =>
                {
                    using var writer = new StreamWriter(file, append: false, new UTF8Encoding(false), 1 << 20);
                    deriver.WriteRange(writer, 0, count);
                });
                var perMillion = seconds * 1_000_000 / count;
                var lastLine = File.ReadLines(file).Last();
                var cpuPerAddress = cpu / count;
                Console.WriteLine($"{chain,-4} {count} addresses to a file in {seconds:F2} s ({count / seconds:F0}/s, {perMillion:F1} s per 1M; " +
                                  $"ratio to the 1-thread G*k baseline: wall {perMillion / (baselinePerOp * 1_000_000):F3}, " +
                                  $"CPU {cpuPerAddress / baselineCpuPerOp:F3} = one address costs 1/{baselineCpuPerOp / cpuPerAddress:F1} of one BouncyCastle G*k); " +
                                  $"CPU {cpuPerAddress * 1e6:F2} us per address (= {cpuPerAddress * 1e6 / Environment.ProcessorCount:F1} s per 1M on {Environment.ProcessorCount} idle cores); " +
                                  $"last line {lastLine}");
            }
            finally
            {
                File.Delete(file);
            }
        }

        Console.WriteLine($"load average at end: {LoadAverage()}");
        return Task.CompletedTask;
    }

    /// <summary>One thread, CPU time per address of each step of the fast path.</summary>
    private static void Breakdown(ExtPubKey receive)
    {
        const int n = 20_480;
        var message = new byte[37];
        receive.PublicKey.CopyTo(message);
        var mac = new byte[64];
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA512, receive.ChainCode);
        var hmacCpu = PerItem(n, i =>
        {
            message[36] = (byte)i;
            hmac.AppendData(message);
            hmac.GetHashAndReset(mac);
        });

        var k = mac[..32];
        var parent = JacobianPoint.Infinity;
        Secp256k1FixedBase.MultiplyAdd(k, ref parent);
        var points = new JacobianPoint[ChildPublicKeys.MaxBlock];
        var mulCpu = PerItem(n, i =>
        {
            k[i & 31] ^= (byte)i;
            points[i % points.Length] = parent;
            Secp256k1FixedBase.MultiplyAdd(k, ref points[i % points.Length]);
        });
        var affine = new AffinePoint[points.Length];
        var affineCpu = PerItem(n, i =>
        {
            if (i % points.Length == 0) JacobianPoint.ToAffine(points, affine);
        });

        using var children = new ChildPublicKeys(receive);
        var keys = new byte[ChildPublicKeys.MaxBlock * ChildPublicKeys.KeySize];
        var childCpu = PerItem(n, i =>
        {
            if (i % ChildPublicKeys.MaxBlock == 0) children.Derive((uint)i, ChildPublicKeys.MaxBlock, keys);
        });
        var btc = DepositAddressDeriver.AddressFunction("btc", "mainnet");
        var eth = DepositAddressDeriver.AddressFunction("eth", "mainnet");
        var btcCpu = PerItem(n / 4, _ => btc(receive));
        var ethCpu = PerItem(n / 4, _ => eth(receive));
        var bcChild = PerItem(500, i => receive.Derive((uint)i));
        Console.WriteLine($"breakdown, 1 thread, CPU us per address: HMAC-SHA512 {hmacCpu:F2}; I_L*G+parent ({Secp256k1FixedBase.Windows} table additions of {Secp256k1FixedBase.WindowBits}-bit windows) {mulCpu:F2}; " +
                          $"affine, 1 inversion per {points.Length} {affineCpu:F2}; whole child key {childCpu:F2} " +
                          $"[BouncyCastle ExtPubKey.Derive {bcChild:F1}]; address from key: btc {btcCpu:F2}, eth {ethCpu:F2}");
    }

    private static double PerItem(int n, Action<int> step)
    {
        // Warm up long enough for the tiered JIT to have compiled the optimised code (it does so in the background).
        var warm = Stopwatch.StartNew();
        for (var i = 0; warm.ElapsedMilliseconds < 500 || i < 2048; i++) step(i % n);
        var (_, cpu) = Measure(() =>
        {
            for (var i = 0; i < n; i++) step(i);
        });
        return cpu / n * 1e6;
    }

    private static (double Wall, double Cpu) Measure(Action action)
    {
        var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        action();
        var wall = sw.Elapsed.TotalSeconds;
        process.Refresh();
        return (wall, (process.TotalProcessorTime - cpu).TotalSeconds);
    }

    private static string LoadAverage()
        => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
