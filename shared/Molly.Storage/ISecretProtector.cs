namespace Molly.Storage;

/// <summary>
/// Encrypts small secrets (API key secrets, webhook signing secrets) for storage in the item store. <paramref name="context"/> is bound to the
/// ciphertext as associated data (e.g. the key id), so a ciphertext copied onto another record does not decrypt.
/// Local: <c>LocalKeyFileSecretProtector</c> (functions/Api) (AES-256-GCM under a master key file). AWS:
/// <c>KmsEnvelopeSecretProtector</c> (shared/Molly.Secrets.Kms) (AES-256-GCM under KMS data keys).
/// </summary>
public interface ISecretProtector
{
    /// <summary>Short name of the protector and key, stored next to each ciphertext so a later key change is detectable.</summary>
    string KeyId { get; }

    byte[] Protect(ReadOnlySpan<byte> plaintext, string context);

    /// <summary>Throws <see cref="System.Security.Cryptography.CryptographicException"/> when the ciphertext or its context was tampered with.</summary>
    byte[] Unprotect(ReadOnlySpan<byte> ciphertext, string context);
}
