using System.Collections.Concurrent;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Molly.Chains.Evm;
using Molly.Chains.Hd;
using Molly.Chains.Signing;

namespace Molly.Chains.Rpc.Evm;

/// <summary>
/// The local dev chain (Hardhat, chain id 31337) as the CLI (`molly devchain up`) and the tests use it: Hardhat's
/// PUBLIC test accounts, the test ERC-20 "Molly Test USD" deployed as account #0's first transaction (so at
/// <see cref="TokenAddress"/>), minting, and ETH/token transfers built and signed by our own EIP-1559 code.
/// Never point this at a real chain: the keys are published in Hardhat's documentation.
/// </summary>
public class HardhatDevChain
{
    public const long HardhatChainId = 31337;

    /// <summary>Hardhat's default mnemonic: every account derived from it is public knowledge.</summary>
    public const string PublicTestMnemonic = "test test test test test test test test test test test junk";

    /// <summary>CREATE(account #0, nonce 0): where the test token lands on a fresh node.</summary>
    public static EvmAddress DeterministicTokenAddress { get; } = EvmAddress.Parse("0x5FbDB2315678afecb367f032d93F642f64180aa3");

    /// <summary>The test token's address (<see cref="DeterministicTokenAddress"/>).</summary>
    public EvmAddress TokenAddress => DeterministicTokenAddress;

    public long ChainId => HardhatChainId;

    public const int TokenDecimals = 6;

    private static readonly Lazy<ExtKey> AccountRoot = new(() =>
        ExtKey.FromSeed(Mnemonic.Parse(PublicTestMnemonic).DeriveSeed()).Derive(KeyPath.Parse("m/44'/60'/0'/0")));

    private static readonly ConcurrentDictionary<int, DevAccount> Accounts = new();

    private readonly EvmRpcClient _rpc;
    private readonly InMemorySigner _signer = new();
    private readonly ConcurrentDictionary<EvmAddress, SemaphoreSlim> _senderLocks = new();

    public HardhatDevChain(EvmRpcClient rpc) => _rpc = rpc ?? throw new ArgumentNullException(nameof(rpc));

    public EvmRpcClient Rpc => _rpc;

    /// <summary>Account i of the public test mnemonic (m/44'/60'/0'/0/i), funded with 10000 ETH on a fresh node.</summary>
    public DevAccount DevAccount(int index) => Account(index);

    /// <summary>Account i of the public test mnemonic (m/44'/60'/0'/0/i), funded with 10000 ETH on a fresh node.</summary>
    public static DevAccount Account(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        return Accounts.GetOrAdd(index, static i =>
        {
            var key = AccountRoot.Value.Derive((uint)i).PrivateKey;
            var address = EvmAddress.FromPublicKey(Molly.Chains.Crypto.Secp256k1.GetPublicKey(key, compressed: false));
            return new DevAccount(i, key, address);
        });
    }

    /// <summary>The compiled token (tools/devchain/compile.cjs output) read from <paramref name="artifactPath"/>.</summary>
    public static byte[] LoadTokenBytecode(string artifactPath)
    {
        if (!File.Exists(artifactPath))
            throw new FileNotFoundException($"The test token is not compiled ({artifactPath} is missing): run tools/setup.sh (tools/setup.d/devchain.sh).", artifactPath);
        var artifact = JsonSerializer.Deserialize(File.ReadAllBytes(artifactPath), DevChainJsonContext.Default.ContractArtifact)
            ?? throw new FormatException($"{artifactPath} is empty.");
        return EvmHex.Decode(artifact.Bytecode ?? throw new FormatException($"{artifactPath} has no bytecode."), "token bytecode");
    }

