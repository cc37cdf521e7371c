using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace Molly.Chains.Solana;

/// <summary>
/// A Solana Pay transfer request: <c>solana:&lt;recipient&gt;?amount=&lt;decimal&gt;&amp;spl-token=&lt;mint&gt;&amp;reference=&lt;key&gt;&amp;label=..&amp;message=..&amp;memo=..</c>.
/// The URI carries the amount in whole units as a decimal (no exponent); this type holds it as integer base units with
/// the asset's decimals (SOL: 9) and converts exactly, rejecting more fraction digits than the asset has.
/// </summary>
public sealed record SolanaPayUri(
    SolanaAddress Recipient, BigInteger? AmountBaseUnits, int Decimals, SolanaAddress? SplToken,
    IReadOnlyList<SolanaAddress> References, string? Label = null, string? Message = null, string? Memo = null)
{
    public const int SolDecimals = 9;

    public override string ToString()
    {
        var parts = new List<string>();
        if (AmountBaseUnits is { } amount) parts.Add("amount=" + FormatAmount(amount, Decimals));
        if (SplToken is not null) parts.Add("spl-token=" + SplToken);
        parts.AddRange(References.Select(r => "reference=" + r));
        if (Label is not null) parts.Add("label=" + Uri.EscapeDataString(Label));
        if (Message is not null) parts.Add("message=" + Uri.EscapeDataString(Message));
        if (Memo is not null) parts.Add("memo=" + Uri.EscapeDataString(Memo));
        return "solana:" + Recipient + (parts.Count > 0 ? "?" + string.Join('&', parts) : string.Empty);
    }

    /// <summary>Parses a transfer request; <paramref name="decimals"/> is the asset's (9 for SOL, the mint's for SPL tokens).</summary>
    public static bool TryParse([NotNullWhen(true)] string? uri, int decimals, [MaybeNullWhen(false)] out SolanaPayUri result, out string error)
    {
        result = null;
        if (uri is null || !uri.StartsWith("solana:", StringComparison.Ordinal)) { error = "Solana Pay URI must start with 'solana:'."; return false; }
        var rest = uri["solana:".Length..];
        var q = rest.IndexOf('?');
        var query = q < 0 ? string.Empty : rest[(q + 1)..];
        if (q >= 0) rest = rest[..q];
        if (!SolanaAddress.TryParse(rest, out var recipient, out var addressError)) { error = "Solana Pay recipient: " + addressError; return false; }
        BigInteger? amount = null;
        SolanaAddress? token = null;
        var references = new List<SolanaAddress>();
        string? label = null, message = null, memo = null;
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var key = eq < 0 ? pair : pair[..eq];
            var value = eq < 0 ? string.Empty : Uri.UnescapeDataString(pair[(eq + 1)..]);
            switch (key)
            {
                case "amount" when amount is null:
                    if (!TryParseAmount(value, decimals, out var a, out error)) return false;
                    amount = a;
                    break;
                case "spl-token" when token is null:
                    if (!SolanaAddress.TryParse(value, out token, out error)) { error = "spl-token: " + error; return false; }
                    break;
                case "reference":
                    if (!SolanaAddress.TryParse(value, out var r, out error)) { error = "reference: " + error; return false; }
                    references.Add(r);
                    break;
                case "label" when label is null: label = value; break;
                case "message" when message is null: message = value; break;
                case "memo" when memo is null: memo = value; break;
                case "amount" or "spl-token" or "label" or "message" or "memo":
                    error = $"Solana Pay parameter '{key}' appears twice."; return false;
            }
        }
        result = new SolanaPayUri(recipient, amount, decimals, token, references, label, message, memo);
        error = string.Empty;
        return true;
    }

    public static string FormatAmount(BigInteger baseUnits, int decimals)
    {
        if (baseUnits.Sign < 0) throw new ArgumentOutOfRangeException(nameof(baseUnits), "Amount must not be negative.");
        var digits = baseUnits.ToString(CultureInfo.InvariantCulture).PadLeft(decimals + 1, '0');
        var whole = digits[..^decimals];
        var fraction = decimals == 0 ? string.Empty : digits[^decimals..].TrimEnd('0');
        return fraction.Length == 0 ? whole : whole + "." + fraction;
    }

    /// <summary>Exact decimal -> base units; no sign, no exponent, a leading digit before '.', at most <paramref name="decimals"/> fraction digits.</summary>
    public static bool TryParseAmount(string text, int decimals, out BigInteger baseUnits, out string error)
    {
        baseUnits = default;
        var dot = text.IndexOf('.');
        var whole = dot < 0 ? text : text[..dot];
        var fraction = dot < 0 ? string.Empty : text[(dot + 1)..];
        if (whole.Length == 0 || !whole.All(char.IsAsciiDigit) || !fraction.All(char.IsAsciiDigit) || (dot >= 0 && fraction.Length == 0))
        { error = $"Solana Pay amount '{text}' is not a plain decimal number."; return false; }
        if (fraction.Length > decimals) { error = $"Solana Pay amount '{text}' has more than {decimals} decimal places."; return false; }
        baseUnits = BigInteger.Parse(whole + fraction.PadRight(decimals, '0'), NumberStyles.None, CultureInfo.InvariantCulture);
        error = string.Empty;
        return true;
    }
}
