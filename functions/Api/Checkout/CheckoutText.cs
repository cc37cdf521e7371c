namespace Molly.Api.Checkout;

/// <summary>
/// Every string of the checkout page in one language. The members are required, so a language that misses one does not
/// compile. Chain and asset names are proper nouns and stay as they are.
/// </summary>
public sealed record CheckoutText
{
    /// <summary>The <c>?lang=</c> code: en, zh, ja, nl.</summary>
    public required string Code { get; init; }

    /// <summary>The value of <c>&lt;html lang&gt;</c> (BCP 47).</summary>
    public required string HtmlLang { get; init; }

    /// <summary>The language's own name, for the language links.</summary>
    public required string Name { get; init; }

    public required string Title { get; init; }
    public required string Instruction { get; init; }
    public required string Amount { get; init; }
    public required string Network { get; init; }
    public required string Address { get; init; }
    public required string Copy { get; init; }
    public required string Copied { get; init; }
    public required string ScanQr { get; init; }
    public required string OpenInWallet { get; init; }

    /// <summary>For payments told apart by a reference key (Solana Pay): the address alone does not identify the payment.</summary>
    public required string WalletOnly { get; init; }
    public required string TimeLeft { get; init; }
    public required string Status { get; init; }
    public required string Received { get; init; }
    public required string ReturnToMerchant { get; init; }
    public required string NotFoundTitle { get; init; }
    public required string NotFoundText { get; init; }

    public required string StatusCreated { get; init; }
    public required string StatusDetected { get; init; }
    public required string StatusConfirming { get; init; }
    public required string StatusPaid { get; init; }
    public required string StatusOverpaid { get; init; }
    public required string StatusPaidLate { get; init; }
    public required string StatusUnderpaid { get; init; }
    public required string StatusExpired { get; init; }

    /// <summary>The text of a payment status as the API names it ("paid_late").</summary>
    public string StatusText(string status) => status switch
    {
        "created" => StatusCreated,
        "detected" => StatusDetected,
        "confirming" => StatusConfirming,
        "paid" => StatusPaid,
        "overpaid" => StatusOverpaid,
        "paid_late" => StatusPaidLate,
        "underpaid" => StatusUnderpaid,
        "expired" => StatusExpired,
        _ => status,
    };

    public static readonly CheckoutText English = new()
    {
        Code = "en", HtmlLang = "en", Name = "English",
        Title = "Payment",
        Instruction = "Send exactly this amount to the address below.",
        Amount = "Amount",
        Network = "Network",
        Address = "Deposit address",
        Copy = "Copy",
        Copied = "Copied",
        ScanQr = "Scan with your wallet",
        OpenInWallet = "Open in wallet",
        WalletOnly = "Pay with a wallet that scans this QR code or opens the link: a transfer typed in by hand cannot be matched to this payment.",
        TimeLeft = "Time left",
        Status = "Status",
        Received = "Received",
        ReturnToMerchant = "Return to the merchant",
        NotFoundTitle = "Payment not found",
        NotFoundText = "Check the link you were given.",
        StatusCreated = "Waiting for payment",
        StatusDetected = "Payment detected, waiting for confirmations",
        StatusConfirming = "Confirming payment",
        StatusPaid = "Paid",
        StatusOverpaid = "Paid (more than the amount due)",
        StatusPaidLate = "Paid after expiry",
        StatusUnderpaid = "Underpaid: contact the merchant",
        StatusExpired = "Expired: do not send funds to this address",
    };

    public static readonly CheckoutText Chinese = new()
    {
        Code = "zh", HtmlLang = "zh-Hans", Name = "中文",
        Title = "付款",
        Instruction = "请向以下地址转入准确的金额。",
        Amount = "金额",
        Network = "网络",
        Address = "收款地址",
        Copy = "复制",
        Copied = "已复制",
        ScanQr = "使用钱包扫码",
        OpenInWallet = "在钱包中打开",
        WalletOnly = "请使用能扫描此二维码或打开此链接的钱包付款：手动输入的转账无法与此笔付款匹配。",
        TimeLeft = "剩余时间",
        Status = "状态",
        Received = "已收到",
        ReturnToMerchant = "返回商家",
        NotFoundTitle = "未找到该付款",
        NotFoundText = "请检查您收到的链接。",
        StatusCreated = "等待付款",
        StatusDetected = "已检测到付款，等待确认",
        StatusConfirming = "正在确认付款",
        StatusPaid = "已付款",
        StatusOverpaid = "已付款（超出应付金额）",
        StatusPaidLate = "已付款（已过期后到账）",
        StatusUnderpaid = "付款不足：请联系商家",
        StatusExpired = "已过期：请勿再向此地址转账",
    };

