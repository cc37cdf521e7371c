using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Molly.Domain;
using Molly.Domain.Payments;
using Molly.Storage;

namespace Molly.Payments;

public sealed class PaymentOptions
{
    /// <summary>The hosted checkout page's base URL; a payment's checkout URL is this plus "/checkout/{id}".</summary>
    public required string PublicBaseUrl { get; init; }

    public TimeSpan DefaultExpiry { get; init; } = TimeSpan.FromMinutes(15);
    public TimeSpan MinExpiry { get; init; } = TimeSpan.FromMinutes(1);
    public TimeSpan MaxExpiry { get; init; } = TimeSpan.FromDays(7);

    /// <summary>How long an idempotency key is remembered.</summary>
    public TimeSpan IdempotencyWindow { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Allow http:// redirect URLs (local development only).</summary>
    public bool AllowHttpRedirects { get; init; }
}

/// <summary>
/// Creating, reading and listing payments. A new payment, its order-id claim, its idempotency record, its watched address and its
/// <see cref="PaymentCreatedV1"/> outbox item are one store transaction: all are written or none.
/// </summary>
public sealed class PaymentService(
    IItemStore store,
    AssetRegistry assets,
    IDepositTargetFactory targets,
    PaymentOptions options,
    TimeProvider clock)
{
    public const int MaxOrderIdLength = 64;
    public const int MaxMetadataEntries = 20;
    public const int MaxMetadataKeyLength = 40;
    public const int MaxMetadataValueLength = 500;
    public const int MaxIdempotencyKeyLength = 128;

    private readonly DepositAddressAllocator _allocator = new(store);

    /// <param name="companion">A write committed in the same transaction as the payment, or not at all (the API passes the
    /// request signature's once-only record); when its condition fails, nothing is written and the outcome is
    /// <see cref="CreatePaymentOutcome.CompanionRejected"/>. Outcomes other than <see cref="CreatePaymentOutcome.Created"/> and
    /// that one did not write it.</param>
    public async Task<CreatePaymentOutcome> CreateAsync(
        MerchantPaymentSettings merchant, string? idempotencyKey, CreatePaymentCommand command, TransactOp? companion = null,
        CancellationToken ct = default)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(idempotencyKey) || idempotencyKey.Length > MaxIdempotencyKeyLength || !IsToken(idempotencyKey))
            errors["Idempotency-Key"] = [$"An Idempotency-Key header of 1 to {MaxIdempotencyKeyLength} letters, digits and '-_.:' is required."];
        var validated = Validate(merchant, command, errors);
        if (errors.Count > 0 || validated is null)
            return new CreatePaymentOutcome.Invalid(errors);

        var fingerprint = Fingerprint(command);
        var idemKey = Keys.Idempotency(merchant.MerchantId, idempotencyKey!);

        // A used idempotency key and a taken order id are found by the transaction's conditions (no read first: a retry is rare,
        // a create is not); either costs an address index, skipped like any index whose payment is not written. The idempotency
        // record's put comes before the order id's, so a retry (which repeats its order id) is answered as a replay.
        var orderKey = Keys.Order(merchant.MerchantId, command.MerchantOrderId!);
        var (asset, amount, expiry) = validated.Value;
        var now = clock.GetUtcNow();
        var id = NewId("pay", now);
        var index = await _allocator.AllocateAsync(asset.Chain, asset.Network, ct);
        var target = targets.Create(asset, index, amount, $"Order {command.MerchantOrderId}");
        var payment = new Payment(amount, now, now + expiry, merchant.UnderpaymentToleranceBps);
        var view = ToView(id, command.MerchantOrderId!, asset, payment, target, now, command.Metadata, command.RedirectUrl);

        var item = new Item(Keys.Payment(id))
        {
            ["merchantId"] = merchant.MerchantId,
            ["orderId"] = command.MerchantOrderId!,
            ["chain"] = asset.Chain,
            ["network"] = asset.Network,
            ["symbol"] = asset.Symbol,
            ["decimals"] = asset.Decimals,
            ["amount"] = amount.ToString(CultureInfo.InvariantCulture),
            ["received"] = "0",
            ["toleranceBps"] = merchant.UnderpaymentToleranceBps,
            ["status"] = StatusName(payment.Status),
            ["statusVersion"] = payment.StatusVersion,
            ["late"] = false,
            ["address"] = target.Address,
            ["addressIndex"] = index,
            ["path"] = target.DerivationPath,
            ["uri"] = target.PaymentUri,
            ["createdAt"] = Iso(now),
            ["expiresAt"] = Iso(payment.ExpiresAt),
            ["version"] = 1,
            [KeyNames.IndexPK("GSI1")] = Keys.MerchantPayments(merchant.MerchantId),
            [KeyNames.IndexSK("GSI1")] = Keys.ByTime(now, id),
            [KeyNames.IndexPK("GSI2")] = Keys.MerchantPaymentsByStatus(merchant.MerchantId, StatusName(payment.Status)),
            [KeyNames.IndexSK("GSI2")] = Keys.ByTime(now, id),
        };
        if (target.Reference is not null) item["reference"] = target.Reference;
        if (target.TokenAccount is not null) item["tokenAccount"] = target.TokenAccount;
        if (command.RedirectUrl is not null) item["redirectUrl"] = command.RedirectUrl;
        if (command.Metadata is { Count: > 0 })
            item["metadata"] = JsonSerializer.Serialize(new Dictionary<string, string>(command.Metadata), PaymentsJsonContext.Default.DictionaryStringString);

