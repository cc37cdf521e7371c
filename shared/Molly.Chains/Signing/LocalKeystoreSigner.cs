using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Molly.Chains.Crypto;
using Org.BouncyCastle.Crypto.Generators;

namespace Molly.Chains.Signing;

/// <summary>scrypt cost parameters; stored in the keystore file beside the salt.</summary>
public sealed record KeystoreKdfParameters(int N, int R, int P)
{
    /// <summary>N = 2^15, r = 8, p = 1: about 32 MiB and a few hundred ms per unlock.</summary>
    public static readonly KeystoreKdfParameters Default = new(1 << 15, 8, 1);
}

/// <summary>
/// An <see cref="ISigner"/> over one encrypted keystore file. Each private key is sealed with AES-256-GCM under a key
/// derived from the passphrase with scrypt (parameters and salt in the file), with the key id and algorithm as
/// associated data. Writes are atomic (temp file, fsync, rename). Private keys are decrypted only for one signature
/// and wiped afterwards; they never appear in messages.
/// </summary>
public sealed class LocalKeystoreSigner : ISigner
{
    private const int FormatVersion = 1;
    private static readonly byte[] CheckPlaintext = Encoding.ASCII.GetBytes("molly-keystore-check");

    private readonly string _path;
    private readonly byte[] _key;
    private readonly KeystoreFile _file;
    private readonly SemaphoreSlim _writeLock = new(1, 1);

    private LocalKeystoreSigner(string path, byte[] key, KeystoreFile file)
    {
        _path = path;
        _key = key;
        _file = file;
    }

