using System.CommandLine;
using System.Text.Json;
using Molly.Chains.Bitcoin;
using Molly.Chains.Crypto;
using Molly.Chains.Hd;
using Molly.Chains.Wallets;

namespace Molly.Cli;

/// <summary>`molly keys derive`: addresses from an account xpub or a mnemonic.</summary>
internal static class KeysDeriveCommand
{
    public static Command Build(TextWriter output, TextWriter error)
    {
        var chain = new Option<string>("--chain") { Description = "eth, tron, sol, btc or ltc", Required = true };
        chain.AcceptOnlyFromAmong("eth", "tron", "sol", "btc", "ltc");
        var network = new Option<string>("--network") { Description = "mainnet, testnet or regtest (btc/ltc)", DefaultValueFactory = _ => "mainnet" };
        var xpub = new Option<string?>("--xpub") { Description = "account extended public key (m/purpose'/coin'/account')" };
        var mnemonic = new Option<string?>("--mnemonic") { Description = "BIP39 mnemonic (secret: prefer an xpub)" };
        var passphrase = new Option<string?>("--passphrase") { Description = "BIP39 passphrase" };
        var path = new Option<string?>("--path") { Description = "path template with i for the index, e.g. m/84'/0'/0'/0/i (mnemonic only)" };
        var from = new Option<uint>("--from") { Description = "first index", DefaultValueFactory = _ => 0 };
        var count = new Option<int>("--count") { Description = "number of addresses", DefaultValueFactory = _ => 1 };
        var json = new Option<bool>("--json") { Description = "one JSON object per line" };
        var cmd = new Command("derive", "Derive deposit addresses") { chain, network, xpub, mnemonic, passphrase, path, from, count, json };
        cmd.SetAction(r => Execute(
            r.GetValue(chain)!, r.GetValue(network)!, r.GetValue(xpub), r.GetValue(mnemonic), r.GetValue(passphrase),
            r.GetValue(path), r.GetValue(from), r.GetValue(count), r.GetValue(json), output, error));
        return cmd;
    }

    public static string DefaultPathTemplate(string chain, string network) => chain switch
    {
        "btc" or "ltc" => $"m/84'/{Network.Get(chain, network).CoinType}'/0'/0/i",
        "eth" => "m/44'/60'/0'/0/i",
        "tron" => "m/44'/195'/0'/0/i",
        "sol" => "m/44'/501'/i'/0'",
        _ => throw new ArgumentException($"Unknown chain '{chain}'."),
    };

    private static int Execute(string chain, string network, string? xpub, string? mnemonic, string? passphrase, string? pathTemplate,
        uint from, int count, bool json, TextWriter output, TextWriter error)
    {
        if ((xpub is null) == (mnemonic is null))
        {
            error.WriteLine("error: give exactly one of --xpub or --mnemonic.");
            return 2;
        }

        if (count < 1 || (ulong)from + (ulong)count > KeyPath.HardenedBit)
        {
            error.WriteLine("error: --count must be at least 1 and --from + --count must stay below 2^31.");
            return 2;
        }

        if (passphrase is not null && mnemonic is null)
        {
            error.WriteLine("error: --passphrase goes with --mnemonic.");
            return 2;
        }

        var rows = new List<(uint Index, string Path, string Address)>(count);
        string? accountXpub = null;
        if (xpub is not null)
        {
            if (pathTemplate is not null)
            {
                error.WriteLine("error: --path applies to --mnemonic; with --xpub the path is the account's receive chain 0/i.");
                return 2;
            }

            var deriver = DepositAddressDeriver.Create(chain, network, xpub);
            foreach (var d in deriver.DeriveRange(from, count)) rows.Add((d.Index, d.Path.ToString(), d.Address));
        }
        else
        {
            var template = pathTemplate ?? DefaultPathTemplate(chain, network);
            if (!template.Contains('i', StringComparison.Ordinal)) throw new FormatException($"Invalid path template '{template}': it needs an i where the index goes.");
            var seed = Mnemonic.Parse(mnemonic!).DeriveSeed(passphrase);
            if (chain == "sol")
            {
                var master = Slip10Ed25519.FromSeed(seed);
                for (var n = 0u; n < count; n++)
                {
                    var path = KeyPath.Parse(template.Replace("i", (from + n).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
                    rows.Add((from + n, path.ToString(), Base58Check.EncodePlain(master.Derive(path).PublicKey)));
                }
            }
            else
            {
                var master = ExtKey.FromSeed(seed);
                var address = DepositAddressDeriver.AddressFunction(chain, network);
                var first = KeyPath.Parse(template.Replace("i", from.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
                if (first.Length >= 3 && first.Indexes.Take(3).All(KeyPath.IsHardened))
                {
                    var account = master.Derive(new KeyPath(first.Indexes.Take(3).ToArray())).Neuter();
                    var version = chain is "btc" or "ltc" ? Network.Get(chain, network).Bip84Version : ExtKeyVersion.Xpub;
                    accountXpub = account.ToString(version);
                }

                for (var n = 0u; n < count; n++)
                {
                    var path = KeyPath.Parse(template.Replace("i", (from + n).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
                    rows.Add((from + n, path.ToString(), address(master.Derive(path).Neuter())));
                }
            }
        }

        foreach (var (index, path, address) in rows)
        {
            if (json) output.WriteLine(JsonLine(index, path, address, accountXpub));
            else output.WriteLine($"{index}\t{path}\t{address}");
        }

        return 0;
    }

    private static string JsonLine(uint index, string path, string address, string? xpub)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("index", index);
            w.WriteString("path", path);
            w.WriteString("address", address);
            if (xpub is not null) w.WriteString("xpub", xpub);
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