        var eventId = NewId("evt", now);
        var created = new PaymentCreatedV1(eventId, id, merchant.MerchantId, command.MerchantOrderId!, view.Status, payment.StatusVersion,
            view.Amount, asset.Symbol, asset.Chain, target.Address, now);
        // A Solana payment is watched by its reference (the recipient wallet is shared by its shard's payments): the item tells the
        // watcher which wallet, token account and mint the transfer that names the reference must pay.
        var watched = target.Reference ?? target.Address;
        var watchItem = new Item(Keys.WatchedAddress(asset.Chain, watched))
        {
            ["paymentId"] = id,
            ["symbol"] = asset.Symbol,
            ["network"] = asset.Network,
            ["address"] = watched,
            [KeyNames.IndexPK("GSI1")] = Keys.Watch(asset.Chain, AddressShards.ShardOf(index)),
            [KeyNames.IndexSK("GSI1")] = Keys.ByTime(now, watched),
        };
        if (target.Reference is not null)
        {
            watchItem["recipient"] = target.Address;
            if (target.TokenAccount is not null) watchItem["tokenAccount"] = target.TokenAccount;
            if (asset.Contract is not null) watchItem["mint"] = asset.Contract;
        }
        var ops = new List<TransactOp>(6)
        {
            TransactOp.Put(item, Condition.ItemAbsent),
            // The original response is the payment as created: its fields that never change plus the initial status, so the
            // record keeps the payment id rather than a second copy of the response.
            TransactOp.Put(new Item(idemKey)
            {
                ["fingerprint"] = fingerprint,
                ["paymentId"] = id,
                ["ttl"] = (now + options.IdempotencyWindow).ToUnixTimeSeconds(),
            }, Condition.ItemAbsent),
            TransactOp.Put(new Item(orderKey) { ["paymentId"] = id }, Condition.ItemAbsent),
            TransactOp.Put(watchItem, Condition.ItemAbsent),
            TransactOp.Put(new Item(Keys.Outbox(eventId))
            {
                ["type"] = nameof(PaymentCreatedV1),
                ["payload"] = JsonSerializer.Serialize(created, PaymentsJsonContext.Default.PaymentCreatedV1),
                ["occurredAt"] = Iso(now),
            }, Condition.ItemAbsent),
        };
        if (companion is not null) ops.Add(companion);

