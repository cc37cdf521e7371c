using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Molly.Chains.Rpc.Tests;

/// <summary>
/// A tiny real HTTP server on 127.0.0.1 (HttpListener) standing in front of, or instead of, a node: it answers each POST
/// with what <see cref="Respond"/> returns, so tests can inject 5xx, malformed bodies or node limits. <see cref="ForwardAsync"/>
/// passes a body to a real node. Counts requests.
/// </summary>
internal sealed class RpcStub : IAsyncDisposable
{
    private static readonly HttpClient Http = new();
    private readonly HttpListener _listener = new();
    private readonly Task _loop;
    private readonly CancellationTokenSource _stop = new();
    private int _requests;

    public RpcStub(Func<RpcStub, string, Task<(int Status, string Body)>> respond)
    {
        Respond = respond;
        for (var attempt = 0; ; attempt++)
        {
            var port = FreePort();
            Url = $"http://127.0.0.1:{port}/";
            _listener.Prefixes.Clear();
            _listener.Prefixes.Add(Url);
            try { _listener.Start(); break; }
            catch (HttpListenerException) when (attempt < 5) { }
        }
        _loop = Task.Run(LoopAsync);
    }

    public string Url { get; }

    public int Requests => Volatile.Read(ref _requests);

    public Func<RpcStub, string, Task<(int Status, string Body)>> Respond { get; set; }

    public static async Task<(int, string)> ForwardAsync(string nodeUrl, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await Http.PostAsync(nodeUrl, content);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The id of a single (non-batch) request, to echo in a crafted answer.</summary>
    public static long IdOf(string body) => JsonNode.Parse(body)!["id"]!.GetValue<long>();

    public static string MethodOf(string body) => JsonNode.Parse(body) is JsonObject o ? o["method"]!.GetValue<string>() : "batch";

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (HttpListenerException) { return; }
            catch (ObjectDisposedException) { return; }
            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        Interlocked.Increment(ref _requests);
        try
        {
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            var body = await reader.ReadToEndAsync();
            var (status, answer) = await Respond(this, body);
            var bytes = Encoding.UTF8.GetBytes(answer);
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
        }
        catch (Exception)
        {
            context.Response.StatusCode = 500;
        }
        finally
        {
            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        _listener.Close();
        try { await _loop; } catch (Exception) { /* stopping */ }
        _stop.Dispose();
    }

    /// <summary>A port that nothing listens on (bound, then released): connections to it are refused.</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try { return ((IPEndPoint)listener.LocalEndpoint).Port; }
        finally { listener.Stop(); }
    }
}