    public static readonly CheckoutText Japanese = new()
    {
        Code = "ja", HtmlLang = "ja", Name = "日本語",
        Title = "お支払い",
        Instruction = "下記のアドレスへ正確な金額を送金してください。",
        Amount = "金額",
        Network = "ネットワーク",
        Address = "入金アドレス",
        Copy = "コピー",
        Copied = "コピーしました",
        ScanQr = "ウォレットでスキャン",
        OpenInWallet = "ウォレットで開く",
        WalletOnly = "このQRコードを読み取るか、リンクを開けるウォレットでお支払いください。手入力による送金はこのお支払いと照合できません。",
        TimeLeft = "残り時間",
        Status = "ステータス",
        Received = "受取済み",
        ReturnToMerchant = "ショップに戻る",
        NotFoundTitle = "お支払いが見つかりません",
        NotFoundText = "受け取ったリンクをご確認ください。",
        StatusCreated = "お支払い待ち",
        StatusDetected = "入金を検出しました。承認を待っています",
        StatusConfirming = "入金を確認中",
        StatusPaid = "お支払い完了",
        StatusOverpaid = "お支払い完了（請求額を超過）",
        StatusPaidLate = "お支払い完了（期限後の入金）",
        StatusUnderpaid = "金額が不足しています。ショップにお問い合わせください",
        StatusExpired = "期限切れです。このアドレスには送金しないでください",
    };

    public static readonly CheckoutText Dutch = new()
    {
        Code = "nl", HtmlLang = "nl", Name = "Nederlands",
        Title = "Betaling",
        Instruction = "Stuur precies dit bedrag naar het adres hieronder.",
        Amount = "Bedrag",
        Network = "Netwerk",
        Address = "Stortingsadres",
        Copy = "Kopiëren",
        Copied = "Gekopieerd",
        ScanQr = "Scan met je wallet",
        OpenInWallet = "Openen in wallet",
        WalletOnly = "Betaal met een wallet die deze QR-code scant of de link opent: een met de hand ingevoerde overboeking kan niet aan deze betaling worden gekoppeld.",
        TimeLeft = "Resterende tijd",
        Status = "Status",
        Received = "Ontvangen",
        ReturnToMerchant = "Terug naar de winkel",
        NotFoundTitle = "Betaling niet gevonden",
        NotFoundText = "Controleer de link die je hebt gekregen.",
        StatusCreated = "Wacht op betaling",
        StatusDetected = "Betaling gezien, wacht op bevestigingen",
        StatusConfirming = "Betaling wordt bevestigd",
        StatusPaid = "Betaald",
        StatusOverpaid = "Betaald (meer dan het verschuldigde bedrag)",
        StatusPaidLate = "Betaald na de vervaltijd",
        StatusUnderpaid = "Te weinig betaald: neem contact op met de winkel",
        StatusExpired = "Verlopen: stuur geen geld meer naar dit adres",
    };

    public static readonly IReadOnlyList<CheckoutText> All = [English, Chinese, Japanese, Dutch];

    /// <summary><c>?lang=</c> first, then Accept-Language by quality (a region is ignored: zh-CN is zh), then English.</summary>
    public static CheckoutText Choose(string? lang, IList<Microsoft.Net.Http.Headers.StringWithQualityHeaderValue> acceptLanguage)
    {
        if (Find(lang) is { } asked) return asked;
        foreach (var range in acceptLanguage.Where(r => r.Quality is not 0).OrderByDescending(r => r.Quality ?? 1))
            if (Find(range.Value.Value) is { } accepted) return accepted;
        return English;
    }

    private static CheckoutText? Find(string? tag)
    {
        if (string.IsNullOrEmpty(tag)) return null;
        var primary = tag.Split('-', 2)[0];
        return All.FirstOrDefault(t => string.Equals(t.Code, primary, StringComparison.OrdinalIgnoreCase));
    }
}
