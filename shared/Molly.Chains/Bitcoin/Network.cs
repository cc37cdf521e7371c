using Molly.Chains.Hd;

namespace Molly.Chains.Bitcoin;

/// <summary>Parameters of one Bitcoin-family network, as data (HRP, version bytes, BIP32 versions, BIP44 coin type).</summary>
public sealed record Network(
    string Chain,
    string Name,
    string Bech32Hrp,
    byte PubKeyHashVersion,
    byte ScriptHashVersion,
    byte WifVersion,
    uint CoinType,
    ExtKeyVersion Bip32Version,
    ExtKeyVersion Bip84Version,
    IReadOnlyList<ExtKeyVersion> AcceptedExtKeyVersions)
{
    public static readonly Network BitcoinMain = new("btc", "mainnet", "bc", 0x00, 0x05, 0x80, 0, ExtKeyVersion.Xpub, ExtKeyVersion.Zpub, [ExtKeyVersion.Xpub, ExtKeyVersion.Zpub]);
    public static readonly Network BitcoinTest = new("btc", "testnet", "tb", 0x6f, 0xc4, 0xef, 1, ExtKeyVersion.Tpub, ExtKeyVersion.Vpub, [ExtKeyVersion.Tpub, ExtKeyVersion.Vpub]);
    public static readonly Network BitcoinRegtest = new("btc", "regtest", "bcrt", 0x6f, 0xc4, 0xef, 1, ExtKeyVersion.Tpub, ExtKeyVersion.Vpub, [ExtKeyVersion.Tpub, ExtKeyVersion.Vpub]);
    public static readonly Network LitecoinMain = new("ltc", "mainnet", "ltc", 0x30, 0x32, 0xb0, 2, ExtKeyVersion.Ltub, ExtKeyVersion.Zpub, [ExtKeyVersion.Ltub, ExtKeyVersion.Xpub, ExtKeyVersion.Zpub]);
    public static readonly Network LitecoinRegtest = new("ltc", "regtest", "rltc", 0x6f, 0x3a, 0xef, 1, ExtKeyVersion.Ttub, ExtKeyVersion.Vpub, [ExtKeyVersion.Ttub, ExtKeyVersion.Tpub, ExtKeyVersion.Vpub]);

    public static IReadOnlyList<Network> All { get; } = [BitcoinMain, BitcoinTest, BitcoinRegtest, LitecoinMain, LitecoinRegtest];

    /// <summary>Finds a network by chain ("btc", "ltc") and name ("mainnet", "testnet", "regtest"; "main"/"test" accepted).</summary>
    public static Network Get(string chain, string name)
    {
        if (!TryGet(chain, name, out var network))
            throw new ArgumentException($"Unknown network '{name}' for chain '{chain}'; known: {string.Join(", ", All.Select(n => n.Chain + "/" + n.Name))}.");
        return network;
    }

    public static bool TryGet(string? chain, string? name, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out Network network)
    {
        var normalised = name?.ToLowerInvariant() switch
        {
            "main" => "mainnet",
            "test" => "testnet",
            var other => other,
        };
        network = All.FirstOrDefault(n => string.Equals(n.Chain, chain, StringComparison.OrdinalIgnoreCase) && n.Name == normalised);
        return network is not null;
    }

    /// <summary>BIP84 account path m/84'/coin'/account'.</summary>
    public KeyPath Bip84AccountPath(uint account = 0) => new(84 | KeyPath.HardenedBit, CoinType | KeyPath.HardenedBit, account | KeyPath.HardenedBit);

    public override string ToString() => $"{Chain}/{Name}";
}
