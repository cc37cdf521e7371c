using System.Security.Cryptography;
using System.Text;

namespace Molly.Chains.Hd;

/// <summary>A BIP39 mnemonic (English wordlist) with its checksum verified. <see cref="ToString"/> is the secret: never log it.</summary>
public sealed class Mnemonic
{
    private static readonly Lazy<(string[] Words, Dictionary<string, int> Index)> Wordlist = new(LoadWordlist);

    private readonly string[] _words;

    private Mnemonic(string[] words) => _words = words;

    public int WordCount => _words.Length;

    public static IReadOnlyList<string> EnglishWords => Wordlist.Value.Words;

    /// <summary>Parses and checks a mnemonic: 12/15/18/21/24 words from the English list with a valid checksum.</summary>
    public static Mnemonic Parse(string text)
    {
        if (!TryParse(text, out var mnemonic, out var error)) throw new FormatException(error);
        return mnemonic;
    }

    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out Mnemonic mnemonic, out string error)
    {
        mnemonic = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "Invalid mnemonic: empty.";
            return false;
        }

        var words = Nfkd(text).ToLowerInvariant()
            .Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (words.Length % 3 != 0 || words.Length is < 12 or > 24)
        {
            error = $"Invalid mnemonic: {words.Length} words; BIP39 uses 12, 15, 18, 21 or 24.";
            return false;
        }

        var index = Wordlist.Value.Index;
        var bits = new bool[words.Length * 11];
        for (var w = 0; w < words.Length; w++)
        {
            if (!index.TryGetValue(words[w], out var value))
            {
                error = $"Invalid mnemonic: word {w + 1} is not in the BIP39 English wordlist.";
                return false;
            }

            for (var b = 0; b < 11; b++) bits[w * 11 + b] = ((value >> (10 - b)) & 1) == 1;
        }

        var checksumBits = bits.Length / 33;
        var entropy = new byte[(bits.Length - checksumBits) / 8];
        for (var i = 0; i < entropy.Length * 8; i++)
        {
            if (bits[i]) entropy[i / 8] |= (byte)(0x80 >> (i % 8));
        }

        var hash = SHA256.HashData(entropy);
        for (var i = 0; i < checksumBits; i++)
        {
            var expected = ((hash[i / 8] >> (7 - i % 8)) & 1) == 1;
            if (bits[entropy.Length * 8 + i] != expected)
            {
                error = "Invalid mnemonic: checksum mismatch (a word is wrong or out of order).";
                return false;
            }
        }

        mnemonic = new Mnemonic(words);
        error = string.Empty;
        return true;
    }

    /// <summary>Builds the mnemonic for 16/20/24/28/32 bytes of entropy.</summary>
    public static Mnemonic FromEntropy(ReadOnlySpan<byte> entropy)
    {
        if (entropy.Length % 4 != 0 || entropy.Length is < 16 or > 32) throw new ArgumentException("BIP39 entropy must be 16, 20, 24, 28 or 32 bytes.", nameof(entropy));
        var hash = SHA256.HashData(entropy);
        var totalBits = entropy.Length * 8 + entropy.Length / 4;
        var words = new string[totalBits / 11];
        var list = Wordlist.Value.Words;
        for (var w = 0; w < words.Length; w++)
        {
            var value = 0;
            for (var b = 0; b < 11; b++)
            {
                var bit = w * 11 + b;
                var source = bit < entropy.Length * 8 ? entropy[bit / 8] : hash[(bit - entropy.Length * 8) / 8];
                var offset = bit < entropy.Length * 8 ? bit % 8 : (bit - entropy.Length * 8) % 8;
                value = (value << 1) | ((source >> (7 - offset)) & 1);
            }

            words[w] = list[value];
        }

        return new Mnemonic(words);
    }

    /// <summary>BIP39 seed: PBKDF2-HMAC-SHA512(NFKD(mnemonic), "mnemonic" + NFKD(passphrase), 2048, 64 bytes).</summary>
    public byte[] DeriveSeed(string? passphrase = null)
    {
        var password = Encoding.UTF8.GetBytes(Nfkd(ToString()));
        var salt = Encoding.UTF8.GetBytes(Nfkd("mnemonic" + (passphrase ?? string.Empty)));
        return Rfc2898DeriveBytes.Pbkdf2(password, salt, 2048, HashAlgorithmName.SHA512, 64);
    }

    public override string ToString() => string.Join(' ', _words);

    private static readonly bool NormalizationWorks = "\u00e9".Normalize(NormalizationForm.FormKD).Length == 2;

    /// <summary>NFKD; ASCII is already normal. Without ICU (invariant globalization) non-ASCII text is refused rather than hashed un-normalised.</summary>
    private static string Nfkd(string text)
    {
        if (Ascii.IsValid(text)) return text;
        if (!NormalizationWorks)
            throw new NotSupportedException("Non-ASCII mnemonic or passphrase needs Unicode NFKD normalisation, which this process lacks (invariant globalization); run with ICU.");
        return text.Normalize(NormalizationForm.FormKD);
    }

    private static (string[], Dictionary<string, int>) LoadWordlist()
    {
        using var stream = typeof(Mnemonic).Assembly.GetManifestResourceStream("Molly.Chains.Hd.english.txt")
                           ?? throw new InvalidOperationException("BIP39 English wordlist resource is missing.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var words = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (words.Length != 2048) throw new InvalidOperationException($"BIP39 English wordlist has {words.Length} words, expected 2048.");
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < words.Length; i++) index[words[i]] = i;
        return (words, index);
    }
}
