using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Amazon.KeyManagementService;
using Amazon.KeyManagementService.Model;
using Amazon.Runtime;
using Molly.Storage;

namespace Molly.Secrets.Kms;

/// <summary>
/// Envelope encryption under a symmetric KMS key: a 256-bit data key from KMS GenerateDataKey (EncryptionContext
/// <c>purpose=molly-secret</c>) seals each secret with AES-256-GCM; the KMS-encrypted data key travels inside the ciphertext.
/// Layout: version byte 1 | u16 big-endian length n | encrypted data key (n) | 12-byte nonce | ciphertext | 16-byte tag.
/// Associated data is the header (version, length, encrypted key) followed by the caller's context in UTF-8, so neither
/// the key blob nor the context can be swapped.
/// <para>
/// A fresh data key is generated on first use in each process and again after <see cref="KmsSecretsOptions.DataKeyMaxUses"/>
/// seals or <see cref="KmsSecretsOptions.DataKeyMaxAge"/>. Unprotect calls KMS Decrypt only when the encrypted data key is
/// not in the bounded in-memory cache. Plaintext data keys are never logged or put in an exception, and are zeroed when
/// evicted.
/// </para>
/// <para>
/// <see cref="ISecretProtector"/> is synchronous (it is called from the signature check and the webhook signer, both hot and
/// synchronous), so the two KMS calls block with <c>GetAwaiter().GetResult()</c>. That is safe here: neither ASP.NET Core
/// nor the Lambda entry has a synchronisation context, and the calls happen only on a cache miss or a data-key rotation.
/// </para>
/// </summary>
public sealed class KmsEnvelopeSecretProtector : ISecretProtector, IDisposable
{
    public const string PurposeKey = "purpose";
    public const string PurposeValue = "molly-secret";
    private const byte Version = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private const int KeySize = 32;

    private readonly IAmazonKeyManagementService _kms;
    private readonly KmsSecretsOptions _options;
    private readonly TimeProvider _clock;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LinkedListNode<CachedKey>> _cache = new(StringComparer.Ordinal);
    private readonly LinkedList<CachedKey> _lru = new(); // most recently used first
    private DataKey? _current;

    public KmsEnvelopeSecretProtector(IAmazonKeyManagementService kms, KmsSecretsOptions options, TimeProvider clock)
    {
        var errors = options.Validate();
        if (errors.Count > 0) throw new InvalidOperationException(string.Join(" ", errors));
        _kms = kms;
        _options = options;
        _clock = clock;
        KeyId = "kms:" + options.KmsKeyId;
    }

    public string KeyId { get; }

    private static Dictionary<string, string> EncryptionContext() => new() { [PurposeKey] = PurposeValue };

