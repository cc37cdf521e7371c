using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Molly.Storage;
using Molly.Workflows;

namespace Molly.Settlement;

/// <summary>
/// The local stand-in for AWS's stream -> EventBridge Pipe -> StartExecution: a named change-feed consumer that starts
/// deposit-confirm for each NEW detected deposit item (an insert of SK <c>deposit</c>, status <c>detected</c>), with the contract's input (DEPOSITS.md) and an
/// execution name derived from the deposit id, so a replayed change starts nothing twice (the engine starts a name once).
/// </summary>
public sealed class DepositConfirmStarter(WorkflowEngine engine)
{
    public const string ConsumerName = "deposit-confirm-starter";
    public const string Workflow = "deposit-confirm";

    /// <summary>The consumer to run (its checkpoint is <c>sys#feed</c>/<see cref="ConsumerName"/>); it reads deposit items only.</summary>
    public ChangeFeedConsumer CreateConsumer(IItemStore store, ChangeFeedConsumerOptions? options = null, TimeProvider? time = null) =>
        new(store, ConsumerName, HandleAsync, (options ?? new ChangeFeedConsumerOptions()) with { KeyPrefixes = [Deposit.Prefix] }, time);

    public async Task HandleAsync(IReadOnlyList<Change> changes, CancellationToken ct)
    {
        foreach (var change in changes)
        {
            if (change.Kind != ChangeKind.Insert || change.Key.SK != Deposit.SortKey || !change.Key.PK.StartsWith(Deposit.Prefix, StringComparison.Ordinal)
                || change.NewImage is not { } item || item.GetString("status") != DepositStatus.Detected)
                continue; // as the AWS Pipe's filter: new deposit items the watcher recorded as detected (needs_review ones wait for an operator)
            var depositId = change.Key.PK[Deposit.Prefix.Length..];
            var input = Input(depositId, item);
            try
            {
                await engine.StartAsync(Workflow, ExecutionName(depositId), input, ct).ConfigureAwait(false);
            }
            catch (ExecutionAlreadyExistsException)
            {
                // Started before with another input: the item was replaced, not new; the first execution owns the deposit.
            }
        }
    }

    /// <summary>The execution input of DEPOSITS.md, from the new deposit item.</summary>
    public static JsonObject Input(string depositId, Item item) => new()
    {
        ["depositId"] = depositId,
        ["paymentId"] = item.GetString("paymentId"),
        ["chain"] = item.GetString("chain"),
        ["txHash"] = item.GetString("txHash"),
        ["index"] = item.GetString("index"),
        ["blockNumber"] = item.GetInt64("blockNumber"),
        ["blockHash"] = item.GetString("blockHash"),
        ["asset"] = item.GetString("asset"),
        ["amount"] = item.GetNumber("amount")?.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// Step Functions' execution names forbid '#', '~' and more, and stop at 80 characters, so the deposit id
    /// (<c>{chain}#{txHash}#{index}</c>) maps to <c>{chain}.{txHash}.{index}</c> ('~' -> '_'); a longer one keeps its first 47
    /// characters and a hash of the whole id. Deterministic: the same deposit always gets the same name.
    /// </summary>
    public static string ExecutionName(string depositId)
    {
        var name = depositId.Replace('#', '.').Replace('~', '_');
        if (name.Length <= 80 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            return name;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(depositId)))[..32];
        var head = new string(name.Where(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-').Take(47).ToArray());
        return $"{head}_{hash}";
    }
}
