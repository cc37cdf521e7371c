using System.Text;
using System.Text.Json.Nodes;
using Molly.Chains.Rpc.Evm;
using Molly.Domain;
using Molly.Payments;
using Molly.Storage;
using Molly.WorkflowTasks;
using Molly.Testing;
using Xunit;
using static Molly.Settlement.Tests.Detection;

namespace Molly.Settlement.Tests;

/// <summary>functions/WorkflowTasks with the deposit-confirm handlers: the dispatch table names them, and the Lambda entry
/// runs the events-samples through the real handlers on DynamoDB Local (the AWS store), errors leaving as MollyPermanent.</summary>
public sealed class WorkflowTasksFunctionTests
{
    [Fact]
    public void The_dispatch_table_has_every_deposit_confirm_task()
    {
        foreach (var name in new[] { "CheckConfirmations", "VerifyCanonical", "CreditPayment", "UndoDetection", "MarkForReview" })
            _ = new Function(name); // resolves (composition waits for the first invocation)
        Assert.Contains("'Nope'", Assert.Throws<InvalidOperationException>(() => new Function("Nope")).Message);
    }

    [Fact]
    public async Task The_lambda_entry_runs_the_samples_through_the_handlers_on_dynamodb()
    {
        var store = await DynamoDbLocal.Shared.CreateStoreAsync();
        var time = new ManualTimeProvider(SettlementContractTests.T0);
        var node = new ScriptedEvmRpc();
        var assets = AssetRegistry.ForNetworks(["local"], [SettlementContractTests.Usdt]);
        var tasks = new DepositConfirmTasks(store, new Ledger.Ledger(store, time), assets, new Dictionary<string, IEvmRpc> { ["ethereum"] = node },
            new SettlementOptions(), time);
        var payments = new PaymentService(store, assets, new IndexedTargets(), new PaymentOptions { PublicBaseUrl = "http://127.0.0.1" }, time);
        var paymentId = Assert.IsType<CreatePaymentOutcome.Created>(await payments.CreateAsync(
            new MerchantPaymentSettings("m_l", new HashSet<string> { "USDT@ethereum" }), "k", new CreatePaymentCommand("o", "1", "USDT", "ethereum"))).Payment.Id;
        node.Include(Hash(5), 100, logIndexes: 1);
        node.Mine(104);
        var real = await DetectAsync(store, paymentId, 1_000_000, time.GetUtcNow(), 100, node.Blocks[100], Hash(5), "1");
        // The samples name deposit "eth-0xabc-1": the same deposit under that id.
        var sampleId = JsonNode.Parse(await File.ReadAllTextAsync(Sample("CreditPayment")))!["depositId"]!.GetValue<string>();
        var item = (await store.GetAsync(Deposit.Key(real)))!;
        var copy = new Item(Deposit.Key(sampleId));
        foreach (var (k, v) in item) copy[k] = v;
        await store.PutAsync(copy);
        await store.DeleteAsync(item.Key);

        async Task<JsonNode?> Invoke(string task) =>
            await JsonNode.ParseAsync(await new Function(task, tasks.Handlers[task]).Handle(File.OpenRead(Sample(task))));

        Assert.Equal("""{"state":"confirmed","confirmations":5,"required":2,"waitSeconds":0}""", (await Invoke("CheckConfirmations"))!.ToJsonString());
        Assert.Equal("""{"canonical":true}""", (await Invoke("VerifyCanonical"))!.ToJsonString());
        var credit = await Invoke("CreditPayment");
        Assert.Equal("paid", credit!["paymentStatus"]!.GetValue<string>());
        Assert.Equal(credit.ToJsonString(), (await Invoke("CreditPayment"))!.ToJsonString()); // a Step Functions retry

        // A credited deposit cannot be undone: the error leaves as the type Step Functions matches (MollyPermanent).
        var e = await Assert.ThrowsAnyAsync<Exception>(() => Invoke("UndoDetection"));
        Assert.Equal("MollyPermanent", e.GetType().Name);
        Assert.Equal("{}", (await Invoke("MarkForReview"))!.ToJsonString());
        Assert.Equal(DepositStatus.Credited, (await store.GetAsync(Deposit.Key(sampleId)))!.GetString("status")); // stays credited
    }

    private static string Sample(string task) => Path.Combine(AppContext.BaseDirectory, "events-samples", "workflow-tasks", task + ".json");
}
