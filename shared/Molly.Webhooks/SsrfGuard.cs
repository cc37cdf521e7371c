using System.Net;
using System.Net.Sockets;

namespace Molly.Webhooks;

/// <summary>Thrown from the connect callback when a webhook URL resolves to an address the gateway must not reach.</summary>
public sealed class WebhookAddressBlockedException(string host, IPAddress address)
    : Exception($"Webhook host '{host}' resolves to {address}, an address webhooks may not reach.")
{
    public string Host { get; } = host;
    public IPAddress Address { get; } = address;
}

/// <summary>
/// The SSRF guard. Addresses are checked AT CONNECT TIME (<see cref="SocketsHttpHandler.ConnectCallback"/>), after the
/// resolution the socket actually uses, so a name that resolves to a public address when the endpoint is created and to
/// 127.0.0.1 later (DNS rebinding) is still refused. Redirects are never followed, no proxy is used (a proxy would
/// connect on our behalf, unchecked), and URLs are checked when an endpoint is created and before every send.
/// </summary>
public sealed class SsrfGuard
{
    private readonly bool _allowHttpLoopback;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _resolve;

    /// <param name="allowHttpLoopback">Local development: http and the single address 127.0.0.1 are allowed.</param>
    /// <param name="resolve">Name resolution (tests inject one); the system resolver by default.</param>
    public SsrfGuard(bool allowHttpLoopback, Func<string, CancellationToken, Task<IPAddress[]>>? resolve = null)
    {
        _allowHttpLoopback = allowHttpLoopback;
        _resolve = resolve ?? ((host, ct) => Dns.GetHostAddressesAsync(host, ct));
    }

    /// <summary>Why <paramref name="url"/> cannot be a webhook endpoint, or null when it can (checked at creation and before
    /// each send; the address check at connect time is the one that counts).</summary>
    public string? CheckUrl(string? url)
    {
        if (string.IsNullOrWhiteSpace(url)) return "The URL is required.";
        if (url.Length > 2048) return "The URL is longer than 2048 characters.";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) return "The URL is not an absolute URL.";
        var loopbackHttp = _allowHttpLoopback && uri.Scheme == Uri.UriSchemeHttp && uri.Host == "127.0.0.1";
        if (uri.Scheme != Uri.UriSchemeHttps && !loopbackHttp)
            return _allowHttpLoopback ? "The URL must use https (http only to 127.0.0.1 in local development)." : "The URL must use https.";
        if (!string.IsNullOrEmpty(uri.UserInfo)) return "The URL must not carry credentials (user:password@).";
        if (!string.IsNullOrEmpty(uri.Fragment)) return "The URL must not have a fragment.";
        if (string.IsNullOrEmpty(uri.IdnHost)) return "The URL has no host.";
        var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host.Trim('[', ']') : uri.Host;
        if (IPAddress.TryParse(host, out var literal))
        {
            if (IsBlocked(literal)) return $"The URL's address {literal} is private, loopback, link-local or otherwise not reachable for webhooks.";
        }
        else if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
                 || host.EndsWith(".internal", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".local", StringComparison.OrdinalIgnoreCase)
                 || !host.Contains('.'))
        {
            return $"The URL's host '{host}' is not a public DNS name.";
        }
        return null;
    }

    /// <summary>True when webhooks must not connect to <paramref name="address"/>.</summary>
    public bool IsBlocked(IPAddress address) =>
        !(_allowHttpLoopback && address.Equals(IPAddress.Loopback)) && IsNonPublic(address);

    /// <summary>Loopback, private (RFC 1918, CGNAT 100.64/10, ULA fc00::/7), link-local (incl. 169.254.169.254 and
    /// fe80::/10), unspecified, multicast, broadcast, reserved, documentation, benchmarking, the AWS metadata addresses, and
    /// IPv6 forms that embed any of these (IPv4-mapped, IPv4-compatible, NAT64 64:ff9b::/96, 6to4 2002::/16).</summary>
    public static bool IsNonPublic(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork) return IsNonPublicV4(address.GetAddressBytes());
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return true;
        var b = address.GetAddressBytes();
        if (address.IsIPv4MappedToIPv6) return IsNonPublicV4(b[12..]);
        if (b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0) return true; // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0)
            return IsNonPublicV4(b[12..]); // NAT64 64:ff9b::/96
        if (b[0] == 0x20 && b[1] == 0x02) return IsNonPublicV4(b[2..6]); // 6to4
        if ((b[0] & 0xfe) == 0xfc) return true; // fc00::/7 ULA (fd00:ec2::254, the EC2 IPv6 metadata address, is in it)
        if (b[0] == 0xfe && (b[1] & 0xc0) is 0x80 or 0xc0) return true; // fe80::/10 link-local, fec0::/10 site-local
        if (b[0] == 0xff) return true; // multicast
        if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return true; // 2001:db8::/32 documentation
        if (b[0] == 0x01 && b.AsSpan(1, 7).IndexOfAnyExcept((byte)0) < 0) return true; // 100::/64 discard
        return false;
    }

    private static bool IsNonPublicV4(ReadOnlySpan<byte> b) =>
        b[0] is 0 or 10 or 127 || b[0] >= 224 // this network, RFC 1918 10/8, loopback, multicast + reserved + broadcast
        || (b[0] == 100 && (b[1] & 0xc0) == 64) // CGNAT 100.64/10
        || (b[0] == 169 && b[1] == 254) // link-local, incl. 169.254.169.254 (instance metadata)
        || (b[0] == 172 && (b[1] & 0xf0) == 16) // 172.16/12
        || (b[0] == 192 && b[1] == 168) // 192.168/16
        || (b[0] == 192 && b[1] == 0 && b[2] is 0 or 2) // IETF protocol assignments, TEST-NET-1
        || (b[0] == 198 && (b[1] & 0xfe) == 18) // benchmarking 198.18/15
        || (b[0] == 198 && b[1] == 51 && b[2] == 100) || (b[0] == 203 && b[1] == 0 && b[2] == 113); // TEST-NET-2/3

    /// <summary>The handler every webhook POST goes through.</summary>
    public SocketsHttpHandler CreateHandler(TimeSpan connectTimeout) => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None,
        ConnectTimeout = connectTimeout,
        // New connections (and so new resolutions, each checked) at least every 2 minutes.
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        MaxResponseDrainSize = 64 * 1024,
        ConnectCallback = ConnectAsync,
    };

    /// <summary>Resolves, refuses if ANY resolved address is non-public (a name mixing public and private records is an
    /// attack, not a configuration), then connects to the checked addresses only.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await _resolve(host, ct).ConfigureAwait(false);
        if (addresses.Length == 0) throw new SocketException((int)SocketError.HostNotFound);
        foreach (var address in addresses)
            if (IsBlocked(address)) throw new WebhookAddressBlockedException(host, address);

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, ct).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