        try
        {
            await store.TransactWriteAsync(ops, ct);
            return new CreatePaymentOutcome.Created(view);
        }
        catch (ConditionFailedException e) when (e.OperationIndex == 1)
        {
            // An earlier (or concurrent) request with this idempotency key was written; answer as it did.
            return await Replay(idemKey, fingerprint, ct)
                ?? new CreatePaymentOutcome.Conflict("A request with this Idempotency-Key is in progress.");
        }
        catch (ConditionFailedException e) when (e.OperationIndex == 2)
        {
            return new CreatePaymentOutcome.Conflict($"Merchant order id '{command.MerchantOrderId}' already has a payment.");
        }
        catch (ConditionFailedException e) when (companion is not null && e.OperationIndex == ops.Count - 1)
        {
            return new CreatePaymentOutcome.CompanionRejected();
        }
    }

    public async Task<PaymentView?> GetAsync(string merchantId, string paymentId, CancellationToken ct = default)
    {
        if (!IsToken(paymentId) || paymentId.Length > 64) return null;
        var item = await store.GetAsync(Keys.Payment(paymentId), ct);
        // Another merchant's payment is indistinguishable from a missing one.
        return item is null || item.GetString("merchantId") != merchantId ? null : FromItem(paymentId, item);
    }

    /// <summary>A payment by its id alone, for the payer's checkout page (the id is the capability: 80 random bits).
    /// The caller shows the payer only what paying needs, never the merchant's metadata or order id.</summary>
    public async Task<PaymentView?> GetForPayerAsync(string paymentId, CancellationToken ct = default)
    {
        if (!IsToken(paymentId) || paymentId.Length > 64) return null;
        var item = await store.GetAsync(Keys.Payment(paymentId), ct);
        return item is null ? null : FromItem(paymentId, item);
    }

    /// <summary>Newest first; optionally one status; optionally created within [from, to].</summary>
    public async Task<Page<PaymentView>> ListAsync(string merchantId, PaymentStatus? status, DateTimeOffset? from, DateTimeOffset? to,
        int limit, string? cursor, CancellationToken ct = default)
    {
        var index = status is null ? "GSI1" : "GSI2";
        var partition = status is null ? Keys.MerchantPayments(merchantId) : Keys.MerchantPaymentsByStatus(merchantId, StatusName(status.Value));
        SortKeyCondition? range = from is null && to is null ? null : SortKeyCondition.Between(
            from is null ? "0" : Keys.ByTime(from.Value, ""),
            to is null ? "9" : Keys.ByTime(to.Value, "~"));
        var page = await store.QueryAsync(new Query(partition)
        {
            Index = index, SortKey = range, Descending = true, Limit = Math.Clamp(limit, 1, 100), Cursor = cursor,
        }, ct);
        var views = page.Items.Select(i => FromItem(i.PK["pay#".Length..], i)).ToList();
        return new Page<PaymentView>(views, page.Cursor);
    }

    public static string StatusName(PaymentStatus status) => status switch
    {
        PaymentStatus.PaidLate => "paid_late",
        _ => status.ToString().ToLowerInvariant(),
    };

    public static bool TryParseStatus(string? text, out PaymentStatus status)
    {
        foreach (var s in Enum.GetValues<PaymentStatus>())
        {
            if (StatusName(s) == text)
            {
                status = s;
                return true;
            }
        }
        status = default;
        return false;
    }

    private async Task<CreatePaymentOutcome?> Replay(ItemKey idemKey, string fingerprint, CancellationToken ct)
    {
        var earlier = await store.GetAsync(idemKey, ct);
        if (earlier is null) return null;
        if (earlier.GetString("fingerprint") != fingerprint)
            return new CreatePaymentOutcome.Conflict("This Idempotency-Key was used with a different request.");
        // Records written before they kept the payment id hold the response itself (until their ttl).
        if (earlier.GetString("response") is { } stored)
            return new CreatePaymentOutcome.Replayed(JsonSerializer.Deserialize(stored, PaymentsJsonContext.Default.PaymentView)!);
        var paymentId = earlier.RequireString("paymentId");
        var payment = await store.GetAsync(Keys.Payment(paymentId), ct)
            ?? throw new InvalidDataException($"Idempotency record {idemKey} names payment {paymentId}, which does not exist.");
        return new CreatePaymentOutcome.Replayed(AsCreated(FromItem(paymentId, payment)));
    }

    private (Asset Asset, BigInteger Amount, TimeSpan Expiry)? Validate(
        MerchantPaymentSettings merchant, CreatePaymentCommand c, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(c.MerchantOrderId))
            errors["merchantOrderId"] = ["A merchant order id is required."];
        else if (c.MerchantOrderId.Length > MaxOrderIdLength || !IsToken(c.MerchantOrderId))
            errors["merchantOrderId"] = [$"A merchant order id is 1 to {MaxOrderIdLength} letters, digits and '-_.:'."];

        Asset? asset = null;
        if (!assets.TryFind(c.Chain, c.Asset, out asset, out var assetError))
            errors[c.Asset is null ? "asset" : c.Chain is null || assetError.StartsWith("Unknown chain", StringComparison.Ordinal) ? "chain" : "asset"] = [assetError];
        else if (!merchant.AcceptedAssets.Contains(asset.Id))
            errors["asset"] = [$"This merchant does not accept {asset.Id}."];

        var amount = BigInteger.Zero;
        if (c.Amount is null)
            errors["amount"] = ["An amount is required, as a decimal string."];
        else if (asset is not null)
        {
            if (!Amount.TryParse(c.Amount, asset.Decimals, out amount, out var amountError))
                errors["amount"] = [amountError];
            else if (amount.Sign == 0)
                errors["amount"] = ["The amount must be more than zero."];
        }

        var expiry = options.DefaultExpiry;
        if (c.ExpiresInSeconds is { } seconds)
        {
            expiry = TimeSpan.FromSeconds(seconds);
            if (expiry < options.MinExpiry || expiry > options.MaxExpiry)
                errors["expiresInSeconds"] = [$"Expiry is {options.MinExpiry.TotalSeconds:F0} to {options.MaxExpiry.TotalSeconds:F0} seconds."];
        }

        if (c.Metadata is { } metadata)
        {
            if (metadata.Count > MaxMetadataEntries)
                errors["metadata"] = [$"At most {MaxMetadataEntries} metadata entries."];
            else if (metadata.Any(kv => kv.Key.Length is 0 or > MaxMetadataKeyLength || kv.Value is null || kv.Value.Length > MaxMetadataValueLength))
                errors["metadata"] = [$"Metadata keys are 1 to {MaxMetadataKeyLength} characters and values at most {MaxMetadataValueLength}."];
        }

        if (c.RedirectUrl is not null)
        {
            var ok = Uri.TryCreate(c.RedirectUrl, UriKind.Absolute, out var uri) && c.RedirectUrl.Length <= 2048
                && (uri.Scheme == Uri.UriSchemeHttps || (options.AllowHttpRedirects && uri.Scheme == Uri.UriSchemeHttp))
                && string.IsNullOrEmpty(uri.UserInfo);
            if (!ok) errors["redirectUrl"] = ["The redirect URL must be an absolute https URL without credentials."];
        }

        return errors.Count == 0 && asset is not null ? (asset, amount, expiry) : null;
    }

    private PaymentView ToView(string id, string orderId, Asset asset, Payment p, DepositTarget target, DateTimeOffset createdAt,
        IReadOnlyDictionary<string, string>? metadata, string? redirectUrl) =>
        new(id, orderId, StatusName(p.Status), p.StatusVersion,
            Molly.Domain.Amount.Format(p.Amount, asset.Decimals), Molly.Domain.Amount.Format(p.Received, asset.Decimals),
            asset.Symbol, asset.Chain, asset.Network, target.Address, target.PaymentUri, target.Reference,
            CheckoutUrl(id), createdAt, p.ExpiresAt, metadata is { Count: > 0 } ? new Dictionary<string, string>(metadata) : null, redirectUrl);

    /// <summary>The view as <see cref="CreateAsync"/> first answered it: a new payment's status, status version and nothing received.</summary>
    private static PaymentView AsCreated(PaymentView current)
    {
        var initial = new Payment(BigInteger.One, current.CreatedAt, current.ExpiresAt);
        return current with
        {
            Status = StatusName(initial.Status), StatusVersion = initial.StatusVersion, AmountReceived = Molly.Domain.Amount.Format(initial.Received, 0),
        };
    }

    private PaymentView FromItem(string id, Item i)
    {
        var decimals = (int)i.RequireNumber("decimals");
        var metadataJson = i.GetString("metadata");
        return new PaymentView(
            id, i.RequireString("orderId"), i.RequireString("status"), i.GetInt64("statusVersion") ?? 0,
            Molly.Domain.Amount.Format(BigInteger.Parse(i.RequireString("amount"), CultureInfo.InvariantCulture), decimals),
            Molly.Domain.Amount.Format(BigInteger.Parse(i.GetString("received") ?? "0", CultureInfo.InvariantCulture), decimals),
            i.RequireString("symbol"), i.RequireString("chain"), i.RequireString("network"), i.RequireString("address"),
            i.RequireString("uri"), i.GetString("reference"), CheckoutUrl(id),
            DateTimeOffset.Parse(i.RequireString("createdAt"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
            DateTimeOffset.Parse(i.RequireString("expiresAt"), CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind),
            metadataJson is null ? null : JsonSerializer.Deserialize(metadataJson, PaymentsJsonContext.Default.DictionaryStringString),
            i.GetString("redirectUrl"));
    }

    private string CheckoutUrl(string id) => $"{options.PublicBaseUrl.TrimEnd('/')}/checkout/{id}";

    /// <summary>A canonical hash of the request, so the same request with its JSON fields in another order still matches.</summary>
    private static string Fingerprint(CreatePaymentCommand c)
    {
        var canonical = c with { Metadata = c.Metadata?.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary() };
        var json = JsonSerializer.SerializeToUtf8Bytes(canonical, PaymentsJsonContext.Default.CreatePaymentCommand);
        return Convert.ToHexStringLower(SHA256.HashData(json));
    }

    /// <summary>Ids sort by creation time (millisecond prefix) and carry 80 random bits: "pay_0192f3c4a1b2_9f2c...".</summary>
    private static string NewId(string prefix, DateTimeOffset now) =>
        $"{prefix}_{now.ToUnixTimeMilliseconds():x12}{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(10))}";

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static bool IsToken(string s)
    {
        foreach (var ch in s)
            if (!(char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.' or ':')) return false;
        return true;
    }
}