    /// <summary>
    /// Deploys the token from account #0 at nonce 0 and checks it landed at <see cref="TokenAddress"/>; on a node where it is
    /// already there (same code) it does nothing. Returns true when it deployed.
    /// </summary>
    public async Task<bool> EnsureTokenAsync(byte[] initCode, CancellationToken ct = default)
    {
        var deployer = Account(0);
        var code = await GetCodeAsync(TokenAddress, ct).ConfigureAwait(false);
        if (code.Length > 2) return false;
        var nonce = await _rpc.GetTransactionCountAsync(deployer.Address, "latest", ct).ConfigureAwait(false);
        if (nonce != 0)
            throw new InvalidOperationException($"Account #0 has already sent {nonce} transactions and no token is at {TokenAddress}: restart the dev chain (the token must be its first transaction).");
        var hash = await SendAsync(deployer, to: null, BigInteger.Zero, initCode, ct).ConfigureAwait(false);
        var receipt = await WaitForReceiptAsync(hash, TimeSpan.FromSeconds(30), ct).ConfigureAwait(false);
        if (!receipt.Succeeded) throw new InvalidOperationException($"The token deployment {hash} reverted.");
        if (receipt.ContractAddress != DeterministicTokenAddress)
            throw new InvalidOperationException($"The token landed at {receipt.ContractAddress}, expected {TokenAddress}.");
        if ((await GetCodeAsync(TokenAddress, ct).ConfigureAwait(false)).Length <= 2)
            throw new InvalidOperationException($"No code at {TokenAddress} after the deployment.");
        return true;
    }

    /// <summary>Mints test USDT (base units, 6 decimals) to <paramref name="to"/>; returns the transaction hash (mined if automine is on).</summary>
    public Task<string> MintAsync(EvmAddress to, BigInteger amount, CancellationToken ct = default) =>
        SendAsync(Account(0), TokenAddress, BigInteger.Zero, Abi.EncodeCall("mint(address,uint256)", to, amount), ct);

    /// <summary>An EIP-1559 ETH transfer signed with our signer; returns the transaction hash.</summary>
    public Task<string> SendEthAsync(DevAccount from, EvmAddress to, BigInteger wei, CancellationToken ct = default) =>
        SendAsync(from, to, wei, ReadOnlyMemory<byte>.Empty, ct);

    /// <summary>An EIP-1559 ERC-20 transfer(to, amount) of <paramref name="token"/> (default: the test token).</summary>
    public Task<string> SendTokenAsync(DevAccount from, EvmAddress to, BigInteger amount, EvmAddress? token = null, CancellationToken ct = default) =>
        SendAsync(from, token ?? TokenAddress, BigInteger.Zero, Erc20.EncodeTransfer(to, amount), ct);

    public async Task<BigInteger> TokenBalanceAsync(EvmAddress owner, EvmAddress? token = null, CancellationToken ct = default)
    {
        var call = new JsonObject { ["to"] = (token ?? TokenAddress).ToLowerHex(), ["data"] = EvmHex.Encode(Abi.EncodeCall("balanceOf(address)", owner)) };
        var result = await _rpc.CallAsync("eth_call", [call, "latest"], ct).ConfigureAwait(false);
        var bytes = EvmHex.Decode(result.GetString() ?? "0x", "balanceOf result");
        if (bytes.Length != 32) throw new FormatException($"balanceOf returned {bytes.Length} bytes.");
        return new BigInteger(bytes, isUnsigned: true, isBigEndian: true);
    }

