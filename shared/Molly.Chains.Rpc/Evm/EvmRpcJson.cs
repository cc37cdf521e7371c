using System.Text.Json;
using System.Text.Json.Serialization;

namespace Molly.Chains.Rpc.Evm;

// Wire shapes of the execution API, read with source-generated System.Text.Json. Every quantity stays a string here and
// is parsed strictly (HexQuantity) when mapped to the public records, so a malformed value is an error, never a zero.

internal sealed class RpcResponseDto
{
    [JsonPropertyName("jsonrpc")] public string? JsonRpc { get; set; }
    [JsonPropertyName("id")] public JsonElement Id { get; set; }
    [JsonPropertyName("result")] public JsonElement Result { get; set; }
    [JsonPropertyName("error")] public RpcErrorDto? Error { get; set; }
}

internal sealed class RpcErrorDto
{
    [JsonPropertyName("code")] public long Code { get; set; }
    [JsonPropertyName("message")] public string? Message { get; set; }
    [JsonPropertyName("data")] public JsonElement Data { get; set; }
}

internal sealed class RpcBlockDto
{
    [JsonPropertyName("number")] public string? Number { get; set; }
    [JsonPropertyName("hash")] public string? Hash { get; set; }
    [JsonPropertyName("parentHash")] public string? ParentHash { get; set; }
    [JsonPropertyName("timestamp")] public string? Timestamp { get; set; }
    [JsonPropertyName("baseFeePerGas")] public string? BaseFeePerGas { get; set; }
    [JsonPropertyName("transactions")] public List<RpcTransactionDto>? Transactions { get; set; }
}

internal sealed class RpcTransactionDto
{
    [JsonPropertyName("hash")] public string? Hash { get; set; }
    [JsonPropertyName("transactionIndex")] public string? TransactionIndex { get; set; }
    [JsonPropertyName("from")] public string? From { get; set; }
    [JsonPropertyName("to")] public string? To { get; set; }
    [JsonPropertyName("value")] public string? Value { get; set; }
    [JsonPropertyName("input")] public string? Input { get; set; }
}

internal sealed class RpcLogDto
{
    [JsonPropertyName("address")] public string? Address { get; set; }
    [JsonPropertyName("topics")] public List<string>? Topics { get; set; }
    [JsonPropertyName("data")] public string? Data { get; set; }
    [JsonPropertyName("blockNumber")] public string? BlockNumber { get; set; }
    [JsonPropertyName("blockHash")] public string? BlockHash { get; set; }
    [JsonPropertyName("transactionHash")] public string? TransactionHash { get; set; }
    [JsonPropertyName("transactionIndex")] public string? TransactionIndex { get; set; }
    [JsonPropertyName("logIndex")] public string? LogIndex { get; set; }
    [JsonPropertyName("removed")] public bool? Removed { get; set; }
}

internal sealed class RpcReceiptDto
{
    [JsonPropertyName("transactionHash")] public string? TransactionHash { get; set; }
    [JsonPropertyName("blockNumber")] public string? BlockNumber { get; set; }
    [JsonPropertyName("blockHash")] public string? BlockHash { get; set; }
    [JsonPropertyName("status")] public string? Status { get; set; }
    [JsonPropertyName("gasUsed")] public string? GasUsed { get; set; }
    [JsonPropertyName("effectiveGasPrice")] public string? EffectiveGasPrice { get; set; }
    [JsonPropertyName("contractAddress")] public string? ContractAddress { get; set; }
    [JsonPropertyName("logs")] public List<RpcLogDto>? Logs { get; set; }
}

internal sealed class RpcFeeHistoryDto
{
    [JsonPropertyName("oldestBlock")] public string? OldestBlock { get; set; }
    [JsonPropertyName("baseFeePerGas")] public List<string>? BaseFeePerGas { get; set; }
    [JsonPropertyName("gasUsedRatio")] public List<double>? GasUsedRatio { get; set; }
    [JsonPropertyName("reward")] public List<List<string>>? Reward { get; set; }
}

[JsonSourceGenerationOptions(GenerationMode = JsonSourceGenerationMode.Metadata)]
[JsonSerializable(typeof(RpcResponseDto))]
[JsonSerializable(typeof(List<RpcResponseDto>))]
[JsonSerializable(typeof(RpcBlockDto))]
[JsonSerializable(typeof(List<RpcLogDto>))]
[JsonSerializable(typeof(RpcReceiptDto))]
[JsonSerializable(typeof(RpcFeeHistoryDto))]
[JsonSerializable(typeof(string))]
internal sealed partial class EvmRpcJsonContext : JsonSerializerContext;
