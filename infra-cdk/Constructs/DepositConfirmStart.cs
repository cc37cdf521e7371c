namespace Molly.Infra.Constructs;

/// <summary>
/// How a DynamoDB stream record starts deposit-confirm (the contract in DEPOSITS.md): the EventBridge Pipe's filter and the
/// input template that turns the deposit item's NewImage into the execution input.
/// </summary>
public static class DepositConfirmStart
{
    /// <summary>A new deposit item (PK <c>dep#...</c>, SK <c>deposit</c>) written as detected. Later changes of the same item
    /// (MODIFY) and deposits recorded in another status never start a workflow.</summary>
    public const string Filter =
        """{"eventName":["INSERT"],"dynamodb":{"Keys":{"PK":{"S":[{"prefix":"dep#"}]}},"NewImage":{"SK":{"S":["deposit"]},"status":{"S":["detected"]}}}}""";

    /// <summary>
    /// The execution input, from the stream record's NewImage (DynamoDB JSON: strings under .S, numbers under .N as text).
    /// Quoted placeholders give JSON strings (amount stays a string, as the contract wants); blockNumber is unquoted so the
    /// N text becomes a JSON number. The workflow's tasks read only depositId and load the rest from the deposit item.
    /// </summary>
    public const string InputTemplate =
        """{"depositId":"<$.dynamodb.NewImage.depositId.S>","paymentId":"<$.dynamodb.NewImage.paymentId.S>","chain":"<$.dynamodb.NewImage.chain.S>","txHash":"<$.dynamodb.NewImage.txHash.S>","index":"<$.dynamodb.NewImage.index.S>","blockNumber":<$.dynamodb.NewImage.blockNumber.N>,"blockHash":"<$.dynamodb.NewImage.blockHash.S>","asset":"<$.dynamodb.NewImage.asset.S>","amount":"<$.dynamodb.NewImage.amount.N>"}""";
}