    /// <summary>Opens the keystore at <paramref name="path"/>, creating an empty one when the file does not exist.</summary>
    /// <exception cref="SignerException">The passphrase is wrong or the file is damaged.</exception>
    public static async Task<LocalKeystoreSigner> OpenOrCreateAsync(string path, string passphrase, KeystoreKdfParameters? kdf = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (string.IsNullOrEmpty(passphrase)) throw new ArgumentException("A keystore passphrase is required.", nameof(passphrase));
        if (!File.Exists(path))
        {
            kdf ??= KeystoreKdfParameters.Default;
            var salt = RandomNumberGenerator.GetBytes(32);
            var key = DeriveKey(passphrase, salt, kdf);
            var file = new KeystoreFile(FormatVersion, "scrypt", kdf.N, kdf.R, kdf.P, Convert.ToBase64String(salt), Seal(key, CheckPlaintext, "check"), []);
            var created = new LocalKeystoreSigner(path, key, file);
            await created.SaveAsync(cancellationToken).ConfigureAwait(false);
            return created;
        }

        KeystoreFile? loaded;
        try
        {
            await using var stream = File.OpenRead(path);
            loaded = await JsonSerializer.DeserializeAsync(stream, KeystoreJson.Default.KeystoreFile, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex) { throw new SignerException($"Keystore file '{path}' is not valid keystore JSON.", ex); }
        if (loaded is null || loaded.Version != FormatVersion || loaded.Kdf != "scrypt")
            throw new SignerException($"Keystore file '{path}' has an unsupported format (version/KDF).");
        var derived = DeriveKey(passphrase, Convert.FromBase64String(loaded.Salt), new KeystoreKdfParameters(loaded.N, loaded.R, loaded.P));
        try { Open(derived, loaded.Check, "check"); }
        catch (CryptographicException) { throw new SignerException($"Keystore passphrase is wrong (or the keystore file '{path}' was altered)."); }
        return new LocalKeystoreSigner(path, derived, loaded);
    }

    public IReadOnlyList<SignerKeyInfo> ListKeys()
    {
        lock (_file.Keys) return _file.Keys.Select(k => new SignerKeyInfo(k.Id, new SignerPublicKey(k.Algorithm, Convert.FromHexString(k.PublicKey)))).ToList();
    }

    /// <summary>Creates a new random key and saves the keystore.</summary>
    public Task<SignerKeyInfo> CreateKeyAsync(string keyId, SignerKeyAlgorithm algorithm, CancellationToken cancellationToken = default)
    {
        var secret = RandomNumberGenerator.GetBytes(32);
        while (algorithm == SignerKeyAlgorithm.Secp256k1 && !Secp256k1.IsValidPrivateKey(secret)) secret = RandomNumberGenerator.GetBytes(32);
        try { return ImportKeyAsync(keyId, algorithm, secret, cancellationToken); }
        finally { CryptographicOperations.ZeroMemory(secret); }
    }

    /// <summary>Adds an existing 32-byte private key (secp256k1) or seed (Ed25519) and saves the keystore.</summary>
    public async Task<SignerKeyInfo> ImportKeyAsync(string keyId, SignerKeyAlgorithm algorithm, ReadOnlyMemory<byte> secret, CancellationToken cancellationToken = default)
    {
        SignerGuard.KeyId(keyId);
        if (secret.Length != 32) throw new ArgumentException($"A {algorithm} private key is 32 bytes, got {secret.Length}.", nameof(secret));
        if (algorithm == SignerKeyAlgorithm.Secp256k1 && !Secp256k1.IsValidPrivateKey(secret.Span))
            throw new ArgumentException("The secp256k1 private key is out of range.", nameof(secret));
        var publicKey = PublicKeyOf(algorithm, secret.Span);
        var entry = new KeystoreKey(keyId, algorithm, Convert.ToHexStringLower(publicKey.Key.Span), Seal(_key, secret.Span, Aad(keyId, algorithm)));
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_file.Keys)
            {
                if (_file.Keys.Any(k => k.Id == keyId)) throw new SignerException($"Signing key '{keyId}' already exists in the keystore.");
                _file.Keys.Add(entry);
            }
            try { await SaveAsync(cancellationToken).ConfigureAwait(false); }
            catch
            {
                lock (_file.Keys) _file.Keys.Remove(entry);
                throw;
            }
        }
        finally { _writeLock.Release(); }
        return new SignerKeyInfo(keyId, publicKey);
    }

    public Task<EcdsaSignature> SignDigestAsync(string keyId, ReadOnlyMemory<byte> digest32, CancellationToken cancellationToken = default)
    {
        SignerGuard.Digest(digest32);
        return Task.FromResult(WithSecret(keyId, SignerKeyAlgorithm.Secp256k1, secret => Secp256k1.Sign(digest32.Span, secret)));
    }

    public Task<byte[]> SignEd25519Async(string keyId, ReadOnlyMemory<byte> message, CancellationToken cancellationToken = default) =>
        Task.FromResult(WithSecret(keyId, SignerKeyAlgorithm.Ed25519, secret => Ed25519.Sign(secret, message.Span)));

    public Task<SignerPublicKey> GetPublicKeyAsync(string keyId, CancellationToken cancellationToken = default)
    {
        var entry = Find(keyId);
        return Task.FromResult(new SignerPublicKey(entry.Algorithm, Convert.FromHexString(entry.PublicKey)));
    }

    private T WithSecret<T>(string keyId, SignerKeyAlgorithm wanted, Func<byte[], T> use)
    {
        var entry = Find(keyId);
        if (entry.Algorithm != wanted) throw new SignerKeyAlgorithmMismatchException(keyId, entry.Algorithm, wanted);
        byte[] secret;
        try { secret = Open(_key, entry.Sealed, Aad(keyId, entry.Algorithm)); }
        catch (CryptographicException) { throw new SignerException($"Signing key '{keyId}' cannot be decrypted (the keystore entry was altered)."); }
        try { return use(secret); }
        finally { CryptographicOperations.ZeroMemory(secret); }
    }

    private KeystoreKey Find(string keyId)
    {
        SignerGuard.KeyId(keyId);
        lock (_file.Keys) return _file.Keys.FirstOrDefault(k => k.Id == keyId) ?? throw new SignerKeyNotFoundException(keyId);
    }

    private static SignerPublicKey PublicKeyOf(SignerKeyAlgorithm algorithm, ReadOnlySpan<byte> secret) => algorithm switch
    {
        SignerKeyAlgorithm.Secp256k1 => new SignerPublicKey(algorithm, Secp256k1.GetPublicKey(secret, compressed: false)),
        SignerKeyAlgorithm.Ed25519 => new SignerPublicKey(algorithm, Ed25519.PublicKeyFromSeed(secret)),
        _ => throw new ArgumentOutOfRangeException(nameof(algorithm)),
    };

    private static string Aad(string keyId, SignerKeyAlgorithm algorithm) => $"key|{keyId}|{algorithm}";

    private static byte[] DeriveKey(string passphrase, byte[] salt, KeystoreKdfParameters kdf)
    {
        if (kdf.N < 2 || (kdf.N & (kdf.N - 1)) != 0 || kdf.R < 1 || kdf.P < 1) throw new SignerException("Keystore scrypt parameters are invalid.");
        var pass = Encoding.UTF8.GetBytes(passphrase);
        try { return SCrypt.Generate(pass, salt, kdf.N, kdf.R, kdf.P, 32); }
        finally { CryptographicOperations.ZeroMemory(pass); }
    }

    private static SealedBox Seal(byte[] key, ReadOnlySpan<byte> plaintext, string aad)
    {
        var nonce = RandomNumberGenerator.GetBytes(12);
        var ciphertext = new byte[plaintext.Length];
        var tag = new byte[16];
        using var gcm = new AesGcm(key, 16);
        gcm.Encrypt(nonce, plaintext, ciphertext, tag, Encoding.UTF8.GetBytes(aad));
        return new SealedBox(Convert.ToBase64String(nonce), Convert.ToBase64String(ciphertext), Convert.ToBase64String(tag));
    }

    private static byte[] Open(byte[] key, SealedBox box, string aad)
    {
        var ciphertext = Convert.FromBase64String(box.Ciphertext);
        var plaintext = new byte[ciphertext.Length];
        using var gcm = new AesGcm(key, 16);
        gcm.Decrypt(Convert.FromBase64String(box.Nonce), ciphertext, Convert.FromBase64String(box.Tag), plaintext, Encoding.UTF8.GetBytes(aad));
        return plaintext;
    }

    private async Task SaveAsync(CancellationToken cancellationToken)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(_path))!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(_path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            byte[] json;
            lock (_file.Keys) json = JsonSerializer.SerializeToUtf8Bytes(_file, KeystoreJson.Default.KeystoreFile);
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough))
            {
                await stream.WriteAsync(json, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            File.Move(temp, _path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}

internal sealed record SealedBox(string Nonce, string Ciphertext, string Tag);

internal sealed record KeystoreKey(string Id, SignerKeyAlgorithm Algorithm, string PublicKey, SealedBox Sealed);

internal sealed record KeystoreFile(int Version, string Kdf, int N, int R, int P, string Salt, SealedBox Check, List<KeystoreKey> Keys);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, UseStringEnumConverter = true)]
[JsonSerializable(typeof(KeystoreFile))]
internal sealed partial class KeystoreJson : JsonSerializerContext;
