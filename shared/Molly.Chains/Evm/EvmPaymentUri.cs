using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace Molly.Chains.Evm;

/// <summary>
/// An EIP-681 payment request: native coin (<c>ethereum:&lt;to&gt;@&lt;chainId&gt;?value=&lt;wei&gt;</c>) or an ERC-20 transfer
/// (<c>ethereum:&lt;token&gt;@&lt;chainId&gt;/transfer?address=&lt;to&gt;&amp;uint256=&lt;amount&gt;</c>). Amounts are integers in
/// base units; this type writes them as plain digits and reads EIP-681 numbers (including 2.014e18) exactly, rejecting
/// any that are not whole base units.
/// </summary>
public sealed record EvmPaymentUri
{
    private EvmPaymentUri(EvmAddress target, long? chainId, EvmAddress? tokenRecipient, BigInteger amount)
    {
        Target = target;
        ChainId = chainId;
        TokenRecipient = tokenRecipient;
        Amount = amount;
    }

    /// <summary>Native payments: the recipient. ERC-20 payments: the token contract.</summary>
    public EvmAddress Target { get; }

    public long? ChainId { get; }

    /// <summary>Set for an ERC-20 transfer: who receives the tokens.</summary>
    public EvmAddress? TokenRecipient { get; }

    /// <summary>Wei for native payments, token base units for ERC-20.</summary>
    public BigInteger Amount { get; }

    public bool IsTokenTransfer => TokenRecipient is not null;

    /// <summary>Who receives the money, for either kind.</summary>
    public EvmAddress Recipient => TokenRecipient ?? Target;

    public static EvmPaymentUri ForNative(EvmAddress recipient, long chainId, BigInteger wei) =>
        new(recipient, CheckChain(chainId), null, CheckAmount(wei));

    public static EvmPaymentUri ForErc20(EvmAddress token, long chainId, EvmAddress recipient, BigInteger amount) =>
        new(token, CheckChain(chainId), recipient, CheckAmount(amount));

    public override string ToString()
    {
        var sb = new StringBuilder("ethereum:").Append(Target);
        if (ChainId is { } chainId) sb.Append('@').Append(chainId.ToString(CultureInfo.InvariantCulture));
        if (TokenRecipient is { } to)
            sb.Append("/transfer?address=").Append(to).Append("&uint256=").Append(Amount.ToString(CultureInfo.InvariantCulture));
        else
            sb.Append("?value=").Append(Amount.ToString(CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    public static EvmPaymentUri Parse(string uri) => TryParse(uri, out var result, out var error) ? result : throw new FormatException(error);

    public static bool TryParse([NotNullWhen(true)] string? uri, [MaybeNullWhen(false)] out EvmPaymentUri result, out string error)
    {
        result = null;
        if (uri is null || !uri.StartsWith("ethereum:", StringComparison.OrdinalIgnoreCase)) { error = "EIP-681 URI must start with 'ethereum:'."; return false; }
        var rest = uri["ethereum:".Length..];
        if (rest.StartsWith("pay-", StringComparison.Ordinal)) rest = rest[4..];
        var query = string.Empty;
        var q = rest.IndexOf('?');
        if (q >= 0) { query = rest[(q + 1)..]; rest = rest[..q]; }
        string? function = null;
        var slash = rest.IndexOf('/');
        if (slash >= 0) { function = rest[(slash + 1)..]; rest = rest[..slash]; }
        long? chainId = null;
        var at = rest.IndexOf('@');
        if (at >= 0)
        {
            if (!long.TryParse(rest[(at + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var id) || id <= 0)
            { error = $"EIP-681 chain id '{rest[(at + 1)..]}' is not a positive integer."; return false; }
            chainId = id;
            rest = rest[..at];
        }
        if (!EvmAddress.TryParse(rest, out var target, out var addressError)) { error = $"EIP-681 target: {addressError} (ENS names are not supported)."; return false; }

        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var key = eq < 0 ? pair : pair[..eq];
            var value = eq < 0 ? string.Empty : Uri.UnescapeDataString(pair[(eq + 1)..]);
            if (!parameters.TryAdd(key, value)) { error = $"EIP-681 parameter '{key}' appears twice."; return false; }
        }

        if (function is null)
        {
            BigInteger amount = 0;
            if (parameters.TryGetValue("value", out var valueText) && !TryParseNumber(valueText, out amount, out error)) { error = "EIP-681 value: " + error; return false; }
            result = new EvmPaymentUri(target, chainId, null, amount);
            error = string.Empty;
            return true;
        }
        if (function != "transfer") { error = $"EIP-681 function '{function}' is not supported (only transfer)."; return false; }
        if (!parameters.TryGetValue("address", out var toText) || !EvmAddress.TryParse(toText, out var to, out var toError))
        { error = "EIP-681 transfer needs a valid 'address' parameter."; return false; }
        if (!parameters.TryGetValue("uint256", out var amountText)) { error = "EIP-681 transfer needs a 'uint256' amount."; return false; }
        if (!TryParseNumber(amountText, out var tokenAmount, out error)) { error = "EIP-681 uint256: " + error; return false; }
        if (parameters.TryGetValue("value", out var v) && !(TryParseNumber(v, out var nativeValue, out _) && nativeValue.IsZero))
        { error = "EIP-681 token transfer must not also send native value."; return false; }
        result = new EvmPaymentUri(target, chainId, to, tokenAmount);
        error = string.Empty;
        return true;
    }

    /// <summary>EIP-681 number: digits, optional fraction, optional exponent; must be a non-negative whole number.</summary>
    public static bool TryParseNumber(string text, out BigInteger value, out string error)
    {
        value = default;
        var s = text;
        var exponent = 0;
        var e = s.IndexOfAny(['e', 'E']);
        if (e >= 0)
        {
            var expText = s[(e + 1)..];
            if (expText.Length == 0) exponent = 0;
            else if (!int.TryParse(expText, NumberStyles.None, CultureInfo.InvariantCulture, out exponent) || exponent > 1000)
            { error = $"'{text}' has a bad exponent."; return false; }
            s = s[..e];
        }
        if (s.StartsWith('+')) s = s[1..];
        if (s.StartsWith('-')) { error = $"'{text}' is negative."; return false; }
        var dot = s.IndexOf('.');
        var intPart = dot < 0 ? s : s[..dot];
        var fracPart = dot < 0 ? string.Empty : s[(dot + 1)..];
        if ((intPart.Length == 0 && fracPart.Length == 0) || (dot >= 0 && fracPart.Length == 0) || !intPart.All(char.IsAsciiDigit) || !fracPart.All(char.IsAsciiDigit))
        { error = $"'{text}' is not a number."; return false; }
        var trimmedFrac = fracPart.TrimEnd('0');
        if (trimmedFrac.Length > exponent) { error = $"'{text}' is not a whole number of base units."; return false; }
        var digits = (intPart + trimmedFrac).TrimStart('0');
        value = digits.Length == 0 ? BigInteger.Zero
            : BigInteger.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture) * BigInteger.Pow(10, exponent - trimmedFrac.Length);
        error = string.Empty;
        return true;
    }

    private static long CheckChain(long chainId) => chainId > 0 ? chainId : throw new ArgumentOutOfRangeException(nameof(chainId), "Chain id must be positive.");

    private static BigInteger CheckAmount(BigInteger amount) => amount.Sign >= 0 ? amount : throw new ArgumentOutOfRangeException(nameof(amount), "Amount must not be negative.");
}
