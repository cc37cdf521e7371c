using Molly.Chains.Crypto;

namespace Molly.Chains.Bitcoin;

/// <summary>A native segwit v0 key-hash address (P2WPKH) on an explicit network.</summary>
public sealed record BitcoinAddress
{
    private readonly byte[] _keyHash;

    private BitcoinAddress(byte[] keyHash, Network network)
    {
        _keyHash = keyHash;
        Network = network;
        Value = Bech32.EncodeSegwit(network.Bech32Hrp, 0, keyHash);
    }

    public Network Network { get; }

    public string Value { get; }

    public ReadOnlySpan<byte> KeyHash => _keyHash;

    /// <summary>scriptPubKey: OP_0 PUSH20 keyhash.</summary>
    public byte[] ScriptPubKey => [0x00, 0x14, .. _keyHash];

    /// <summary>P2WPKH of a compressed public key (segwit v0 requires compressed keys).</summary>
    public static BitcoinAddress FromPublicKey(ReadOnlySpan<byte> compressedPublicKey, Network network)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (compressedPublicKey.Length != 33 || compressedPublicKey[0] is not (2 or 3))
            throw new ArgumentException("P2WPKH needs a 33-byte compressed public key.", nameof(compressedPublicKey));
        return new BitcoinAddress(Hash160.Compute(compressedPublicKey), network);
    }

    public static BitcoinAddress FromKeyHash(ReadOnlySpan<byte> keyHash, Network network)
    {
        if (keyHash.Length != 20) throw new ArgumentException("P2WPKH key hash is 20 bytes.", nameof(keyHash));
        return new BitcoinAddress(keyHash.ToArray(), network);
    }

    /// <summary>Parses a P2WPKH address against <paramref name="network"/>; an address of another network is an error naming both.</summary>
    public static BitcoinAddress Create(string address, Network network)
    {
        if (!TryCreate(address, network, out var result, out var error)) throw new FormatException(error);
        return result;
    }

    public static bool TryCreate(string? address, Network network, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out BitcoinAddress result, out string error)
    {
        ArgumentNullException.ThrowIfNull(network);
        result = null;
        if (Bech32.TryDecode(address, out var raw, out _) && raw.Hrp != network.Bech32Hrp)
        {
            var owner = Network.All.FirstOrDefault(n => n.Bech32Hrp == raw.Hrp);
            error = owner is null
                ? $"Address prefix '{raw.Hrp}' is not {network} (expected '{network.Bech32Hrp}1...')."
                : $"Address belongs to {owner}, not {network}.";
            return false;
        }

        if (!Bech32.TryDecodeSegwit(network.Bech32Hrp, address, out var version, out var program, out error)) return false;
        if (version != 0 || program.Length != 20)
        {
            error = $"Address is segwit v{version} with a {program.Length}-byte program; only P2WPKH (v0, 20 bytes) is supported.";
            return false;
        }

        result = new BitcoinAddress(program, network);
        return true;
    }

    public bool Equals(BitcoinAddress? other) => other is not null && other.Value == Value && other.Network == Network;

    public override int GetHashCode() => HashCode.Combine(Value, Network);

    public override string ToString() => Value;
}
