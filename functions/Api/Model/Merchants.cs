using System.Globalization;
using System.Text.Json;
using Molly.Storage;

namespace Molly.Api.Model;

public sealed record Merchant(MerchantId Id, string Name, string? ContactEmail, string Status, DateTimeOffset CreatedAt);

/// <summary>Emitted (as an outbox item in the same transaction) when a merchant is created.</summary>
public sealed record MerchantCreatedV1(string MerchantId, string Name, DateTimeOffset CreatedAt);

public abstract record CreateMerchantOutcome
{
    public sealed record Created(Merchant Merchant) : CreateMerchantOutcome;
    public sealed record NameTaken(string Name) : CreateMerchantOutcome;
}

/// <summary>
/// Merchant accounts. Creating one writes, in ONE transaction: the profile, the claim on its (case-insensitive) name,
/// and a <see cref="MerchantCreatedV1"/> outbox event: all three or none.
/// </summary>
public sealed class Merchants(IItemStore store, TimeProvider clock)
{
    public const int MaxNameLength = 100;

    /// <summary>Validates and normalises a merchant's input; returns the problem (field, message) or null.</summary>
    public static (string Field, string Message)? Validate(string name, string? contactEmail)
    {
        var trimmed = name.Trim();
        if (trimmed.Length == 0) return ("name", "must not be empty");
        if (trimmed.Length > MaxNameLength) return ("name", $"must be at most {MaxNameLength} characters");
        if (trimmed.Any(char.IsControl)) return ("name", "must not contain control characters");
        if (contactEmail is not null)
        {
            var at = contactEmail.IndexOf('@');
            if (contactEmail.Length > 254 || at <= 0 || at != contactEmail.LastIndexOf('@') || at == contactEmail.Length - 1
                || contactEmail.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
                return ("contactEmail", "must be an e-mail address");
        }
        return null;
    }

    public static string NormalizeName(string name) => name.Trim().ToLowerInvariant();

    public async Task<CreateMerchantOutcome> CreateAsync(string name, string? contactEmail, CancellationToken ct)
    {
        var merchant = new Merchant(MerchantId.New(), name.Trim(), contactEmail, "active", clock.GetUtcNow());
        var createdAt = merchant.CreatedAt.ToString("O", CultureInfo.InvariantCulture);
        var profile = new Item(TableKeys.Merchant(merchant.Id))
        {
            [Attr.Type] = "Merchant",
            [Attr.Name] = merchant.Name,
            [Attr.Status] = merchant.Status,
            [Attr.CreatedAt] = createdAt,
            [Attr.Version] = 1,
            [KeyNames.IndexPK("GSI1")] = TableKeys.MerchantsIndexPartition,
            [KeyNames.IndexSK("GSI1")] = createdAt + "#" + merchant.Id.Value,
        };
        if (contactEmail is not null) profile[Attr.ContactEmail] = contactEmail;
        var claim = new Item(TableKeys.MerchantName(NormalizeName(name)))
        {
            [Attr.Type] = "MerchantName",
            [Attr.MerchantId] = merchant.Id.Value,
        };
        var evt = new Item(TableKeys.MerchantEvent(merchant.Id, 1, nameof(MerchantCreatedV1)))
        {
            [Attr.Type] = nameof(MerchantCreatedV1),
            [Attr.MerchantId] = merchant.Id.Value,
            [Attr.CreatedAt] = createdAt,
            [Attr.Payload] = JsonSerializer.Serialize(new MerchantCreatedV1(merchant.Id.Value, merchant.Name, merchant.CreatedAt),
                ModelJsonContext.Default.MerchantCreatedV1),
        };
        try
        {
            await store.TransactWriteAsync(
            [
                TransactOp.Put(claim, Condition.ItemAbsent),
                TransactOp.Put(profile, Condition.ItemAbsent),
                TransactOp.Put(evt, Condition.ItemAbsent),
            ], ct);
        }
        catch (ConditionFailedException e) when (e.OperationIndex == 0)
        {
            return new CreateMerchantOutcome.NameTaken(merchant.Name);
        }
        return new CreateMerchantOutcome.Created(merchant);
    }

    public async Task<Merchant?> FindAsync(MerchantId id, CancellationToken ct)
    {
        var item = await store.GetAsync(TableKeys.Merchant(id), ct);
        return item is null
            ? null
            : new Merchant(id, item.RequireString(Attr.Name), item.GetString(Attr.ContactEmail), item.RequireString(Attr.Status),
                DateTimeOffset.Parse(item.RequireString(Attr.CreatedAt), CultureInfo.InvariantCulture));
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(MerchantCreatedV1))]
internal sealed partial class ModelJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
