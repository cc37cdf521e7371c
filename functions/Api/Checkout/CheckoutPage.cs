using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Molly.Payments;
using QRCoder;

namespace Molly.Api.Checkout;

/// <summary>What the page's script reads: where to poll, the expiry, the server's clock, the status texts.</summary>
public sealed record CheckoutScriptData(
    string StatusUrl, DateTimeOffset ExpiresAt, DateTimeOffset Now, string Status, int PollMilliseconds,
    string Copied, IReadOnlyDictionary<string, string> Statuses);

/// <summary>
/// The server-rendered checkout page: plain HTML, a small stylesheet and a small script, both allowed by the response's
/// CSP nonce only. Everything echoed is HTML-encoded; the script's data is JSON whose encoder escapes &lt;, &gt;, &amp; and
/// quotes, and the script writes only textContent and href (never HTML).
/// </summary>
public static class CheckoutPage
{
    public const int PollMilliseconds = 3000;

    private static readonly string[] Statuses = ["created", "detected", "confirming", "paid", "overpaid", "paid_late", "underpaid", "expired"];

    // Encodes <, >, &, quotes; leaves CJK text readable (the default encoder would turn every such character into an entity).
    private static readonly HtmlEncoder Html = HtmlEncoder.Create(UnicodeRanges.All);

    /// <summary>Chain ids as the payer knows them; these are names, the same in every language.</summary>
    private static readonly Dictionary<string, string> ChainNames = new(StringComparer.Ordinal)
    {
        ["ethereum"] = "Ethereum", ["bsc"] = "BNB Smart Chain", ["polygon"] = "Polygon", ["tron"] = "Tron",
        ["solana"] = "Solana", ["bitcoin"] = "Bitcoin", ["litecoin"] = "Litecoin",
    };

    public static bool IsPaid(string status) => status is "paid" or "overpaid" or "paid_late";

    /// <summary>The redirect URL if it is an absolute http(s) URL, else null (never a javascript: or data: link).</summary>
    public static string? SafeRedirect(string? url) =>
        url is not null && Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? uri.AbsoluteUri : null;

    public static string ChainName(string chain, string network) =>
        (ChainNames.TryGetValue(chain, out var name) ? name : chain) + (network == "mainnet" ? "" : $" ({network})");

    /// <summary>The payment URI as an inline SVG QR code (QRCoder; medium error correction; sized by a viewBox).</summary>
    public static string QrSvg(string paymentUri)
    {
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(paymentUri, QRCodeGenerator.ECCLevel.M);
        using var svg = new SvgQRCode(data);
        return svg.GetGraphic(8, "#000000", "#ffffff", drawQuietZones: true, sizingMode: SvgQRCode.SizingMode.ViewBoxAttribute);
    }

