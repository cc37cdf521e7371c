using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Molly.Chains.Crypto;
using Molly.Chains.Evm;
using Molly.SignerFunction;
using Xunit;

namespace Molly.Signer.Tests;

/// <summary>
/// Replays events-samples/signer through the Lambda entry point, with the real AWS SDK KMS client talking to
/// <see cref="LocalKms"/> on 127.0.0.1.
/// </summary>
public sealed class SignerFunctionTests : IAsyncLifetime
{
    private const string HotKeyArn = "arn:aws:kms:eu-west-1:111122223333:key/0b2f7c3e-5a61-4d8e-9c4b-2f1a6e9d7c10";
    private const string WarmKeyArn = "arn:aws:kms:eu-west-1:111122223333:alias/molly-test-warm";
    private static readonly string SamplePath = Path.Combine(AppContext.BaseDirectory, "events-samples", "signer", "sign-evm-withdrawal.json");

    private readonly LocalKms _kms = new(HotKeyArn);
    private readonly CapturedLogs _logs = new();
    private Function _function = null!;

    public Task InitializeAsync()
    {
        _function = new Function(WithdrawalSigner.Create(Configuration(), _kms.Client(), _logs.Factory));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _kms.DisposeAsync();

    /// <summary>The keys the CDK stack sets as environment variables (Molly__Signer__...), in configuration form.</summary>
    private static IConfiguration Configuration(Dictionary<string, string?>? extra = null) => new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Molly:Signer:Wallets:hot:KeyId"] = HotKeyArn,
            ["Molly:Signer:Wallets:hot:EvmChainIds:0"] = "11155111",
            ["Molly:Signer:Wallets:warm:KeyId"] = WarmKeyArn,
            ["Molly:Signer:Wallets:warm:EvmChainIds:0"] = "1",
        })
        .AddInMemoryCollection(extra ?? []) // later sources override
        .Build();

    private static JsonObject Sample() => JsonNode.Parse(File.ReadAllText(SamplePath))!.AsObject();

    private async Task<JsonObject> InvokeAsync(JsonNode input)
    {
        await using var output = await _function.Handle(new MemoryStream(Encoding.UTF8.GetBytes(input.ToJsonString())));
        return (await JsonNode.ParseAsync(output))!.AsObject();
    }

    [Fact]
    public async Task The_sample_is_signed_by_the_wallet_key_and_recovers_to_its_address()
    {
        var sample = Sample();
        var output = await InvokeAsync(sample);

        var raw = EvmHex.Decode(output["rawTransaction"]!.GetValue<string>());
        Assert.Equal(2, raw[0]);
        var signed = EvmTransaction.DecodeSigned(raw);
        var tx = Assert.IsType<Eip1559Transaction>(signed.Transaction);
        var fields = sample["transaction"]!;
        Assert.Equal(11155111, (long)tx.ChainId);
        Assert.Equal(42, (long)tx.Nonce);
        Assert.Equal(65000, (long)tx.GasLimit);
        Assert.Equal(30_000_000_000, (long)tx.MaxFeePerGas);
        Assert.Equal(1_500_000_000, (long)tx.MaxPriorityFeePerGas);
        Assert.True(tx.Value.IsZero);
        Assert.Equal(fields["to"]!.GetValue<string>(), tx.To!.ToString());
        Assert.Equal(fields["data"]!.GetValue<string>(), EvmHex.Encode(tx.Data.Span));

        // Our own recovery over the digest of the decoded transaction gives the published test key's address.
        Assert.True(signed.Signature.IsLowS, "KMS returned high-S; the signer must normalise it");
        var recovered = EvmAddress.FromPublicKey(Secp256k1.RecoverPublicKey(tx.GetSigningHash(), signed.Signature));
        Assert.Equal(LocalKms.TestAddress, recovered.ToString());
        Assert.Equal(LocalKms.TestAddress, output["from"]!.GetValue<string>());
        Assert.Equal(EvmHex.Encode(Keccak256.Compute(raw)), output["txHash"]!.GetValue<string>());
        Assert.Equal("wd_01JD3M8Q4X6T2V9K7N5R1B0C8E", output["withdrawalId"]!.GetValue<string>());
        Assert.Equal("hot", output["wallet"]!.GetValue<string>());
        Assert.Equal(42, output["nonce"]!.GetValue<long>());
    }

    [Fact]
    public async Task The_kms_sign_request_is_exactly_the_configured_key_a_digest_and_ecdsa_sha_256()
    {
        var output = await InvokeAsync(Sample());
        var tx = EvmTransaction.DecodeSigned(EvmHex.Decode(output["rawTransaction"]!.GetValue<string>())).Transaction;

        var sign = Assert.Single(_kms.Calls, c => c.Target == "TrentService.Sign");
        Assert.Equal(["KeyId", "Message", "MessageType", "SigningAlgorithm"], sign.Body.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(HotKeyArn, sign.Body.GetProperty("KeyId").GetString());
        Assert.Equal("DIGEST", sign.Body.GetProperty("MessageType").GetString());
        Assert.Equal("ECDSA_SHA_256", sign.Body.GetProperty("SigningAlgorithm").GetString());
        // keccak256(0x02 || rlp(fields)), computed here from the decoded transaction: 32 bytes, base64 on the wire.
        Assert.Equal(Convert.ToBase64String(Keccak256.Compute(tx.GetSigningPayload())), sign.Body.GetProperty("Message").GetString());
        Assert.StartsWith("application/x-amz-json-1.1", sign.ContentType);
        Assert.Contains("AWS4-HMAC-SHA256", sign.Authorization);
        Assert.Contains("/eu-west-1/kms/aws4_request", sign.Authorization);

        var publicKey = Assert.Single(_kms.Calls, c => c.Target == "TrentService.GetPublicKey");
        Assert.Equal(HotKeyArn, publicKey.Body.GetProperty("KeyId").GetString());
        Assert.Equal(2, _kms.Calls.Count);
    }

    [Fact]
    public async Task Logs_name_the_withdrawal_and_hash_but_never_the_signature_or_raw_transaction()
    {
        var output = await InvokeAsync(Sample());
        var raw = output["rawTransaction"]!.GetValue<string>();
        var signature = EvmTransaction.DecodeSigned(EvmHex.Decode(raw)).Signature;
        var text = _logs.Text;
        Assert.Contains("wd_01JD3M8Q4X6T2V9K7N5R1B0C8E", text);
        Assert.Contains(output["txHash"]!.GetValue<string>(), text);
        Assert.DoesNotContain(raw[2..], text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Convert.ToHexString(signature.ToCompact()[..32]), text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(Convert.ToHexString(signature.ToCompact()[32..]), text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(HotKeyArn, text);
    }

    public static TheoryData<string, string, string> BadInputs => new()
    {
        { "wallet", "\"cold\"", "not configured" },
        { "keyId", $"\"{HotKeyArn}\"", "could not be mapped" }, // the key never comes from the caller
        { "transaction.chainId", "1", "does not sign for chain id 1" },
        { "transaction.type", "\"legacy\"", "eip1559" },
        { "transaction.to", "\"0x5fbDB2315678afecb367f032d93F642f64180aa3\"", "checksum" },
        { "transaction.to", "\"0x1234\"", "40 hex digits" },
        { "transaction.value", "\"1.5\"", "decimal string" },
        { "transaction.value", "1000", "transaction.value" },
        { "transaction.maxFeePerGas", "\"030000000000\"", "leading zeros" },
        { "transaction.maxPriorityFeePerGas", "\"30000000001\"", "must not exceed maxFeePerGas" },
        { "transaction.gasLimit", "20000", "gasLimit must be" },
        { "transaction.gasLimit", "-1", "transaction.gasLimit" },
        { "transaction.nonce", "1.5", "transaction.nonce" },
        { "transaction.data", "\"0x095ea7b3000000000000000000000000ffffffffffffffffffffffffffffffffffffffff0000000000000000000000000000000000000000000000000000000000000001\"", "ERC-20 transfer" },
        { "transaction.data", "\"0xabc\"", "even number" },
        { "transaction.data", "null", "transaction.data" },
        { "withdrawalId", "\"wd 1; drop\"", "withdrawalId" },
        { "transaction.extra", "true", "could not be mapped" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Bad_input_is_Molly_Permanent_and_never_reaches_kms(string path, string json, string expected)
    {
        var input = Sample();
        var parts = path.Split('.');
        var parent = parts.Length == 1 ? input : input[parts[0]]!.AsObject();
        parent[parts[^1]] = JsonNode.Parse(json);

        var e = await Assert.ThrowsAsync<MollyPermanent>(() => InvokeAsync(input));
        Assert.Equal("MollyPermanent", e.GetType().Name); // the Lambda error name the ASL's Retry/Catch match
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain(_kms.Calls, c => c.Target == "TrentService.Sign");
    }

    [Fact]
    public async Task Missing_fields_and_a_value_moved_with_token_calldata_are_refused()
    {
        var missing = Sample();
        missing["transaction"]!.AsObject().Remove("nonce");
        Assert.Contains("nonce", (await Assert.ThrowsAsync<MollyPermanent>(() => InvokeAsync(missing))).Message);

        var both = Sample();
        both["transaction"]!["value"] = "1";
        Assert.Contains("ERC-20 transfer", (await Assert.ThrowsAsync<MollyPermanent>(() => InvokeAsync(both))).Message);

        var nothing = Sample();
        nothing["transaction"]!["data"] = "0x";
        Assert.Contains("value above 0", (await Assert.ThrowsAsync<MollyPermanent>(() => InvokeAsync(nothing))).Message);
        Assert.Empty(_kms.Calls);
    }

    [Fact]
    public async Task A_native_transfer_is_signed_too()
    {
        var native = Sample();
        native["transaction"]!["data"] = "0x";
        native["transaction"]!["value"] = "1000000000000000000";
        native["transaction"]!["gasLimit"] = 21000;
        var output = await InvokeAsync(native);
        var signed = EvmTransaction.DecodeSigned(EvmHex.Decode(output["rawTransaction"]!.GetValue<string>()));
        Assert.Equal(1_000_000_000_000_000_000, (long)signed.Transaction.Value);
        Assert.True(signed.Transaction.Data.IsEmpty);
        Assert.Equal(LocalKms.TestAddress,
            EvmAddress.FromPublicKey(Secp256k1.RecoverPublicKey(signed.Transaction.GetSigningHash(), signed.Signature)).ToString());
    }

    [Fact]
    public async Task Kms_throttling_is_Molly_Transient_and_a_key_kms_does_not_know_is_Molly_Permanent()
    {
        _kms.SignError = "ThrottlingException";
        var transient = await Assert.ThrowsAsync<MollyTransient>(() => InvokeAsync(Sample()));
        Assert.Contains("ThrottlingException", transient.Message);

        _kms.SignError = null;
        var warm = Sample(); // the warm wallet's alias is not a key the stub holds: KMS answers NotFoundException
        warm["wallet"] = "warm";
        warm["transaction"]!["chainId"] = 1;
        var permanent = await Assert.ThrowsAsync<MollyPermanent>(() => InvokeAsync(warm));
        Assert.Contains(WarmKeyArn, permanent.Message);
        Assert.Equal(WarmKeyArn, _kms.Calls[^1].Body.GetProperty("KeyId").GetString());
    }

    [Theory]
    [InlineData("Molly:Signer:Wallets:hot:KeyId", "0b2f7c3e-5a61-4d8e-9c4b-2f1a6e9d7c10", "KeyId must be")]
    [InlineData("Molly:Signer:Wallets:hot:EvmChainIds:1", "0", "EvmChainIds")]
    [InlineData("Molly:Signer:Wallets:cold_1:KeyId", HotKeyArn, "not a wallet name")]
    public void Invalid_configuration_fails_at_start(string key, string value, string expected)
    {
        var e = Assert.Throws<OptionsValidationException>(() =>
            WithdrawalSigner.Create(Configuration(new() { [key] = value }), _kms.Client(), _logs.Factory));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void No_wallet_configured_fails_at_start()
    {
        var e = Assert.Throws<OptionsValidationException>(() =>
            WithdrawalSigner.Create(new ConfigurationBuilder().Build(), _kms.Client(), _logs.Factory));
        Assert.Contains("at least one wallet", e.Message);
    }
}

/// <summary>Every log line, formatted, with its structured values.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    private readonly List<string> _lines = [];

    public CapturedLogs() => Factory = LoggerFactory.Create(b => b.AddProvider(this).SetMinimumLevel(LogLevel.Trace));

    public ILoggerFactory Factory { get; }

    public string Text { get { lock (_lines) return string.Join('\n', _lines); } }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose() { }

    private sealed class Logger(CapturedLogs owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : "";
            lock (owner._lines) owner._lines.Add($"{logLevel} {formatter(state, exception)} {values} {exception}");
        }
    }
}
