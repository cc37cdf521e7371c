using System.Security.Cryptography;
using Molly.Api.Hosting;
using Molly.Storage;

namespace Molly.Api.Security;

/// <summary>
/// AES-256-GCM under a 32-byte master key kept in <c>&lt;DataDir&gt;/master.key</c> (created with mode 0600 on first
/// use). Ciphertext layout: version byte 1 | 12-byte nonce | ciphertext | 16-byte tag.
/// </summary>
public sealed class LocalKeyFileSecretProtector : ISecretProtector
{
    public const string FileName = "master.key";
    private const byte Version = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;

    private readonly byte[] _key;

    public LocalKeyFileSecretProtector(DataDirectory dataDir)
    {
        dataDir.EnsureExists();
        var path = dataDir.File(FileName);
        if (!File.Exists(path))
        {
            var fresh = RandomNumberGenerator.GetBytes(32);
            SecureFile.TryCreate(path, fresh);
            CryptographicOperations.ZeroMemory(fresh);
        }
        _key = SecureFile.ReadOwnerOnly(path);
        if (_key.Length != 32) throw new InvalidOperationException($"{path} must hold exactly 32 bytes.");
        KeyId = "local:" + Convert.ToHexStringLower(SHA256.HashData(_key).AsSpan(0, 4));
    }

    public string KeyId { get; }

    public byte[] Protect(ReadOnlySpan<byte> plaintext, string context)
    {
        var output = new byte[1 + NonceSize + plaintext.Length + TagSize];
        output[0] = Version;
        var nonce = output.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plaintext, output.AsSpan(1 + NonceSize, plaintext.Length),
            output.AsSpan(1 + NonceSize + plaintext.Length), System.Text.Encoding.UTF8.GetBytes(context));
        return output;
    }

    public byte[] Unprotect(ReadOnlySpan<byte> ciphertext, string context)
    {
        if (ciphertext.Length < 1 + NonceSize + TagSize || ciphertext[0] != Version)
            throw new CryptographicException("Unrecognised protected secret.");
        var length = ciphertext.Length - 1 - NonceSize - TagSize;
        var plaintext = new byte[length];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(ciphertext.Slice(1, NonceSize), ciphertext.Slice(1 + NonceSize, length),
            ciphertext.Slice(1 + NonceSize + length), plaintext, System.Text.Encoding.UTF8.GetBytes(context));
        return plaintext;
    }
}
