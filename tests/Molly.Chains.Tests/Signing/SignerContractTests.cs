using System.Security.Cryptography;
using Molly.Chains.Crypto;
using Molly.Chains.Evm;
using Molly.Chains.Signing;
using Xunit;

namespace Molly.Chains.Tests.Signing;

/// <summary>One contract every <see cref="ISigner"/> must meet; each implementation runs it by deriving from this class.</summary>
public abstract class SignerContractTests
{
    protected const string SecpId = "secp-key";
    protected const string EdId = "ed-key";

    /// <summary>A signer holding a secp256k1 key <see cref="SecpId"/> and an Ed25519 key <see cref="EdId"/>.</summary>
    protected abstract Task<ISigner> CreateSignerAsync();

    [Fact]
    public async Task Secp256k1_signatures_verify_are_low_s_and_recover_the_public_key()
    {
        var signer = await CreateSignerAsync();
        var pub = await signer.GetPublicKeyAsync(SecpId);
        Assert.Equal(SignerKeyAlgorithm.Secp256k1, pub.Algorithm);
        for (var i = 0; i < 8; i++)
        {
            var digest = SHA256.HashData(BitConverter.GetBytes(i));
            var sig = await signer.SignDigestAsync(SecpId, digest);
            Assert.True(sig.IsLowS);
            Assert.True(Secp256k1.Verify(digest, sig, pub.Key.Span));
            Assert.Equal(pub.Key.ToArray().ToHex(), Secp256k1.RecoverPublicKey(digest, sig).ToHex());
        }
    }

    [Fact]
    public async Task Ed25519_signatures_verify()
    {
        var signer = await CreateSignerAsync();
        var pub = await signer.GetPublicKeyAsync(EdId);
        Assert.Equal(SignerKeyAlgorithm.Ed25519, pub.Algorithm);
        var message = "solana message bytes"u8.ToArray();
        var sig = await signer.SignEd25519Async(EdId, message);
        Assert.Equal(64, sig.Length);
        Assert.True(Ed25519.Verify(pub.Key.Span, message, sig));
        message[0] ^= 1;
        Assert.False(Ed25519.Verify(pub.Key.Span, message, sig));
    }

    [Fact]
    public async Task Unknown_key_and_bad_digest_fail_clearly()
    {
        var signer = await CreateSignerAsync();
        var ex = await Assert.ThrowsAsync<SignerKeyNotFoundException>(() => signer.SignDigestAsync("nope", new byte[32]));
        Assert.Contains("'nope'", ex.Message);
        await Assert.ThrowsAsync<SignerKeyNotFoundException>(() => signer.GetPublicKeyAsync("nope"));
        await Assert.ThrowsAsync<SignerKeyNotFoundException>(() => signer.SignEd25519Async("nope", new byte[3]));
        var bad = await Assert.ThrowsAsync<ArgumentException>(() => signer.SignDigestAsync(SecpId, new byte[31]));
        Assert.Contains("32-byte", bad.Message);
        await Assert.ThrowsAsync<ArgumentException>(() => signer.SignDigestAsync(SecpId, new byte[33]));
        await Assert.ThrowsAsync<SignerKeyAlgorithmMismatchException>(() => signer.SignDigestAsync(EdId, new byte[32]));
        await Assert.ThrowsAsync<SignerKeyAlgorithmMismatchException>(() => signer.SignEd25519Async(SecpId, new byte[3]));
    }

    [Fact]
    public async Task Signs_an_evm_transaction_recoverable_to_its_address()
    {
        var signer = await CreateSignerAsync();
        var from = EvmAddress.FromPublicKey((await signer.GetPublicKeyAsync(SecpId)).Key.Span);
        var tx = new Eip1559Transaction
        {
            ChainId = EvmChain.LocalDev.ChainId, Nonce = 0, MaxPriorityFeePerGas = 1, MaxFeePerGas = 2_000_000_000, GasLimit = 21_000,
            To = EvmAddress.Parse("0x000000000000000000000000000000000000aaaa"), Value = 1,
        };
        var signed = await tx.SignAsync(signer, SecpId);
        var decoded = EvmTransaction.DecodeSigned(signed.RawBytes.Span);
        Assert.Equal(from, EvmAddress.FromPublicKey(Secp256k1.RecoverPublicKey(decoded.Transaction.GetSigningHash(), decoded.Signature)));
    }
}