    /// <summary>
    /// Builds, signs (EIP-1559, our signer) and sends a transaction from a dev account. The nonce is the node's pending count,
    /// taken under a per-sender lock so concurrent sends from one account do not collide. Gas: the node's estimate + 20 %.
    /// </summary>
    public async Task<string> SendAsync(DevAccount from, EvmAddress? to, BigInteger value, ReadOnlyMemory<byte> data, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(from);
        var keyId = $"hardhat-{from.Index}";
        _signer.Add(keyId, SignerKeyAlgorithm.Secp256k1, from.PrivateKey);
        var gate = _senderLocks.GetOrAdd(from.Address, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var nonce = await _rpc.GetTransactionCountAsync(from.Address, "pending", ct).ConfigureAwait(false);
            var gas = await _rpc.EstimateGasAsync(new EvmCall(from.Address, to, value, data.IsEmpty ? null : EvmHex.Encode(data.Span)), ct).ConfigureAwait(false);
            var latest = await _rpc.CallAsync("eth_getBlockByNumber", ["latest", false], ct).ConfigureAwait(false);
            var baseFee = HexQuantity.Parse(latest.GetProperty("baseFeePerGas").GetString(), "base fee");
            var tip = new BigInteger(1_000_000_000);
            var tx = new Eip1559Transaction
            {
                ChainId = HardhatChainId,
                Nonce = nonce,
                MaxPriorityFeePerGas = tip,
                MaxFeePerGas = baseFee * 2 + tip,
                GasLimit = gas * 12 / 10,
                To = to,
                Value = value,
                Data = data,
            };
            var signed = await tx.SignAsync(_signer, keyId, ct).ConfigureAwait(false);
            return await _rpc.SendRawTransactionAsync(signed.RawBytes, ct).ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Polls for the receipt (a mined transaction); with automine off, mine first.</summary>
    public async Task<EvmReceipt> WaitForReceiptAsync(string transactionHash, TimeSpan timeout, CancellationToken ct = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            while (true)
            {
                if (await _rpc.GetTransactionReceiptAsync(transactionHash, cts.Token).ConfigureAwait(false) is { } receipt) return receipt;
                await Task.Delay(50, cts.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new TimeoutException($"Transaction {transactionHash} was not mined within {timeout.TotalSeconds:0} s.");
        }
    }

    /// <summary>evm_snapshot: an id to revert to.</summary>
    public async Task<string> SnapshotAsync(CancellationToken ct = default) =>
        (await _rpc.CallAsync("evm_snapshot", null, ct).ConfigureAwait(false)).GetString() ?? throw new FormatException("evm_snapshot returned null.");

    /// <summary>evm_revert: back to the snapshot (which is consumed); false if the node did not know it.</summary>
    public async Task<bool> RevertAsync(string snapshotId, CancellationToken ct = default) =>
        (await _rpc.CallAsync("evm_revert", [snapshotId], ct).ConfigureAwait(false)).GetBoolean();

    /// <summary>Mines <paramref name="blocks"/> blocks (evm_mine, in one JSON-RPC batch); pending transactions go into the first.</summary>
    public async Task MineAsync(int blocks = 1, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blocks, 1);
        foreach (var r in await _rpc.BatchAsync(Enumerable.Range(0, blocks).Select(_ => new EvmRpcRequest("evm_mine")).ToList(), ct).ConfigureAwait(false))
            r.GetResultOrThrow();
    }

    public async Task SetAutomineAsync(bool enabled, CancellationToken ct = default) =>
        await _rpc.CallAsync("evm_setAutomine", [enabled], ct).ConfigureAwait(false);

    private async Task<string> GetCodeAsync(EvmAddress address, CancellationToken ct) =>
        (await _rpc.CallAsync("eth_getCode", [address.ToLowerHex(), "latest"], ct).ConfigureAwait(false)).GetString() ?? "0x";
}

/// <summary>A Hardhat test account. The key is PUBLIC test material (Hardhat's documented mnemonic), never a real wallet.</summary>
public sealed record DevAccount(int Index, byte[] PrivateKey, EvmAddress Address)
{
    public string PrivateKeyHex => EvmHex.Encode(PrivateKey);

    public override string ToString() => $"dev account #{Index} {Address}";
}

internal sealed class ContractArtifact
{
    [JsonPropertyName("bytecode")] public string? Bytecode { get; set; }
}

[JsonSerializable(typeof(ContractArtifact))]
internal sealed partial class DevChainJsonContext : JsonSerializerContext;
