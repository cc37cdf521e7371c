namespace Molly.Api.Model;

/// <summary>The roles a principal can hold. A merchant's keys carry <see cref="Merchant"/>; people carry the others.</summary>
public static class Roles
{
    public const string Merchant = "merchant";
    public const string ApproverL1 = "approver_l1";
    public const string ApproverL2 = "approver_l2";
    public const string ApproverL3 = "approver_l3";
    public const string Finance = "finance";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Merchant, ApproverL1, ApproverL2, ApproverL3, Finance, Admin];

    public static bool IsKnown(string role) => All.Contains(role, StringComparer.Ordinal);
}

/// <summary>Authorization policy names used by the endpoints.</summary>
public static class Policies
{
    public const string Admin = "admin";
    public const string Merchant = "merchant";
    public const string AnyPrincipal = "any-principal";
}