    public byte[] Protect(ReadOnlySpan<byte> plaintext, string context)
    {
        Span<byte> key = stackalloc byte[KeySize];
        byte[] encryptedKey;
        try
        {
            lock (_gate)
            {
                var now = _clock.GetUtcNow();
                if (_current is null || _current.Uses >= _options.DataKeyMaxUses || now - _current.CreatedAt >= _options.DataKeyMaxAge)
                {
                    _current?.Dispose();
                    _current = GenerateDataKey(now);
                }
                _current.Uses++;
                _current.Plaintext.CopyTo(key);
                encryptedKey = _current.Encrypted;
            }

            var headerLength = 1 + 2 + encryptedKey.Length;
            var output = new byte[headerLength + NonceSize + plaintext.Length + TagSize];
            output[0] = Version;
            BinaryPrimitives.WriteUInt16BigEndian(output.AsSpan(1, 2), checked((ushort)encryptedKey.Length));
            encryptedKey.CopyTo(output.AsSpan(3));
            var nonce = output.AsSpan(headerLength, NonceSize);
            RandomNumberGenerator.Fill(nonce);
            using var aes = new AesGcm(key, TagSize);
            aes.Encrypt(nonce, plaintext, output.AsSpan(headerLength + NonceSize, plaintext.Length),
                output.AsSpan(headerLength + NonceSize + plaintext.Length, TagSize), AssociatedData(output.AsSpan(0, headerLength), context));
            return output;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    public byte[] Unprotect(ReadOnlySpan<byte> ciphertext, string context)
    {
        if (ciphertext.Length < 3 || ciphertext[0] != Version) throw new CryptographicException("Unrecognised protected secret.");
        var keyLength = BinaryPrimitives.ReadUInt16BigEndian(ciphertext.Slice(1, 2));
        var headerLength = 3 + keyLength;
        if (keyLength == 0 || ciphertext.Length < headerLength + NonceSize + TagSize)
            throw new CryptographicException("Unrecognised protected secret.");
        var encryptedKey = ciphertext.Slice(3, keyLength);

        Span<byte> key = stackalloc byte[KeySize];
        try
        {
            DecryptedKey(encryptedKey, key);
            var length = ciphertext.Length - headerLength - NonceSize - TagSize;
            var plaintext = new byte[length];
            using var aes = new AesGcm(key, TagSize);
            aes.Decrypt(ciphertext.Slice(headerLength, NonceSize), ciphertext.Slice(headerLength + NonceSize, length),
                ciphertext.Slice(headerLength + NonceSize + length, TagSize), plaintext,
                AssociatedData(ciphertext[..headerLength], context));
            return plaintext;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private static byte[] AssociatedData(ReadOnlySpan<byte> header, string context)
    {
        var aad = new byte[header.Length + Encoding.UTF8.GetByteCount(context)];
        header.CopyTo(aad);
        Encoding.UTF8.GetBytes(context, aad.AsSpan(header.Length));
        return aad;
    }

    /// <summary>Copies the plaintext data key for <paramref name="encryptedKey"/> into <paramref name="key"/>: from the cache, else KMS Decrypt.</summary>
    private void DecryptedKey(ReadOnlySpan<byte> encryptedKey, Span<byte> key)
    {
        var id = Convert.ToBase64String(encryptedKey);
        lock (_gate)
        {
            if (_cache.TryGetValue(id, out var hit))
            {
                _lru.Remove(hit);
                _lru.AddFirst(hit);
                hit.Value.Plaintext.CopyTo(key);
                return;
            }
        }

        // Two threads missing on the same key both ask KMS; the second insert is dropped. Rare, and cheaper than a per-key lock.
        var request = new DecryptRequest
        {
            KeyId = _options.KmsKeyId,
            CiphertextBlob = new MemoryStream(encryptedKey.ToArray()),
            EncryptionContext = EncryptionContext(),
        };
        var fresh = Call("Decrypt", () => _kms.DecryptAsync(request));
        var plaintext = TakeKey(fresh.Plaintext);
        plaintext.CopyTo(key);
        Remember(id, plaintext);
    }

    private DataKey GenerateDataKey(DateTimeOffset now)
    {
        var response = Call("GenerateDataKey", () => _kms.GenerateDataKeyAsync(new GenerateDataKeyRequest
        {
            KeyId = _options.KmsKeyId,
            KeySpec = DataKeySpec.AES_256,
            EncryptionContext = EncryptionContext(),
        }));
        var plaintext = TakeKey(response.Plaintext);
        var encrypted = response.CiphertextBlob.ToArray();
        if (encrypted.Length is 0 or > ushort.MaxValue)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            throw new InvalidOperationException($"KMS GenerateDataKey for {_options.KmsKeyId} returned an unusable encrypted key.");
        }
        // The cache gets its own copy, so this process decrypts what it sealed without asking KMS.
        Remember(Convert.ToBase64String(encrypted), (byte[])plaintext.Clone());
        return new DataKey(plaintext, encrypted, now);
    }

    private void Remember(string id, byte[] plaintext)
    {
        lock (_gate)
        {
            if (_cache.ContainsKey(id))
            {
                CryptographicOperations.ZeroMemory(plaintext);
                return;
            }
            _cache[id] = _lru.AddFirst(new CachedKey(id, plaintext));
            while (_cache.Count > _options.CacheCapacity)
            {
                var oldest = _lru.Last!;
                _lru.RemoveLast();
                _cache.Remove(oldest.Value.Id);
                CryptographicOperations.ZeroMemory(oldest.Value.Plaintext);
            }
        }
    }

    /// <summary>Copies a 32-byte key out of the SDK's stream and zeroes the stream's buffer.</summary>
    private static byte[] TakeKey(MemoryStream stream)
    {
        var key = stream.ToArray();
        if (stream.TryGetBuffer(out var buffer)) CryptographicOperations.ZeroMemory(buffer.AsSpan());
        if (key.Length == KeySize) return key;
        CryptographicOperations.ZeroMemory(key);
        throw new InvalidOperationException($"KMS returned a data key of {key.Length} bytes; expected {KeySize}.");
    }

    /// <summary>
    /// Runs one KMS call synchronously (see the class remarks). A ciphertext KMS rejects is a tampered or foreign secret
    /// (<see cref="CryptographicException"/>); anything else (access, throttling, network) is an operational failure. Messages
    /// name the operation, the key and the KMS error code only.
    /// </summary>
    private T Call<T>(string operation, Func<Task<T>> call)
    {
        try
        {
            return call().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is InvalidCiphertextException or IncorrectKeyException)
        {
            throw new CryptographicException($"KMS {operation} rejected the protected secret's data key ({((AmazonServiceException)e).ErrorCode}).", e);
        }
        catch (AmazonServiceException e)
        {
            throw new InvalidOperationException(
                $"KMS {operation} failed for key {_options.KmsKeyId}: {e.ErrorCode} (HTTP {(int)e.StatusCode}).", e);
        }
        catch (AmazonClientException e)
        {
            throw new InvalidOperationException($"KMS {operation} failed for key {_options.KmsKeyId}: {e.GetType().Name}.", e);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _current?.Dispose();
            _current = null;
            foreach (var entry in _lru) CryptographicOperations.ZeroMemory(entry.Plaintext);
            _lru.Clear();
            _cache.Clear();
        }
    }

    private sealed record CachedKey(string Id, byte[] Plaintext);

    private sealed class DataKey(byte[] plaintext, byte[] encrypted, DateTimeOffset createdAt) : IDisposable
    {
        public byte[] Plaintext { get; } = plaintext;
        public byte[] Encrypted { get; } = encrypted;
        public DateTimeOffset CreatedAt { get; } = createdAt;
        public int Uses { get; set; }
        public void Dispose() => CryptographicOperations.ZeroMemory(Plaintext);
    }
}
