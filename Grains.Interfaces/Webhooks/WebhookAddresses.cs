using System.Net;
using System.Net.Sockets;

namespace Orleans.Im.Webhooks;

/// <summary>
/// Which addresses a webhook may be delivered to, and how a webhook URL is shown outside the admin API. A silo calls the
/// URL an administrator registered: unless a deployment opts in (<c>IM:Webhooks:AllowPrivateAddresses</c>), it must not
/// reach the silo itself, the cloud's metadata service (169.254.169.254) or the private network behind it.
/// </summary>
public static class WebhookAddresses
{
    /// <summary>
    /// True for addresses that are not on the public internet: unspecified, loopback, link-local, private (RFC 1918,
    /// unique local), carrier-grade NAT, site-local, multicast and broadcast; IPv4-mapped IPv6 addresses as their IPv4.
    /// </summary>
    public static bool IsPrivate(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address))
        {
            return true;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] is 0 or 10 or >= 224 // this network, private, multicast and reserved (incl. broadcast)
                || (b[0] == 100 && b[1] is >= 64 and <= 127) // carrier-grade NAT
                || (b[0] == 169 && b[1] == 254) // link-local, the cloud metadata service
                || (b[0] == 172 && b[1] is >= 16 and <= 31)
                || (b[0] == 192 && b[1] == 168);
        }

        return address.Equals(IPAddress.IPv6None) || address.Equals(IPAddress.IPv6Any)
            || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast;
    }

    /// <summary>
    /// Why a URL's host is refused when private addresses are not allowed (a literal private address, or <c>localhost</c>);
    /// null when it is not refused here. Other names are checked when a delivery connects.
    /// </summary>
    public static string? RefusedHost(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        var host = url.IdnHost;
        var refused = IPAddress.TryParse(host, out var address) ? IsPrivate(address)
            : host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase);
        return refused
            ? "url must not point to a loopback, link-local, private or unspecified address (unless IM:Webhooks:AllowPrivateAddresses is set)"
            : null;
    }

    /// <summary>
    /// The URL as shown in logs and in the dead-letter stream: scheme, host, port and path, without credentials
    /// (user info) or query and fragment, which often carry tokens.
    /// </summary>
    public static string Redact(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri)
            ? uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped)
            : "(not a URL)";
}