    public static string Render(PaymentView p, CheckoutText t, string nonce, DateTimeOffset now)
    {
        // The expiry worker marks a payment expired a little after its time; the page says so from the first second.
        var status = p.Status == "created" && now >= p.ExpiresAt ? "expired" : p.Status;
        var paid = IsPaid(status);
        var redirect = SafeRedirect(p.RedirectUrl);
        var data = new CheckoutScriptData($"/checkout/{p.Id}/status", p.ExpiresAt, now, p.Status, PollMilliseconds, t.Copied,
            Statuses.ToDictionary(s => s, t.StatusText));
        var b = new StringBuilder(16 * 1024);
        Head(b, t, nonce, t.Title, $"/checkout/{p.Id}");
        b.Append("<main data-status=\"").Append(E(status)).Append("\">\n<h1>").Append(E(t.Title)).Append("</h1>\n");
        b.Append("<p class=\"amount\"><span class=\"label\">").Append(E(t.Amount)).Append("</span> <strong id=\"amount\">")
            .Append(E(p.Amount)).Append("</strong> <strong id=\"asset\">").Append(E(p.Asset)).Append("</strong></p>\n");
        b.Append("<p><span class=\"label\">").Append(E(t.Network)).Append("</span> <span id=\"chain\">")
            .Append(E(ChainName(p.Chain, p.Network))).Append("</span></p>\n");

        b.Append("<section id=\"pending\"").Append(paid || status == "expired" ? " hidden" : "").Append(">\n<p>").Append(E(t.Instruction)).Append("</p>\n");
        b.Append("<figure id=\"qr\" aria-label=\"").Append(E(t.ScanQr)).Append("\">").Append(QrSvg(p.PaymentUri))
            .Append("<figcaption>").Append(E(t.ScanQr)).Append("</figcaption></figure>\n");
        // A payment told apart by its reference key (Solana Pay) shares its address with others: no copy button, a warning.
        b.Append("<p class=\"label\">").Append(E(t.Address)).Append("</p>\n<p class=\"address\"><code id=\"address\">").Append(E(p.Address))
            .Append("</code>").Append(p.Reference is null ? $" <button type=\"button\" id=\"copy\">{E(t.Copy)}</button>" : "").Append("</p>\n");
        if (p.Reference is not null) b.Append("<p id=\"wallet-only\" class=\"note\">").Append(E(t.WalletOnly)).Append("</p>\n");
        b.Append("<p><a id=\"wallet\" href=\"").Append(E(p.PaymentUri)).Append("\">").Append(E(t.OpenInWallet)).Append("</a></p>\n");
        b.Append("<p><span class=\"label\">").Append(E(t.TimeLeft)).Append("</span> <strong id=\"countdown\">")
            .Append(Countdown(p.ExpiresAt - now)).Append("</strong></p>\n</section>\n");

        b.Append("<p><span class=\"label\">").Append(E(t.Status)).Append("</span> <strong id=\"status\">").Append(E(t.StatusText(status)))
            .Append("</strong></p>\n");
        b.Append("<section id=\"paid\"").Append(paid ? "" : " hidden").Append(">\n<p class=\"done\">✓ ").Append(E(t.StatusPaid)).Append("</p>\n");
        b.Append("<p><a id=\"return\" href=\"").Append(E(redirect ?? "#")).Append('"').Append(paid && redirect is not null ? "" : " hidden")
            .Append('>').Append(E(t.ReturnToMerchant)).Append("</a></p>\n</section>\n</main>\n");

        b.Append("<script type=\"application/json\" id=\"checkout-data\">")
            .Append(JsonSerializer.Serialize(data, CheckoutJsonContext.Default.CheckoutScriptData)).Append("</script>\n");
        b.Append("<script nonce=\"").Append(nonce).Append("\">").Append(Script).Append("</script>\n</body>\n</html>\n");
        return b.ToString();
    }

    public static string RenderNotFound(CheckoutText t, string nonce, string path)
    {
        var b = new StringBuilder(2048);
        Head(b, t, nonce, t.NotFoundTitle, path);
        b.Append("<main>\n<h1>").Append(E(t.NotFoundTitle)).Append("</h1>\n<p>").Append(E(t.NotFoundText)).Append("</p>\n</main>\n</body>\n</html>\n");
        return b.ToString();
    }

