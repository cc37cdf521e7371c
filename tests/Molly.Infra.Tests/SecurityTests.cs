using System.Text.Json;
using System.Text.RegularExpressions;
using Amazon.CDK;
using Xunit;

namespace Molly.Infra.Tests;

[Collection(StackCollection.Name)]
public sealed class SecurityTests(StackFixture stacks)
{
    /// <summary>
    /// The only identity-policy actions allowed on Resource "*", each because the service offers no resource-level
    /// permission: dynamodb:ListStreams (stream readers: the pipe role), X-Ray trace upload and sampling (Lambda active tracing, Step Functions tracing) and the CloudWatch Logs
    /// "log delivery" calls Step Functions needs for vended logs.
    /// </summary>
    private static readonly string[] StarResourceAllowList =
    [
        "dynamodb:ListStreams",
        "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
        "logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
        "xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments",
    ];

    private static IEnumerable<string> Strings(JsonElement e) => e.ValueKind == JsonValueKind.Array
        ? e.EnumerateArray().Select(x => x.ValueKind == JsonValueKind.String ? x.GetString()! : x.GetRawText())
        : [e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText()];

    private static IEnumerable<(string PolicyId, JsonElement Policy, JsonElement Statement)> IdentityStatements(SynthesizedStack s) =>
        s.Resources("AWS::IAM::Policy").SelectMany(p => p.Resource.GetProperty("Properties").GetProperty("PolicyDocument")
            .GetProperty("Statement").EnumerateArray().Select(st => (p.Id, p.Resource, st)));

    private static bool Matches(string pattern, string action) =>
        Regex.IsMatch(action, "^" + Regex.Escape(pattern).Replace("\\*", ".*").Replace("\\?", ".") + "$", RegexOptions.IgnoreCase);

    private static string LogicalId(SynthesizedStack s, global::Constructs.IConstruct c) => s.Stack.GetLogicalId((CfnElement)c.Node.DefaultChild!);

    [Fact]
    public void No_identity_statement_uses_action_star_and_resource_star_only_for_the_allow_list()
    {
        var starActions = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var s in stacks.All)
        {
            foreach (var (id, _, st) in IdentityStatements(s))
            {
                var actions = Strings(st.GetProperty("Action")).ToList();
                Assert.DoesNotContain(actions, a => a == "*" || a.EndsWith(":*", StringComparison.Ordinal));
                if (Strings(st.GetProperty("Resource")).Contains("*"))
                    foreach (var a in actions) starActions.Add(a);
            }
        }
        // Exactly the allow-list: a new Resource "*" fails here, and so does a justification nobody needs any more.
        Assert.Equal(StarResourceAllowList.Order(StringComparer.Ordinal), starActions);
    }

    [Fact]
    public void Wallet_keys_have_the_right_specs_and_the_envelope_key_rotates()
    {
        var keys = stacks.Prod.Resources("AWS::KMS::Key").Select(k => k.Resource.GetProperty("Properties")).ToList();
        var signing = keys.Where(k => k.TryGetProperty("KeyUsage", out var u) && u.GetString() == "SIGN_VERIFY")
            .Select(k => k.GetProperty("KeySpec").GetString()).Order().ToList();
        Assert.Equal(["ECC_NIST_EDWARDS25519", "ECC_SECG_P256K1", "ECC_SECG_P256K1"], signing);
        var envelope = Assert.Single(keys, k => !k.TryGetProperty("KeyUsage", out _));
        Assert.True(envelope.GetProperty("EnableKeyRotation").GetBoolean());
        Assert.False(envelope.TryGetProperty("KeySpec", out _)); // SYMMETRIC_DEFAULT: such a key cannot kms:Sign
    }

    [Fact]
    public void Only_the_signer_role_may_sign_in_every_identity_policy_and_key_policy()
    {
        foreach (var s in stacks.All)
        {
            var signerId = LogicalId(s, s.Stack.Keys.SignerRole);
            var signingPolicies = 0;
            foreach (var (id, policy, st) in IdentityStatements(s))
            {
                if (!Strings(st.GetProperty("Action")).Any(a => Matches(a, "kms:Sign"))) continue;
                signingPolicies++;
                var roles = policy.GetProperty("Properties").GetProperty("Roles").EnumerateArray().Select(r => r.GetProperty("Ref").GetString()).ToList();
                Assert.Equal([signerId], roles);
            }
            Assert.True(signingPolicies > 0, "the signer role's policy must name kms:Sign");

            var walletKeys = s.Resources("AWS::KMS::Key").Where(k => k.Resource.GetProperty("Properties").TryGetProperty("KeyUsage", out _)).ToList();
            Assert.Equal(3, walletKeys.Count);
            foreach (var (keyId, key) in walletKeys)
            {
                var signers = key.GetProperty("Properties").GetProperty("KeyPolicy").GetProperty("Statement").EnumerateArray()
                    .Where(st => st.GetProperty("Effect").GetString() == "Allow" && Strings(st.GetProperty("Action")).Any(a => Matches(a, "kms:Sign")))
                    .Select(st => st.GetProperty("Principal").GetProperty("AWS").GetRawText()).ToList();
                var only = Assert.Single(signers);
                Assert.Contains($"\"{signerId}\"", only);
            }
        }
    }
}
