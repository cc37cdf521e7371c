namespace Molly.Chains.Hd;

/// <summary>The 4-byte version prefixes of a serialised extended key pair (BIP32, SLIP-132). Data, not code.</summary>
public sealed record ExtKeyVersion(string Name, uint Private, uint Public)
{
    public static readonly ExtKeyVersion Xpub = new("xpub", 0x0488ADE4, 0x0488B21E);
    public static readonly ExtKeyVersion Tpub = new("tpub", 0x04358394, 0x043587CF);
    public static readonly ExtKeyVersion Ypub = new("ypub", 0x049D7878, 0x049D7CB2);
    public static readonly ExtKeyVersion Upub = new("upub", 0x044A4E28, 0x044A5262);
    public static readonly ExtKeyVersion Zpub = new("zpub", 0x04B2430C, 0x04B24746);
    public static readonly ExtKeyVersion Vpub = new("vpub", 0x045F18BC, 0x045F1CF6);
    public static readonly ExtKeyVersion Ltub = new("Ltub", 0x019D9CFE, 0x019DA462);
    public static readonly ExtKeyVersion Ttub = new("ttub", 0x0436EF7D, 0x0436F6E1);

    /// <summary>Every version this library recognises when no network is given.</summary>
    public static IReadOnlyList<ExtKeyVersion> Known { get; } = [Xpub, Tpub, Ypub, Upub, Zpub, Vpub, Ltub, Ttub];
}
