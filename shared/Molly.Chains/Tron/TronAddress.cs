using System.Diagnostics.CodeAnalysis;
using Molly.Chains.Crypto;
using Molly.Chains.Evm;

namespace Molly.Chains.Tron;

/// <summary>
/// A TRON account address: 0x41 followed by the 20-byte keccak address of the key. Written as base58check (T...) or
/// hex (41...). Parsing is strict: length, 0x41 prefix and base58 checksum are all checked.
/// </summary>
public sealed class TronAddress : IEquatable<TronAddress>
{
    public const byte Prefix = 0x41;
    private readonly byte[] _bytes; // 21 bytes

    private TronAddress(byte[] bytes) => _bytes = bytes;

    /// <summary>The 21 bytes 0x41 || 20-byte account id, as in protobuf fields.</summary>
    public ReadOnlySpan<byte> Bytes => _bytes;

    public static TronAddress FromBytes(ReadOnlySpan<byte> bytes21)
    {
        if (bytes21.Length != 21) throw new FormatException($"A TRON address is 21 bytes, got {bytes21.Length}.");
        if (bytes21[0] != Prefix) throw new FormatException($"A TRON address starts with 0x41, got 0x{bytes21[0]:x2}.");
        return new TronAddress(bytes21.ToArray());
    }

    public static TronAddress FromEvm(EvmAddress address) => new([Prefix, .. address.Bytes]);

    public EvmAddress ToEvm() => EvmAddress.FromBytes(_bytes.AsSpan(1));

    /// <summary>From a 64/65-byte uncompressed or 33-byte compressed secp256k1 public key.</summary>
    public static TronAddress FromPublicKey(ReadOnlySpan<byte> publicKey) =>
        FromEvm(EvmAddress.FromPublicKey(publicKey.Length == 33 ? Secp256k1.DecompressPublicKey(publicKey) : publicKey));

    public static TronAddress Parse(string text) => TryParse(text, out var a, out var e) ? a : throw new FormatException(e);

    public static bool TryParse([NotNullWhen(true)] string? text, [MaybeNullWhen(false)] out TronAddress address, out string error)
    {
        address = null;
        if (string.IsNullOrEmpty(text)) { error = "TRON address is missing."; return false; }
        if (text.Length == 42 && text.StartsWith("41", StringComparison.Ordinal))
        {
            if (!text.All(char.IsAsciiHexDigit)) { error = $"TRON hex address '{text}' has a non-hex digit."; return false; }
            address = new TronAddress(Convert.FromHexString(text));
            error = string.Empty;
            return true;
        }
        if (!text.StartsWith('T') || text.Length != 34) { error = $"TRON address '{text}' must be base58 'T...' (34 characters) or hex '41...' (42 digits)."; return false; }
        if (!Base58Check.TryDecode(text, out var data, out var checkError)) { error = $"TRON address '{text}': {checkError}"; return false; }
        if (data.Length != 21 || data[0] != Prefix) { error = $"TRON address '{text}' does not decode to 0x41 + 20 bytes."; return false; }
        address = new TronAddress(data);
        error = string.Empty;
        return true;
    }

    public string ToBase58() => Base58Check.Encode(_bytes);

    public string ToHex() => Convert.ToHexStringLower(_bytes);

    /// <summary>TronWeb's toChecksumAddress: "41" + EIP-55 casing of the 20-byte part.</summary>
    public string ToChecksumHex() => "41" + EvmAddress.ChecksumHex(_bytes.AsSpan(1));

    public override string ToString() => ToBase58();

    public bool Equals(TronAddress? other) => other is not null && _bytes.AsSpan().SequenceEqual(other._bytes);

    public override bool Equals(object? obj) => obj is TronAddress other && Equals(other);

    public override int GetHashCode() => BitConverter.ToInt32(_bytes, 17);
}
