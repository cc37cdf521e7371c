namespace Molly.Signer;

/// <summary>
/// The workflow contract's error names. Step Functions names a Lambda error after the exception's type name (no dots), so
/// <c>Molly.Permanent</c> / <c>Molly.Transient</c> leave the function as these types; the ASL files list both spellings.
/// </summary>
public sealed class MollyPermanent : Exception
{
    public MollyPermanent(string message) : base(message) { }

    public MollyPermanent(string message, Exception inner) : base(message, inner) { }
}

public sealed class MollyTransient(string message, Exception inner) : Exception(message, inner);
