using System.Numerics;
using System.Text;
using Google.Protobuf;
using Molly.Chains.Crypto;
using Molly.Chains.Evm;
using Molly.Chains.Signing;
using Molly.Chains.Tron;
using Xunit;

namespace Molly.Chains.Tests.Tron;

public class TronVectorTests
{
    private const string File = "tron.json";

    [Fact]
    public void Private_key_to_address_and_hex_base58_pairs()
    {
        var k = Vectors.Array(File, "privkey_to_address").Single();
        var address = TronAddress.FromPublicKey(Secp256k1.GetPublicKey(k.Hex("private_key"), compressed: true));
        Assert.Equal(k.Str("address_base58"), address.ToBase58());
        Assert.Equal(k.Str("address_hex"), address.ToHex());
        var pairs = Vectors.Array(File, "hex_base58_pairs").ToList();
        Assert.Equal(4, pairs.Count);
        foreach (var p in pairs)
        {
            Assert.Equal(p.Str("base58"), TronAddress.Parse(p.Str("hex")).ToBase58());
            Assert.Equal(p.Str("hex"), TronAddress.Parse(p.Str("base58")).ToHex());
        }
        var c = Vectors.Array(File, "checksum_hex_address").Single();
        Assert.Equal(c.Str("checksummed_hex"), TronAddress.Parse(c.Str("base58")).ToChecksumHex());
    }

    [Fact]
    public void Is_address_cases_accept_and_reject_with_reasons()
    {
        var cases = Vectors.Array(File, "is_address").ToList();
        Assert.Equal(8, cases.Count);
        foreach (var c in cases)
        {
            var ok = TronAddress.TryParse(c.Str("input"), out _, out var error);
            Assert.Equal(c.GetProperty("valid").GetBoolean(), ok);
            if (!ok) Assert.Contains("TRON", error);
        }
    }

    [Fact]
    public void Transfer_transactions_rebuild_raw_data_txid_and_recover_owner()
    {
        var cases = Vectors.Array(File, "transactions").ToList();
        Assert.Equal(2, cases.Count);
        foreach (var c in cases)
        {
            var raw = c.Hex("raw_data_hex");
            var fields = ReadRaw(raw);
            var tx = new TronTransaction
            {
                RefBlockBytes = fields.RefBlockBytes, RefBlockHash = fields.RefBlockHash, Expiration = fields.Expiration, Timestamp = fields.Timestamp,
                Contract = new TransferContract(TronAddress.Parse(c.Str("owner_address")), TronAddress.Parse(c.Str("to_address")), c.GetProperty("amount_sun").GetInt64()),
            };
            Assert.Equal(c.Str("raw_data_hex"), tx.RawDataBytes().ToHex());
            Assert.Equal(c.Str("txID"), tx.TxId().ToHex());
            var signed = tx.WithSignature(EcdsaSignatureRsv.FromRsv(c.Hex("signature")));
            Assert.Equal(c.Str("owner_address"), signed.RecoverOwner().ToBase58());
            Assert.Equal(c.Str("signature"), signed.Signature.ToArray().ToHex());
            if (c.TryGetProperty("signed_transaction_protobuf_hex", out var full))
                Assert.Equal(full.GetString(), signed.ToByteArray().ToHex());
        }
    }

    [Fact]
    public async Task Signing_with_a_signer_gives_65_bytes_recovering_the_owner()
    {
        var signer = new InMemorySigner().Add("t", SignerKeyAlgorithm.Secp256k1, Convert.FromHexString("0000000000000000000000000000000000000000000000000000000000000001"));
        var owner = TronAddress.Parse("TMVQGm1qAQYVdetCeGRRkTWYYrLXuHK2HC");
        var (refBytes, refHash) = TronTransaction.ReferenceBlock(0x1234_5678, Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
        Assert.Equal("5678", refBytes.ToHex());
        Assert.Equal("08090a0b0c0d0e0f", refHash.ToHex());
        var tx = new TronTransaction
        {
            RefBlockBytes = refBytes, RefBlockHash = refHash, Timestamp = 1_700_000_000_000, Expiration = 1_700_000_060_000, FeeLimit = 30_000_000,
            Contract = TriggerSmartContract.Trc20Transfer(owner, TronAddress.Parse("TUznHJfHe6gdYY7gvWmf6bNZHuPHDZtowf"),
                TronAddress.Parse("TPswDDCAWhJAZGdHPidFg5nEf8TkNToDX1"), new BigInteger(1_500_000)),
        };
        var signed = await tx.SignAsync(signer, "t");
        Assert.Equal(65, signed.Signature.Length);
        Assert.Equal(owner, signed.RecoverOwner());
        var fields = ReadRaw(signed.RawData.ToArray());
        Assert.Equal(30_000_000, fields.FeeLimit);
        Assert.StartsWith(Convert.ToHexStringLower(Erc20.TransferSelector.Span), Convert.ToHexStringLower(((TriggerSmartContract)tx.Contract).Data.Span));
    }

    [Fact]
    public async Task Message_signatures_match_tronweb()
    {
        var cases = Vectors.Array(File, "sign_message").ToList();
        Assert.Equal(3, cases.Count);
        foreach (var c in cases)
        {
            var message = c.TryGetProperty("message_utf8", out var u) ? Encoding.UTF8.GetBytes(u.GetString()!) : c.Hex("message_hex");
            Assert.Equal(c.Str("messageHash"), TronMessage.Hash(message).ToHex());
            var signer = new InMemorySigner().Add("m", SignerKeyAlgorithm.Secp256k1, c.Hex("privateKey"));
            Assert.Equal(c.Str("signature"), (await TronMessage.SignAsync(signer, "m", message)).ToHex());
            var pub = (await signer.GetPublicKeyAsync("m")).Key.ToArray();
            Assert.Equal(c.Str("address"), TronAddress.FromPublicKey(pub).ToBase58());
        }
    }

    private sealed record RawFields(byte[] RefBlockBytes, byte[] RefBlockHash, long Expiration, long Timestamp, long FeeLimit);

    private static RawFields ReadRaw(byte[] raw)
    {
        var input = new CodedInputStream(raw);
        byte[] refBytes = [], refHash = [];
        long expiration = 0, timestamp = 0, feeLimit = 0;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: refBytes = input.ReadBytes().ToByteArray(); break;
                case 4: refHash = input.ReadBytes().ToByteArray(); break;
                case 8: expiration = input.ReadInt64(); break;
                case 14: timestamp = input.ReadInt64(); break;
                case 18: feeLimit = input.ReadInt64(); break;
                default: input.SkipLastField(); break;
            }
        }
        return new RawFields(refBytes, refHash, expiration, timestamp, feeLimit);
    }
}
