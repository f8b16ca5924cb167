using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Auth;

namespace Orleans.Im.EdgeHost.Tcp;

/// <summary>
/// Flood limits on TCP connections, checked when a socket is accepted: at most <see cref="EdgeOptions.MaxConnectionsPerAddress"/>
/// open connections from one remote address (an IPv6 client's /64, as the HTTP limits count it: one address per socket
/// got past the limit otherwise), and at most <see cref="EdgeOptions.MaxUnauthenticatedConnections"/> that have
/// not logged in yet, edge-wide. A refused socket gets a rate-limited error and a close; the counts fall as connections
/// log in or close, so the limits recover by themselves.
/// </summary>
public sealed class ConnectionAdmission(IOptions<EdgeOptions> options)
{
    private readonly ConcurrentDictionary<string, int> _perAddress = new(StringComparer.Ordinal);
    private int _unauthenticated;

    /// <summary>Connections accepted and not yet logged in.</summary>
    public int Unauthenticated => Volatile.Read(ref _unauthenticated);

    /// <summary>A ticket for a new connection from <paramref name="address"/>, or null when a limit is reached.</summary>
    public AdmissionTicket? TryAdmit(IPAddress? address)
    {
        var limits = options.Value;
        if (Interlocked.Increment(ref _unauthenticated) > limits.MaxUnauthenticatedConnections && limits.MaxUnauthenticatedConnections > 0)
        {
            Interlocked.Decrement(ref _unauthenticated);
            return null;
        }

        var key = address is not null && limits.MaxConnectionsPerAddress > 0 ? ClientAddresses.KeyOf(address) : null;
        if (key is not null && _perAddress.AddOrUpdate(key, 1, (_, count) => count + 1) > limits.MaxConnectionsPerAddress)
        {
            Release(key);
            Interlocked.Decrement(ref _unauthenticated);
            return null;
        }

        return new AdmissionTicket(this, key);
    }

    internal void LoggedIn() => Interlocked.Decrement(ref _unauthenticated);

    internal void Closed(string? addressKey, bool loggedIn)
    {
        if (!loggedIn)
        {
            Interlocked.Decrement(ref _unauthenticated);
        }

        if (addressKey is not null)
        {
            Release(addressKey);
        }
    }

    private void Release(string addressKey)
    {
        // Remove the entry at zero, so that the map holds only addresses with open connections.
        while (_perAddress.TryGetValue(addressKey, out var count))
        {
            if (count <= 1 ? _perAddress.TryRemove(new KeyValuePair<string, int>(addressKey, count)) : _perAddress.TryUpdate(addressKey, count - 1, count))
            {
                return;
            }
        }
    }
}
