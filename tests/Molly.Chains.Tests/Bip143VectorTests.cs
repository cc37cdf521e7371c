using Molly.Chains.Bitcoin;
using Molly.Chains.Crypto;
using Xunit;

namespace Molly.Chains.Tests;

public class Bip143VectorTests
{
    [Fact]
    public void Both_examples_give_the_sighash_signature_and_signed_transaction()
    {
        var cases = Vectors.Array("bip143_segwit_sighash.json", "cases").ToList();
        Assert.Equal(2, cases.Count);
        foreach (var c in cases)
        {
            var tx = Transaction.Parse(c.Hex("unsigned_tx_hex"));
            Assert.Equal(c.Str("unsigned_tx_hex"), tx.Serialize().ToHex());
            var index = c.GetProperty("input_index").GetInt32();
            var amount = c.GetProperty("amount_sat").GetInt64();
            var priv = c.Hex("private_key_hex");
            var pub = Secp256k1.GetPublicKey(priv);
            Assert.Equal(c.Str("public_key_hex"), pub.ToHex());
            var scriptCode = c.Hex("scriptCode_hex")[1..];
            Assert.Equal(scriptCode.ToHex(), Transaction.P2wpkhScriptCode(Hash160.Compute(pub)).ToHex());
            Assert.Equal(c.Str("sighash"), tx.GetSegwitSighash(index, scriptCode, amount).ToHex());
            Assert.Equal(c.Str("sighash"), Hash256.Compute(c.Hex("sighash_preimage_hex")).ToHex());

            var wrapped = c.TryGetProperty("redeemScript_hex", out _);
            tx.SignP2wpkh(index, priv, amount, wrapped);
            Assert.Equal(c.Str("signature_der_with_hashtype_hex"), tx.Inputs[index].Witness[0].ToHex());

            var signed = Transaction.Parse(c.Hex("signed_tx_hex"));
            // the other input of example 1 is a legacy P2PK input signed separately: take its scriptSig from the vector
            for (var i = 0; i < tx.Inputs.Count; i++)
            {
                if (i != index) tx.Inputs[i].ScriptSig = signed.Inputs[i].ScriptSig;
            }

            Assert.Equal(c.Str("signed_tx_hex"), tx.Serialize().ToHex());
            Assert.Equal(signed.GetTxId(), tx.GetTxId());
            Assert.NotEqual(tx.GetTxId(), tx.GetWitnessTxId());
        }
    }

    [Fact]
    public void Truncated_transactions_are_rejected()
    {
        var raw = Vectors.Array("bip143_segwit_sighash.json", "cases").First().Hex("signed_tx_hex");
        Assert.Throws<FormatException>(() => Transaction.Parse(raw.AsSpan(0, raw.Length - 1)));
    }
}
