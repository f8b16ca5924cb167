using System.Net;
using System.Net.Sockets;

namespace Orleans.Im.EdgeHost.Auth;

/// <summary>How per-address limits (logins, refreshes, TCP connections) count a client's address.</summary>
public static class ClientAddresses
{
    /// <summary>
    /// The key a limit counts <paramref name="address"/> under: an IPv6 client as its /64, the block one subscriber is
    /// given (one address per try would get past every per-address limit); an IPv4 one mapped into IPv6 as its IPv4
    /// address; "unknown" when there is none.
    /// </summary>
    public static string KeyOf(IPAddress? address) => address switch
    {
        null => "unknown",
        { IsIPv4MappedToIPv6: true } mapped => mapped.MapToIPv4().ToString(),
        { AddressFamily: AddressFamily.InterNetworkV6 } v6 => Subscriber(v6),
        var other => other.ToString(),
    };

    private static string Subscriber(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }
}
