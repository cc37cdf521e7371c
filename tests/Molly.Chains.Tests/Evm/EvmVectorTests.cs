using System.Globalization;
using System.Numerics;
using System.Text;
using System.Text.Json;
using Molly.Chains.Crypto;
using Molly.Chains.Evm;
using Molly.Chains.Signing;
using Xunit;

namespace Molly.Chains.Tests.Evm;

public class EvmVectorTests
{
    private static byte[] H(string hex) => EvmHex.Decode(hex);

    private static BigInteger Big(JsonElement e, string p) =>
        e.GetProperty(p).ValueKind == JsonValueKind.String
            ? BigInteger.Parse(e.Str(p), NumberStyles.None, CultureInfo.InvariantCulture)
            : new BigInteger(e.GetProperty(p).GetInt64());

    [Fact]
    public void Eip55_checksummed_addresses_round_trip_and_lowercase_rechecksums()
    {
        var cases = Vectors.Array("ethereum_eip55.json", "erc55_valid_checksummed").ToList();
        Assert.Equal(8, cases.Count);
        foreach (var c in cases)
        {
            var text = c.Str("checksummed");
            Assert.Equal(text, EvmAddress.Parse(text).ToString());
            Assert.Equal(text, EvmAddress.Parse("0x" + text[2..].ToLowerInvariant()).ToString());
        }
    }

    [Fact]
    public void Geth_lower_to_checksum_cases()
    {
        var cases = Vectors.Array("ethereum_eip55.json", "geth_lower_to_checksum").ToList();
        Assert.Equal(8, cases.Count);
        foreach (var c in cases)
        {
            var input = c.Str("input");
            Assert.Equal(c.Str("checksummed"), EvmAddress.FromHexLeftPadded(input).ToString());
            if (input.Length != 42) Assert.False(EvmAddress.TryParse(input, out _)); // strict parse wants 40 digits
        }
    }

