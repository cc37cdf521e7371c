namespace Molly.Chains.Rpc.Evm;

/// <summary>A JSON-RPC call failed. Messages name the method and the endpoint in redacted form, never a full URL.</summary>
public class EvmRpcException : Exception
{
    public EvmRpcException(string method, string message, Exception? inner = null) : base(message, inner) => Method = method;

    public string Method { get; }
}

/// <summary>The node answered with a JSON-RPC error object (e.g. -32000 "nonce too low", 3 "execution reverted").</summary>
public sealed class EvmRpcErrorException(string method, string endpoint, long code, string rpcMessage, string? data)
    : EvmRpcException(method, $"{method} failed on {endpoint}: JSON-RPC error {code}: {rpcMessage}")
{
    public long Code { get; } = code;

    public string RpcMessage { get; } = rpcMessage;

    /// <summary>The error's data member as raw JSON (revert data, provider details), or null.</summary>
    public string? ErrorData { get; } = data;
}

/// <summary>Every endpoint failed (connection, timeout, HTTP 5xx/429, an unreadable envelope) on every retry round.</summary>
public sealed class EvmRpcUnavailableException(string method, string message, Exception? inner)
    : EvmRpcException(method, message, inner);

/// <summary>The node's answer was well-formed JSON-RPC but its result is not what the method returns (bad hex, missing fields).</summary>
public sealed class EvmRpcMalformedResponseException(string method, string endpoint, string problem, Exception? inner = null)
    : EvmRpcException(method, $"{method} on {endpoint} returned a malformed result: {problem}", inner);
