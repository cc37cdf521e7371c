using System.Security.Cryptography;
using System.Text;
using Molly.Testing;
using Xunit;

namespace Molly.Secrets.Kms.Tests;

/// <summary>The protector with the real SDK client against <see cref="KmsEnvelopeStub"/> on 127.0.0.1.</summary>
public sealed class KmsEnvelopeSecretProtectorTests : IAsyncLifetime
{
    private readonly KmsEnvelopeStub _kms = new();
    private readonly ManualTime _clock = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));

    public Task InitializeAsync() => Task.CompletedTask;
    public async Task DisposeAsync() => await _kms.DisposeAsync();

    private KmsEnvelopeSecretProtector Protector(int maxUses = 1000, TimeSpan? maxAge = null, int cache = 16) =>
        new(_kms.Client(), new KmsSecretsOptions
        {
            KmsKeyId = _kms.KeyArn, DataKeyMaxUses = maxUses, DataKeyMaxAge = maxAge ?? TimeSpan.FromHours(1), CacheCapacity = cache,
        }, _clock);

    private static readonly byte[] Secret = Encoding.UTF8.GetBytes("whsec_0123456789abcdef");

    [Fact]
    public void GenerateDataKey_asks_for_an_AES_256_key_under_the_configured_key_with_the_purpose_context()
    {
        using var protector = Protector();
        protector.Protect(Secret, "ak_1");
        protector.Protect(Secret, "ak_2");

        var call = Assert.Single(_kms.CallsTo("GenerateDataKey")); // one data key per process until rotation
        var body = call.Body;
        Assert.Equal(_kms.KeyArn, body.GetProperty("KeyId").GetString());
        Assert.Equal("AES_256", body.GetProperty("KeySpec").GetString());
        var context = body.GetProperty("EncryptionContext");
        Assert.Equal(KmsEnvelopeSecretProtector.PurposeValue, context.GetProperty(KmsEnvelopeSecretProtector.PurposeKey).GetString());
        Assert.Single(context.EnumerateObject());
        Assert.False(body.TryGetProperty("NumberOfBytes", out _));
        Assert.Equal("kms:" + _kms.KeyArn, protector.KeyId);
    }

    [Fact]
    public void A_secret_round_trips_in_another_process_through_KMS_Decrypt_with_the_same_context_and_key_id()
    {
        using var writer = Protector();
        var sealedSecret = writer.Protect(Secret, "ak_1");
        Assert.Equal(1, sealedSecret[0]);
        Assert.DoesNotContain(Convert.ToHexString(Secret), Convert.ToHexString(sealedSecret));

        using var reader = Protector(); // a new process: empty cache
        Assert.Equal(Secret, reader.Unprotect(sealedSecret, "ak_1"));

        var decrypt = Assert.Single(_kms.CallsTo("Decrypt")).Body;
        Assert.Equal(_kms.KeyArn, decrypt.GetProperty("KeyId").GetString());
        Assert.Equal(KmsEnvelopeSecretProtector.PurposeValue,
            decrypt.GetProperty("EncryptionContext").GetProperty(KmsEnvelopeSecretProtector.PurposeKey).GetString());
        var blob = Convert.FromBase64String(decrypt.GetProperty("CiphertextBlob").GetString()!);
        Assert.Equal(ExtractEncryptedKey(sealedSecret), blob);
    }

    [Fact]
    public void The_process_that_sealed_a_secret_and_a_cache_hit_do_not_call_KMS_Decrypt_again()
    {
        using var writer = Protector();
        var a = writer.Protect(Secret, "ak_1");
        Assert.Equal(Secret, writer.Unprotect(a, "ak_1"));
        Assert.Empty(_kms.CallsTo("Decrypt"));

        using var reader = Protector();
        var b = writer.Protect(Encoding.UTF8.GetBytes("other"), "ak_2"); // same data key as a
        reader.Unprotect(a, "ak_1");
        reader.Unprotect(a, "ak_1");
        Assert.Equal("other", Encoding.UTF8.GetString(reader.Unprotect(b, "ak_2")));
        Assert.Single(_kms.CallsTo("Decrypt"));
    }

    [Fact]
    public void A_wrong_context_fails()
    {
        using var protector = Protector();
        var sealedSecret = protector.Protect(Secret, "ak_1");
        Assert.ThrowsAny<CryptographicException>(() => protector.Unprotect(sealedSecret, "ak_2"));
    }

    [Fact]
    public void Every_tampered_byte_fails_with_a_cryptographic_exception()
    {
        using var writer = Protector();
        var sealedSecret = writer.Protect(Secret, "ak_1");
        for (var i = 0; i < sealedSecret.Length; i++)
        {
            var tampered = (byte[])sealedSecret.Clone();
            tampered[i] ^= 0x01;
            using var reader = Protector(); // empty cache: a tampered data key goes to KMS, which rejects it
            Assert.ThrowsAny<CryptographicException>(() => reader.Unprotect(tampered, "ak_1"));
        }
        Assert.ThrowsAny<CryptographicException>(() => writer.Unprotect(sealedSecret.AsSpan(0, 10), "ak_1"));
        Assert.ThrowsAny<CryptographicException>(() => writer.Unprotect([], "ak_1"));
    }

    [Fact]
    public void A_data_key_is_rotated_after_N_uses_and_after_T_time_and_old_secrets_still_open()
    {
        using var protector = Protector(maxUses: 2, maxAge: TimeSpan.FromMinutes(10));
        var first = protector.Protect(Secret, "a");
        protector.Protect(Secret, "b");
        Assert.Single(_kms.CallsTo("GenerateDataKey"));
        var third = protector.Protect(Secret, "c"); // third use: new key
        Assert.Equal(2, _kms.CallsTo("GenerateDataKey").Count);
        Assert.NotEqual(ExtractEncryptedKey(first), ExtractEncryptedKey(third));
        _clock.Advance(TimeSpan.FromMinutes(10));
        protector.Protect(Secret, "d"); // aged out
        Assert.Equal(3, _kms.CallsTo("GenerateDataKey").Count);
        Assert.Equal(Secret, protector.Unprotect(first, "a"));
        Assert.Equal(Secret, protector.Unprotect(third, "c"));
    }

    [Fact]
    public void The_cache_is_bounded_an_evicted_key_is_fetched_from_KMS_again()
    {
        using var writer = Protector(maxUses: 1);
        var sealedSecrets = Enumerable.Range(0, 3).Select(i => writer.Protect(Secret, $"k{i}")).ToList();
        using var reader = Protector(cache: 2);
        foreach (var (s, i) in sealedSecrets.Select((s, i) => (s, i))) reader.Unprotect(s, $"k{i}");
        Assert.Equal(3, _kms.CallsTo("Decrypt").Count);
        reader.Unprotect(sealedSecrets[2], "k2"); // still cached
        Assert.Equal(3, _kms.CallsTo("Decrypt").Count);
        reader.Unprotect(sealedSecrets[0], "k0"); // evicted
        Assert.Equal(4, _kms.CallsTo("Decrypt").Count);
    }

    [Fact]
    public void A_KMS_error_surfaces_as_a_clear_exception_naming_the_operation_and_error_code_without_secrets()
    {
        using var writer = Protector();
        var sealedSecret = writer.Protect(Secret, "ak_1");
        _kms.FailWith = "AccessDeniedException";

        using var reader = Protector();
        var e = Assert.Throws<InvalidOperationException>(() => reader.Unprotect(sealedSecret, "ak_1"));
        Assert.Contains("KMS Decrypt failed", e.Message);
        Assert.Contains("AccessDeniedException", e.Message);
        var generate = Assert.Throws<InvalidOperationException>(() => reader.Protect(Secret, "ak_2"));
        Assert.Contains("KMS GenerateDataKey failed", generate.Message);
        foreach (var text in new[] { e.ToString(), generate.ToString() })
        {
            Assert.DoesNotContain("whsec_", text);
            Assert.DoesNotContain("test-secret", text);
        }
    }

    [Fact]
    public void A_missing_key_id_is_refused_with_the_setting_name()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new KmsEnvelopeSecretProtector(_kms.Client(), new KmsSecretsOptions(), _clock));
        Assert.Contains("Molly:Secrets:KmsKeyId", e.Message);
    }

    private static byte[] ExtractEncryptedKey(byte[] sealedSecret) =>
        sealedSecret.AsSpan(3, (sealedSecret[1] << 8) | sealedSecret[2]).ToArray();

    private sealed class ManualTime(DateTimeOffset start) : TimeProvider
    {
        private DateTimeOffset _now = start;
        public override DateTimeOffset GetUtcNow() => _now;
        public void Advance(TimeSpan by) => _now += by;
    }
}
