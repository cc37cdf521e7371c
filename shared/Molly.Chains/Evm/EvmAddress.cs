using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using Molly.Chains.Crypto;

namespace Molly.Chains.Evm;

/// <summary>
/// A 20-byte EVM account address. <see cref="ToString"/> writes the EIP-55 checksummed form; parsing accepts
/// all-lowercase, all-uppercase, or correctly checksummed mixed case, and rejects a mixed-case string whose checksum is wrong.
/// </summary>
public sealed class EvmAddress : IEquatable<EvmAddress>
{
    public const int Length = 20;

    private readonly byte[] _bytes;

    private EvmAddress(byte[] bytes) => _bytes = bytes;

    public static EvmAddress Zero { get; } = new(new byte[Length]);

    public ReadOnlySpan<byte> Bytes => _bytes;

    public byte[] ToArray() => (byte[])_bytes.Clone();

    public static EvmAddress FromBytes(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length != Length) throw new FormatException($"An EVM address is {Length} bytes, got {bytes.Length}.");
        return new EvmAddress(bytes.ToArray());
    }

    /// <summary>
    /// The address of a secp256k1 public key: keccak256(X || Y)[12..32]. Accepts the 64-byte X||Y or the
    /// 65-byte uncompressed SEC1 form (0x04 || X || Y).
    /// </summary>
    public static EvmAddress FromPublicKey(ReadOnlySpan<byte> publicKey)
    {
        var xy = publicKey.Length switch
        {
            64 => publicKey,
            65 when publicKey[0] == 0x04 => publicKey[1..],
            65 => throw new FormatException("A 65-byte secp256k1 public key must start with 0x04 (uncompressed)."),
            _ => throw new FormatException($"A secp256k1 public key for an address is 64 or 65 bytes (uncompressed), got {publicKey.Length}."),
        };
        return new EvmAddress(Keccak256.Compute(xy)[12..]);
    }

    public static EvmAddress Parse(string text) =>
        TryParse(text, out var address, out var error) ? address : throw new FormatException(error);

    public static bool TryParse([NotNullWhen(true)] string? text, [MaybeNullWhen(false)] out EvmAddress address) =>
        TryParse(text, out address, out _);

    public static bool TryParse([NotNullWhen(true)] string? text, [MaybeNullWhen(false)] out EvmAddress address, out string error)
    {
        address = null;
        if (text is null) { error = "EVM address is missing."; return false; }
        if (!text.StartsWith("0x", StringComparison.Ordinal) && !text.StartsWith("0X", StringComparison.Ordinal))
        {
            error = $"EVM address '{Shorten(text)}' must start with 0x.";
            return false;
        }
        var digits = text.AsSpan(2);
        if (digits.Length != Length * 2)
        {
            error = $"EVM address '{Shorten(text)}' must have 40 hex digits after 0x, has {digits.Length}.";
            return false;
        }
        bool hasLower = false, hasUpper = false;
        foreach (var c in digits)
        {
            if (!char.IsAsciiHexDigit(c)) { error = $"EVM address '{Shorten(text)}' contains '{c}', which is not a hex digit."; return false; }
            hasLower |= c is >= 'a' and <= 'f';
            hasUpper |= c is >= 'A' and <= 'F';
        }
        var candidate = new EvmAddress(Convert.FromHexString(digits));
        if (hasLower && hasUpper && !digits.SequenceEqual(candidate.ToString().AsSpan(2)))
        {
            error = $"EVM address '{text}' has mixed case but an invalid EIP-55 checksum.";
            return false;
        }
        address = candidate;
        error = string.Empty;
        return true;
    }

    /// <summary>
    /// go-ethereum's HexToAddress: 0x optional, shorter inputs left-padded with zeros, no checksum check. For reading
    /// node output, never for user input (use <see cref="Parse"/>).
    /// </summary>
    public static EvmAddress FromHexLeftPadded(string hex)
    {
        var digits = hex.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? hex[2..] : hex;
        if (digits.Length is 0 or > Length * 2) throw new FormatException($"EVM address hex must have 1..40 digits, has {digits.Length}.");
        var padded = digits.PadLeft(Length * 2, '0');
        return new EvmAddress(EvmHex.Decode(padded, "EVM address"));
    }

    /// <summary>The EIP-55 mixed-case checksum form: hex letter i is uppercase iff nibble i of keccak256(lowercase hex) is 8 or more.</summary>
    public override string ToString() => "0x" + ChecksumHex(_bytes);

    /// <summary>The 40 EIP-55-cased hex digits of 20 bytes, without 0x (TRON's checksummed hex reuses this).</summary>
    public static string ChecksumHex(ReadOnlySpan<byte> twentyBytes)
    {
        var lower = Convert.ToHexStringLower(twentyBytes);
        var hash = Keccak256.Compute(System.Text.Encoding.ASCII.GetBytes(lower));
        var chars = lower.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var nibble = (hash[i / 2] >> (i % 2 == 0 ? 4 : 0)) & 0x0f;
            if (nibble >= 8) chars[i] = char.ToUpperInvariant(chars[i]);
        }
        return new string(chars);
    }

    public string ToLowerHex() => "0x" + Convert.ToHexStringLower(_bytes);

    /// <summary>CREATE: keccak256(rlp([sender, nonce]))[12..].</summary>
    public static EvmAddress ForCreate(EvmAddress sender, BigInteger nonce) =>
        new(Keccak256.Compute(Rlp.Encode(RlpItem.List(RlpItem.String(sender._bytes), RlpItem.UInt(nonce))))[12..]);

    /// <summary>CREATE2 (EIP-1014): keccak256(0xff || deployer || salt || keccak256(initCode))[12..].</summary>
    public static EvmAddress ForCreate2(EvmAddress deployer, ReadOnlySpan<byte> salt32, ReadOnlySpan<byte> initCode)
    {
        if (salt32.Length != 32) throw new ArgumentException($"CREATE2 salt is 32 bytes, got {salt32.Length}.", nameof(salt32));
        var buffer = new byte[1 + Length + 32 + 32];
        buffer[0] = 0xff;
        deployer._bytes.CopyTo(buffer, 1);
        salt32.CopyTo(buffer.AsSpan(1 + Length));
        Keccak256.Compute(initCode).CopyTo(buffer, 1 + Length + 32);
        return new EvmAddress(Keccak256.Compute(buffer)[12..]);
    }

    public bool Equals(EvmAddress? other) => other is not null && _bytes.AsSpan().SequenceEqual(other._bytes);

    public override bool Equals(object? obj) => obj is EvmAddress other && Equals(other);

    public override int GetHashCode() => BitConverter.ToInt32(_bytes, 16);

    public static bool operator ==(EvmAddress? left, EvmAddress? right) => left?.Equals(right) ?? right is null;

    public static bool operator !=(EvmAddress? left, EvmAddress? right) => !(left == right);

    private static string Shorten(string text) => text.Length <= 64 ? text : text[..64] + "...";
}
