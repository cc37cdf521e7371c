using Molly.Storage;

namespace Molly.Api.Security;

/// <summary>
/// Endpoint metadata: the endpoint writes the signature's once-only record (<see cref="SignatureRecord"/>) inside its own store
/// transaction, so a request costs one commit instead of two. Add it with
/// <see cref="SignatureRecordEndpointExtensions.RecordsSignatureInItsTransaction"/>.
/// </summary>
public sealed class RecordsSignatureInTransactionMetadata
{
    public static readonly RecordsSignatureInTransactionMetadata Instance = new();
}

/// <summary>
/// Endpoint metadata: public routes (the payer's checkout page) never run signature authentication, whatever headers come
/// with the request, so no signature record is written and no Molly-* header turns a public request into a 401.
/// Add it with <see cref="SignatureRecordEndpointExtensions.WithoutSignatureAuthentication{TBuilder}"/>.
/// </summary>
public sealed class SkipsSignatureAuthenticationMetadata
{
    public static readonly SkipsSignatureAuthenticationMetadata Instance = new();
}

public static class SignatureRecordEndpointExtensions
{
    public static TBuilder WithoutSignatureAuthentication<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(SkipsSignatureAuthenticationMetadata.Instance);

    /// <summary>
    /// The endpoint takes over writing the signature record: it puts <see cref="SignatureRecord.Operation"/> in its transaction
    /// (then <see cref="SignatureRecord.MarkWritten"/>), or calls <see cref="SignatureRecord.WriteAsync"/> on every path that
    /// commits nothing, and answers <see cref="SignatureRecord.Rejected"/> when the signature was already used.
    /// </summary>
    public static RouteHandlerBuilder RecordsSignatureInItsTransaction(this RouteHandlerBuilder builder) =>
        builder.WithMetadata(RecordsSignatureInTransactionMetadata.Instance);
}

/// <summary>
/// The once-only record of an accepted request signature: an item written with <see cref="Condition.ItemAbsent"/> (and a ttl
/// past the clock-skew window), so the same signature is refused the second time. Normally the authentication handler writes it
/// before the request goes on. For an endpoint marked <see cref="RecordsSignatureInTransactionMetadata"/> it is handed to the
/// endpoint as a request feature instead; whatever the endpoint does, the record is written before any response starts (a
/// response-start hook writes it when the request ended before the endpoint did, e.g. 403, 429 or a malformed body), so every
/// signature is still used at most once and a replayed request never runs twice.
/// </summary>
public sealed class SignatureRecord(IItemStore store, Item item)
{
    private int _written;

    /// <summary>The conditional put to include in the endpoint's transaction.</summary>
    public TransactOp Operation { get; } = TransactOp.Put(item, Condition.ItemAbsent);

    public bool IsWritten => Volatile.Read(ref _written) != 0;

    /// <summary>Call after the transaction holding <see cref="Operation"/> committed.</summary>
    public void MarkWritten() => Volatile.Write(ref _written, 1);

    /// <summary>Writes the record on its own unless it is already written; false when the signature was used before (a replay).</summary>
    public async Task<bool> WriteAsync(CancellationToken ct)
    {
        if (IsWritten) return true;
        try
        {
            await store.PutAsync(item, Condition.ItemAbsent, ct);
        }
        catch (ConditionFailedException)
        {
            return false;
        }
        MarkWritten();
        return true;
    }

    /// <summary>The 401 of a replayed signature, as the authentication handler answers it.</summary>
    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Rejected(HttpContext context)
    {
        context.Response.Headers.WWWAuthenticate = SignatureAuthenticationHandler.SchemeName;
        return TypedResults.Problem(SignatureAuthenticationHandler.ReplayedDetail, statusCode: StatusCodes.Status401Unauthorized,
            title: "Unauthorized", extensions: new Dictionary<string, object?> { ["reason"] = AuthFailureReasons.Replayed });
    }
}