public sealed class InMemorySignerContractTests : SignerContractTests
{
    protected override Task<ISigner> CreateSignerAsync() => Task.FromResult<ISigner>(new InMemorySigner()
        .Add(SecpId, SignerKeyAlgorithm.Secp256k1, RandomNumberGenerator.GetBytes(32))
        .Add(EdId, SignerKeyAlgorithm.Ed25519, RandomNumberGenerator.GetBytes(32)));
}

public sealed class LocalKeystoreSignerContractTests : SignerContractTests, IDisposable
{
    internal static readonly KeystoreKdfParameters FastKdf = new(1 << 10, 8, 1); // tests only; production default is 2^15

    private readonly string _dir = Directory.CreateTempSubdirectory("molly-keystore-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    protected override async Task<ISigner> CreateSignerAsync()
    {
        var signer = await LocalKeystoreSigner.OpenOrCreateAsync(Path.Combine(_dir, "keys.json"), "correct horse", FastKdf);
        await signer.CreateKeyAsync(SecpId, SignerKeyAlgorithm.Secp256k1);
        await signer.CreateKeyAsync(EdId, SignerKeyAlgorithm.Ed25519);
        return signer;
    }

    [Fact]
    public async Task Keys_survive_reopening_and_the_file_holds_no_plain_key()
    {
        var path = Path.Combine(_dir, "store.json");
        var secret = Convert.FromHexString("4646464646464646464646464646464646464646464646464646464646464646");
        var first = await LocalKeystoreSigner.OpenOrCreateAsync(path, "pw-1", FastKdf);
        var info = await first.ImportKeyAsync("eip155", SignerKeyAlgorithm.Secp256k1, secret);
        await Assert.ThrowsAsync<SignerException>(() => first.ImportKeyAsync("eip155", SignerKeyAlgorithm.Secp256k1, secret));

        var text = await File.ReadAllTextAsync(path);
        Assert.DoesNotContain("46464646", text);
        Assert.DoesNotContain(Convert.ToBase64String(secret), text);
        Assert.Contains("scrypt", text);
        Assert.Single(Directory.GetFiles(_dir)); // no temp file left behind

        var reopened = await LocalKeystoreSigner.OpenOrCreateAsync(path, "pw-1");
        Assert.Equal(info, reopened.ListKeys().Single());
        // EIP-155 spec key signs the spec digest to the spec signature
        var sig = await reopened.SignDigestAsync("eip155", Convert.FromHexString("daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53"));
        Assert.Equal("28ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276", sig.ToCompact()[..32].ToHex());
    }

    [Fact]
    public async Task Wrong_passphrase_is_a_clear_error()
    {
        var path = Path.Combine(_dir, "pw.json");
        await LocalKeystoreSigner.OpenOrCreateAsync(path, "right", FastKdf);
        var ex = await Assert.ThrowsAsync<SignerException>(() => LocalKeystoreSigner.OpenOrCreateAsync(path, "wrong"));
        Assert.Contains("passphrase is wrong", ex.Message);
    }

    [Fact]
    public async Task A_tampered_entry_cannot_be_used()
    {
        var path = Path.Combine(_dir, "tamper.json");
        var signer = await LocalKeystoreSigner.OpenOrCreateAsync(path, "pw", FastKdf);
        await signer.CreateKeyAsync("a", SignerKeyAlgorithm.Ed25519);
        // rename the key id in the file: the AAD no longer matches
        await File.WriteAllTextAsync(path, (await File.ReadAllTextAsync(path)).Replace("\"id\": \"a\"", "\"id\": \"b\""));
        var reopened = await LocalKeystoreSigner.OpenOrCreateAsync(path, "pw");
        var ex = await Assert.ThrowsAsync<SignerException>(() => reopened.SignEd25519Async("b", new byte[1]));
        Assert.Contains("cannot be decrypted", ex.Message);
    }
}
