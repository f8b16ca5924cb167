using System.Net;
using System.Net.Sockets;

namespace Orleans.Im.Webhooks;

/// <summary>
/// Which addresses a webhook may be delivered to, and how a webhook URL is shown outside the admin API. A silo calls the
/// URL an administrator registered: by default it must not reach the silo's own host or link (loopback, the cloud's
/// metadata service at 169.254.169.254); private networks, where an on-premise installation's receivers live, are allowed
/// unless a deployment says otherwise.
/// </summary>
public static class WebhookAddresses
{
    /// <summary>
    /// Clouds' metadata and platform services outside link-local ranges, which the ranges alone would class as a private
    /// network (allowed by default) or public: Alibaba Cloud's (100.100.100.200, in carrier-grade NAT space), AWS's over
    /// IPv6 (fd00:ec2::254, unique local), Azure's platform endpoint (168.63.129.16). They are local: never called unless
    /// local addresses are allowed.
    /// </summary>
    private static readonly IPAddress[] CloudMetadataServices =
        [IPAddress.Parse("100.100.100.200"), IPAddress.Parse("fd00:ec2::254"), IPAddress.Parse("168.63.129.16")];

    /// <summary>Where <paramref name="address"/> lies; IPv4-mapped IPv6 addresses as their IPv4.</summary>
    public static WebhookAddressScope ScopeOf(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        else if (EmbeddedIPv4(address) is { } embedded)
        {
            // A translation prefix reaches the IPv4 address inside it (through the network's NAT64 or 6to4 relay): it is
            // where the delivery lands, and classed as such.
            address = embedded;
        }
        else if (address.AddressFamily == AddressFamily.InterNetworkV6 && IsLocalUseNat64(address.GetAddressBytes()))
        {
            // The local-use translation prefix, 64:ff9b:1::/48: the network's own NAT64, whose embedding its operator
            // chose (/48 to /96), so the IPv4 address inside cannot be told, and may be loopback or the metadata service.
            return WebhookAddressScope.Local;
        }

        if (IPAddress.IsLoopback(address) || CloudMetadataServices.Contains(address))
        {
            return WebhookAddressScope.Local;
        }

        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] == 0 || (b[0] == 169 && b[1] == 254) ? WebhookAddressScope.Local // this network; link-local, the metadata service
                : b[0] >= 224 ? WebhookAddressScope.Never // multicast, reserved, broadcast
                : b[0] == 10 || (b[0] == 172 && b[1] is >= 16 and <= 31) || (b[0] == 192 && b[1] == 168)
                    || (b[0] == 100 && b[1] is >= 64 and <= 127) // carrier-grade NAT
                    ? WebhookAddressScope.PrivateNetwork
                : WebhookAddressScope.Public;
        }

        return address.Equals(IPAddress.IPv6None) || address.Equals(IPAddress.IPv6Any) || address.IsIPv6LinkLocal ? WebhookAddressScope.Local
            : address.IsIPv6Multicast ? WebhookAddressScope.Never
            : address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal ? WebhookAddressScope.PrivateNetwork
            : WebhookAddressScope.Public;
    }

    /// <summary>
    /// The IPv4 address inside a well-known NAT64 address (64:ff9b::/96, RFC 6052: its last four bytes) or a 6to4 one
    /// (2002::/16, RFC 3056: the four bytes after the prefix); null for any other.
    /// </summary>
    private static IPAddress? EmbeddedIPv4(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return null;
        }

        var b = address.GetAddressBytes();
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0)
        {
            return new IPAddress(b.AsSpan(12, 4));
        }

        return b[0] == 0x20 && b[1] == 0x02 ? new IPAddress(b.AsSpan(2, 4)) : null;
    }

    private static bool IsLocalUseNat64(byte[] b) =>
        b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0x00 && b[5] == 0x01;

    /// <summary>Whether a delivery may go to <paramref name="address"/> under the deployment's settings.</summary>
    public static bool IsAllowed(IPAddress address, bool allowPrivateNetworks, bool allowLocalAddresses) => ScopeOf(address) switch
    {
        WebhookAddressScope.Public => true,
        WebhookAddressScope.PrivateNetwork => allowPrivateNetworks,
        WebhookAddressScope.Local => allowLocalAddresses,
        _ => false,
    };

    /// <summary>
    /// Why a URL's host is refused (a literal address not allowed, or <c>localhost</c> while local addresses are not);
    /// null when it is not refused here. Other names are checked when a delivery connects.
    /// </summary>
    public static string? RefusedHost(Uri url, bool allowPrivateNetworks, bool allowLocalAddresses)
    {
        ArgumentNullException.ThrowIfNull(url);
        var host = url.IdnHost;
        var scope = IPAddress.TryParse(host, out var address) ? ScopeOf(address)
            : host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
                ? WebhookAddressScope.Local
                : WebhookAddressScope.Public;
        return scope switch
        {
            WebhookAddressScope.PrivateNetwork when !allowPrivateNetworks =>
                "url must not point to a private network address (IM:Webhooks:AllowPrivateNetworks is off)",
            WebhookAddressScope.Local when !allowLocalAddresses =>
                "url must not point to a loopback, link-local or unspecified address, or localhost (unless IM:Webhooks:AllowLocalAddresses is on)",
            WebhookAddressScope.Never => "url must not point to a multicast, broadcast or reserved address",
            _ => null,
        };
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