    /// <summary>"4:59", "1:04:59"; what the script shows too (it replaces this every second).</summary>
    public static string Countdown(TimeSpan left)
    {
        var s = (long)Math.Max(0, Math.Floor(left.TotalSeconds));
        var (h, m, sec) = (s / 3600, s % 3600 / 60, s % 60);
        return h > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{h}:{m:00}:{sec:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{m}:{sec:00}");
    }

    private static void Head(StringBuilder b, CheckoutText t, string nonce, string title, string path)
    {
        b.Append("<!doctype html>\n<html lang=\"").Append(E(t.HtmlLang)).Append("\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"robots\" content=\"noindex\">\n<title>")
            .Append(E(title)).Append("</title>\n<style nonce=\"").Append(nonce).Append("\">").Append(Style).Append("</style>\n</head>\n<body>\n");
        b.Append("<nav>");
        foreach (var lang in CheckoutText.All)
        {
            b.Append(lang == t ? "<strong lang=\"" : "<a lang=\"").Append(E(lang.HtmlLang)).Append('"');
            if (lang != t) b.Append(" href=\"").Append(E(path)).Append("?lang=").Append(lang.Code).Append('"');
            b.Append('>').Append(E(lang.Name)).Append(lang == t ? "</strong> " : "</a> ");
        }
        b.Append("</nav>\n");
    }

    private static string E(string text) => Html.Encode(text);

    private const string Style =
        "body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d1f23}" +
        "main{max-width:28rem;margin:1rem auto;padding:1.25rem;background:#fff;border-radius:.75rem;box-shadow:0 1px 4px #0002}" +
        "nav{text-align:center;padding:.5rem;font-size:.85rem}nav a,nav strong{margin:0 .35rem}" +
        "h1{font-size:1.3rem;margin:0 0 1rem}.label{color:#5c6370;font-size:.9rem}.amount strong{font-size:1.5rem}" +
        "figure{margin:1rem auto;max-width:16rem;text-align:center}figure svg{width:100%;height:auto}figcaption{font-size:.85rem;color:#5c6370}" +
        ".address{display:flex;gap:.5rem;align-items:center}code{word-break:break-all;font-size:.95rem}" +
        "button{padding:.35rem .8rem;border:1px solid #888;border-radius:.4rem;background:#fff;cursor:pointer}" +
        ".note{background:#fff4d6;padding:.5rem .75rem;border-radius:.4rem;font-size:.9rem}.done{font-size:1.4rem;color:#12813a}[hidden]{display:none!important}";

    // The countdown uses the server's clock (the payer's may be wrong); polling stops once the payment is paid.
    private const string Script = """
(function () {
  var d = JSON.parse(document.getElementById('checkout-data').textContent);
  var skew = Date.parse(d.now) - Date.now(), expires = Date.parse(d.expiresAt), status = d.status, left = 1, redirect = null;
  var $ = function (id) { return document.getElementById(id); };
  function paid(s) { return s === 'paid' || s === 'overpaid' || s === 'paid_late'; }
  function two(n) { return (n < 10 ? '0' : '') + n; }
  function render() {
    var s = status === 'created' && left === 0 ? 'expired' : status; // the server marks it expired a little later
    document.querySelector('main').setAttribute('data-status', s);
    $('status').textContent = d.statuses[s] || s;
    $('pending').hidden = paid(s) || s === 'expired'; // no address or QR code once nothing should be sent
    if (paid(s)) {
      $('paid').hidden = false;
      if (redirect) { $('return').href = redirect; $('return').hidden = false; }
    }
  }
  function tick() {
    left = Math.max(0, Math.floor((expires - (Date.now() + skew)) / 1000));
    var h = Math.floor(left / 3600), m = Math.floor(left % 3600 / 60), x = left % 60;
    $('countdown').textContent = (h > 0 ? h + ':' + two(m) : m) + ':' + two(x);
    render();
  }
  function poll() {
    fetch(d.statusUrl, { headers: { accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j) return;
        status = j.status;
        if (j.redirectUrl && /^https?:\/\//i.test(j.redirectUrl)) redirect = j.redirectUrl;
        render();
      }, function () { })
      .then(function () { if (!paid(status)) setTimeout(poll, d.pollMilliseconds); });
  }
  if ($('copy')) $('copy').addEventListener('click', function () {
    var text = $('address').textContent, button = $('copy');
    var done = function () { button.textContent = d.copied; };
    if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, function () { });
    else { var r = document.createRange(); r.selectNodeContents($('address')); getSelection().removeAllRanges(); getSelection().addRange(r); }
  });
  if (!paid(status)) { tick(); var timer = setInterval(function () { if (paid(status)) clearInterval(timer); else tick(); }, 1000); setTimeout(poll, d.pollMilliseconds); }
})();
""";
}
