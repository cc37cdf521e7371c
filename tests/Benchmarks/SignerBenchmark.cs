using System.Diagnostics;
using System.Security.Cryptography;
using Molly.Chains.Evm;
using Molly.Chains.Signing;

namespace Molly.Benchmarks;

/// <summary>
/// secp256k1 digest signing through the local keystore (AES-GCM unwrap per signature) against the in-memory signer
/// (baseline, same key, same run), plus a full EIP-1559 build+sign through the keystore.
/// </summary>
public sealed class SignerBenchmark : IBenchmarkSuite
{
    public string Name => "signers";

    public string Description => "local keystore vs in-memory secp256k1 signing (ratio), EIP-1559 sign";

    public async Task RunAsync(string[] args)
    {
        var iterations = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 2000;
        var secret = RandomNumberGenerator.GetBytes(32);
        var dir = Directory.CreateTempSubdirectory("molly-bench-").FullName;
        try
        {
            var keystore = await LocalKeystoreSigner.OpenOrCreateAsync(Path.Combine(dir, "k.json"), "bench-passphrase");
            await keystore.ImportKeyAsync("k", SignerKeyAlgorithm.Secp256k1, secret);
            var memory = new InMemorySigner().Add("k", SignerKeyAlgorithm.Secp256k1, secret);
            var digest = SHA256.HashData("molly"u8);

            async Task<double> Measure(Func<Task> op)
            {
                for (var i = 0; i < 50; i++) await op();
                var sw = Stopwatch.StartNew();
                for (var i = 0; i < iterations; i++) await op();
                return iterations / sw.Elapsed.TotalSeconds;
            }

            var baseline = await Measure(() => memory.SignDigestAsync("k", digest));
            var store = await Measure(() => keystore.SignDigestAsync("k", digest));
            var tx = new Eip1559Transaction { ChainId = 1, MaxPriorityFeePerGas = 1, MaxFeePerGas = 30_000_000_000, GasLimit = 21_000, To = EvmAddress.Zero, Value = 1 };
            var txRate = await Measure(() => tx.SignAsync(keystore, "k"));
            Console.WriteLine($"in-memory signer (baseline): {baseline,10:F0} signatures/s");
            Console.WriteLine($"local keystore signer:       {store,10:F0} signatures/s  ratio {store / baseline:F2}x baseline");
            Console.WriteLine($"EIP-1559 build+sign (store): {txRate,10:F0} tx/s");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