    [Theory]
    [InlineData("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "checksum")]
    [InlineData("5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0x")]
    [InlineData("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeA", "40 hex digits")]
    [InlineData("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg", "not a hex digit")]
    public void Bad_addresses_are_rejected_with_a_clear_error(string input, string fragment)
    {
        Assert.False(EvmAddress.TryParse(input, out _, out var error));
        Assert.Contains(fragment, error);
        Assert.Throws<FormatException>(() => EvmAddress.Parse(input));
    }

    [Fact]
    public void Rlp_valid_cases_encode_and_decode_back()
    {
        var cases = Vectors.Array("ethereum_rlp.json", "valid").ToList();
        Assert.Equal(26, cases.Count);
        foreach (var c in cases)
        {
            var item = ToItem(c.GetProperty("in"));
            var expected = H(c.Str("out"));
            Assert.Equal(expected.ToHex(), Rlp.Encode(item).ToHex());
            Assert.Equal(expected.ToHex(), Rlp.Encode(Rlp.Decode(expected)).ToHex());
        }
    }

    [Fact]
    public void Rlp_invalid_cases_are_rejected()
    {
        var cases = Vectors.Array("ethereum_rlp.json", "invalid").ToList();
        Assert.Equal(14, cases.Count);
        foreach (var c in cases)
        {
            var ex = Assert.Throws<RlpException>(() => Rlp.Decode(H(c.Str("out"))));
            Assert.False(string.IsNullOrWhiteSpace(ex.Message), c.Str("name"));
        }
    }

    private static RlpItem ToItem(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Array => RlpItem.List(e.EnumerateArray().Select(ToItem)),
        JsonValueKind.Number => RlpItem.UInt(e.GetInt64()),
        JsonValueKind.String when e.GetString()!.StartsWith('#') => RlpItem.UInt(BigInteger.Parse(e.GetString()![1..], CultureInfo.InvariantCulture)),
        JsonValueKind.String => RlpItem.String(Encoding.UTF8.GetBytes(e.GetString()!)),
        _ => throw new InvalidOperationException(),
    };

    [Fact]
    public void Keccak_and_abi_examples()
    {
        var abi = Vectors.Array("ethereum_keccak_abi.json", "abi_examples").ToList();
        Assert.Equal(4, abi.Count);
        var args = new Dictionary<string, object[]>
        {
            ["bar(bytes3[2])"] = [new object[] { Encoding.ASCII.GetBytes("abc"), Encoding.ASCII.GetBytes("def") }],
            ["baz(uint32,bool)"] = [69, true],
            ["sam(bytes,bool,uint256[])"] = [Encoding.ASCII.GetBytes("dave"), true, new object[] { 1, 2, 3 }],
            ["f(uint256,uint32[],bytes10,bytes)"] = [0x123, new object[] { 0x456, 0x789 }, Encoding.ASCII.GetBytes("1234567890"), Encoding.ASCII.GetBytes("Hello, world!")],
        };
        foreach (var c in abi)
        {
            var sig = c.Str("signature");
            Assert.Equal(c.Str("selector"), EvmHex.Encode(Abi.Selector(sig)));
            Assert.Equal(c.Str("calldata"), EvmHex.Encode(Abi.EncodeCall(sig, args[sig])));
        }
        foreach (var c in Vectors.Array("ethereum_keccak_abi.json", "keccak256"))
        {
            var input = c.TryGetProperty("input_utf8", out var u) ? Encoding.UTF8.GetBytes(u.GetString()!) : c.Hex("input_hex");
            Assert.Equal(c.Str("keccak256"), Keccak256.Compute(input).ToHex());
        }
    }

    [Fact]
    public void Erc20_transfer_calldata_encodes_and_decodes()
    {
        var c = Vectors.Array("ethereum_keccak_abi.json", "erc20_transfer").Single();
        var d = c.GetProperty("decoded_by_slicing");
        var to = EvmAddress.Parse(d.Str("to"));
        var amount = BigInteger.Parse(d.Str("amount_dec"), CultureInfo.InvariantCulture);
        Assert.Equal(c.Str("calldata"), EvmHex.Encode(Erc20.EncodeTransfer(to, amount)));
        Assert.True(Erc20.TryDecodeTransfer(H(c.Str("calldata")), out var decodedTo, out var decodedAmount));
        Assert.Equal(to, decodedTo);
        Assert.Equal(amount, decodedAmount);
        Assert.Equal(d.Str("selector"), EvmHex.Encode(Erc20.TransferSelector.Span));
        var bad = H(c.Str("calldata"));
        bad[5] = 1; // dirty address padding
        Assert.False(Erc20.TryDecodeTransfer(bad, out _, out _));
    }

    [Fact]
    public void Erc20_transfer_log_decodes()
    {
        Assert.Equal("ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef", Erc20.TransferEventTopic.ToArray().ToHex());
        var token = EvmAddress.Parse("0xdAC17F958D2ee523a2206206994597C13D831ec7");
        var from = EvmAddress.Parse("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
        var to = EvmAddress.Parse("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359");
        ReadOnlyMemory<byte>[] topics = [Erc20.TransferEventTopic, Abi.LeftPad(from.Bytes), Abi.LeftPad(to.Bytes)];
        Assert.True(Erc20.TryDecodeTransferLog(token, topics, Abi.Word(1_000_000), out var log));
        Assert.Equal(new Erc20TransferLog(token, from, to, 1_000_000), log);
        Assert.False(Erc20.TryDecodeTransferLog(token, topics[..2], Abi.Word(1), out _));
    }

    [Fact]
    public void Create_and_create2_addresses()
    {
        var create2 = Vectors.Array("ethereum_create_create2.json", "create2").ToList();
        Assert.Equal(7, create2.Count);
        foreach (var c in create2)
            Assert.Equal(c.Str("result"), EvmAddress.ForCreate2(EvmAddress.Parse(c.Str("deployer")), H(c.Str("salt")), H(c.Str("init_code"))).ToString());
        var create = Vectors.Array("ethereum_create_create2.json", "create").ToList();
        Assert.Equal(3, create.Count);
        foreach (var c in create)
            Assert.Equal(c.Str("result"), EvmAddress.ForCreate(EvmAddress.Parse(c.Str("sender")), c.GetProperty("nonce").GetInt32()).ToLowerHex());
        var p = Vectors.Array("ethereum_create_create2.json", "privkey_to_address").Single();
        Assert.Equal(p.Str("address"), EvmAddress.FromPublicKey(Secp256k1.GetPublicKey(H(p.Str("private_key")), compressed: false)).ToLowerHex());
    }

    [Fact]
    public async Task Eip155_spec_example_signs_exactly()
    {
        var c = Vectors.Array("ethereum_tx_signing.json", "eip155").Single();
        var tx = new LegacyEvmTransaction
        {
            ChainId = c.GetProperty("chainId").GetInt64(), Nonce = Big(c, "nonce"), GasPrice = Big(c, "gasPrice"), GasLimit = Big(c, "gasLimit"),
            To = EvmAddress.Parse(c.Str("to")), Value = Big(c, "value"),
        };
        Assert.Equal(c.Str("signing_data_rlp"), EvmHex.Encode(tx.GetSigningPayload()));
        Assert.Equal(c.Str("signing_hash"), EvmHex.Encode(tx.GetSigningHash()));
        var signer = new InMemorySigner().Add("k", SignerKeyAlgorithm.Secp256k1, H(c.Str("private_key")));
        var signed = await tx.SignAsync(signer, "k");
        Assert.Equal(c.Str("signed_tx"), signed.ToHex());
        var decoded = EvmTransaction.DecodeSigned(signed.RawBytes.Span);
        Assert.Equal(tx, decoded.Transaction with { Data = tx.Data });
        Assert.Equal(c.Str("r_hex"), EvmHex.Encode(decoded.Signature.ToCompact()[..32]));
    }

    [Fact]
    public void Homestead_and_eip2930_cases_from_geth()
    {
        var h = Vectors.Array("ethereum_tx_signing.json", "legacy_homestead").Single();
        var legacy = new LegacyEvmTransaction
        {
            Nonce = Big(h, "nonce"), GasPrice = Big(h, "gasPrice"), GasLimit = Big(h, "gasLimit"), To = EvmAddress.Parse(h.Str("to")),
            Value = Big(h, "value"), Data = H(h.Str("data")),
        };
        Assert.Equal(h.Str("signing_hash"), legacy.GetSigningHash().ToHex());
        Assert.Equal(h.Str("signed_tx"), Convert.ToHexStringLower(legacy.WithSignature(EcdsaSignatureRsv.FromRsv(h.Hex("signature_rsv_hex"))).RawBytes.Span));

        var a = Vectors.Array("ethereum_tx_signing.json", "eip2930").Single();
        var typed = new Eip2930Transaction
        {
            ChainId = Big(a, "chainId"), Nonce = Big(a, "nonce"), GasPrice = Big(a, "gasPrice"), GasLimit = Big(a, "gasLimit"),
            To = EvmAddress.Parse(a.Str("to")), Value = Big(a, "value"), Data = H(a.Str("data")),
        };
        Assert.Equal(a.Str("signing_hash"), typed.GetSigningHash().ToHex());
        var signed = typed.WithSignature(EcdsaSignatureRsv.FromRsv(a.Hex("signature_rsv_hex")));
        Assert.Equal(a.Str("signed_tx_binary"), Convert.ToHexStringLower(signed.RawBytes.Span));
        Assert.Equal(a.Str("signed_tx_rlp_wrapped"), Rlp.EncodeBytes(signed.RawBytes.Span).ToHex());
        var sender = Secp256k1.RecoverPublicKey(typed.GetSigningHash(), signed.Signature);
        Assert.True(Secp256k1.Verify(typed.GetSigningHash(), signed.Signature, sender));
        var decoded = EvmTransaction.DecodeSigned(signed.RawBytes.Span);
        Assert.Equal(1, decoded.Signature.RecoveryId);
        Assert.Equal(typed.GetSigningHash().ToHex(), decoded.Transaction.GetSigningHash().ToHex());
    }

    [Fact]
    public async Task Eip1559_cases_sign_exactly_and_decode()
    {
        var cases = Vectors.Array("ethereum_tx_signing.json", "eip1559").ToList();
        Assert.Equal(10, cases.Count);
        foreach (var c in cases)
        {
            var tx = new Eip1559Transaction
            {
                ChainId = Big(c, "chainId"), Nonce = Big(c, "nonce"), MaxPriorityFeePerGas = Big(c, "maxPriorityFeePerGas"),
                MaxFeePerGas = Big(c, "maxFeePerGas"), GasLimit = Big(c, "gasLimit"), To = EvmAddress.Parse(c.Str("to")), Value = Big(c, "value"),
            };
            var signer = new InMemorySigner().Add("k", SignerKeyAlgorithm.Secp256k1, H(c.Str("privateKey")));
            var signed = await tx.SignAsync(signer, "k");
            Assert.Equal(c.Str("signed_tx_binary"), signed.ToHex());
            Assert.Equal(c.Str("signedTransactionRLP_as_in_source"), EvmHex.Encode(Rlp.EncodeBytes(signed.RawBytes.Span)));
            var decoded = (Eip1559Transaction)EvmTransaction.DecodeSigned(H(c.Str("signed_tx_binary"))).Transaction;
            Assert.Equal(tx.MaxFeePerGas, decoded.MaxFeePerGas);
            Assert.Equal(tx.Nonce, decoded.Nonce);
            Assert.Equal(Keccak256.Compute(H(c.Str("signed_tx_binary"))).ToHex(), signed.Hash.ToHex());
        }
    }

    [Fact]
    public void Eip681_uris_for_native_and_erc20_use_integers()
    {
        var to = EvmAddress.Parse("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359");
        var token = EvmAddress.Parse("0xdAC17F958D2ee523a2206206994597C13D831ec7");
        var native = EvmPaymentUri.ForNative(to, EvmChain.Ethereum.ChainId, BigInteger.Parse("1230000000000000000", CultureInfo.InvariantCulture));
        Assert.Equal("ethereum:0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359@1?value=1230000000000000000", native.ToString());
        Assert.Equal(native, EvmPaymentUri.Parse(native.ToString()));
        Assert.Equal(native.Amount, EvmPaymentUri.Parse("ethereum:0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359@1?value=1.23e18").Amount);
        var erc20 = EvmPaymentUri.ForErc20(token, 137, to, 2_500_000);
        Assert.Equal("ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7@137/transfer?address=0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359&uint256=2500000", erc20.ToString());
        var parsed = EvmPaymentUri.Parse(erc20.ToString());
        Assert.True(parsed.IsTokenTransfer);
        Assert.Equal(to, parsed.Recipient);
        Assert.Equal(new BigInteger(2_500_000), parsed.Amount);
        Assert.False(EvmPaymentUri.TryParse("ethereum:0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359?value=1.5", out _, out var e1));
        Assert.Contains("whole number", e1);
        Assert.False(EvmPaymentUri.TryParse("bitcoin:abc", out _, out _));
        Assert.False(EvmPaymentUri.TryParse("ethereum:0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359?value=-1", out _, out _));
    }
}
