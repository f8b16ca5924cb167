using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Options;

namespace Orleans.Im.EdgeHost.Tcp;

/// <summary>
/// Flood limits on TCP connections, checked when a socket is accepted: at most <see cref="EdgeOptions.MaxConnectionsPerAddress"/>
/// open connections from one remote address, and at most <see cref="EdgeOptions.MaxUnauthenticatedConnections"/> that have
/// not logged in yet, edge-wide. A refused socket gets a rate-limited error and a close; the counts fall as connections
/// log in or close, so the limits recover by themselves.
/// </summary>
public sealed class ConnectionAdmission(IOptions<EdgeOptions> options)
{
    private readonly ConcurrentDictionary<IPAddress, int> _perAddress = new();
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

        if (address is not null && limits.MaxConnectionsPerAddress > 0
            && _perAddress.AddOrUpdate(address, 1, (_, count) => count + 1) > limits.MaxConnectionsPerAddress)
        {
            Release(address);
            Interlocked.Decrement(ref _unauthenticated);
            return null;
        }

        return new AdmissionTicket(this, limits.MaxConnectionsPerAddress > 0 ? address : null);
    }

    internal void LoggedIn() => Interlocked.Decrement(ref _unauthenticated);

    internal void Closed(IPAddress? address, bool loggedIn)
    {
        if (!loggedIn)
        {
            Interlocked.Decrement(ref _unauthenticated);
        }

        if (address is not null)
        {
            Release(address);
        }
    }

    private void Release(IPAddress address)
    {
        // Remove the entry at zero, so that the map holds only addresses with open connections.
        while (_perAddress.TryGetValue(address, out var count))
        {
            if (count <= 1 ? _perAddress.TryRemove(new KeyValuePair<IPAddress, int>(address, count)) : _perAddress.TryUpdate(address, count - 1, count))
            {
                return;
            }
        }
    }
}
