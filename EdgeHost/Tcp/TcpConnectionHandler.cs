using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Drain;
using Orleans.Im.EdgeHost.Metrics;
using Orleans.Im.EdgeHost.Sessions;

namespace Orleans.Im.EdgeHost.Tcp;

/// <summary>Kestrel's entry point for the mobile protocol: one <see cref="TcpConnection"/> per accepted socket.</summary>
public sealed class TcpConnectionHandler(SessionHub sessions, EdgeDrain drain, ConnectionAdmission admission, IOptions<EdgeOptions> options, TimeProvider time, EdgeMetrics metrics, ILogger<TcpConnection> logger)
    : ConnectionHandler
{
    private int _connections;

    /// <summary>Open TCP connections.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        Interlocked.Increment(ref _connections);
        metrics.ConnectionOpened(EdgeMetrics.Tcp);
        // No logging scope held here for the connection's life (with the execution context it forks, ~0.3 KB on every
        // idle connection): Kestrel's own scope names the connection, and each request begins one with the device.
        try
        {
            using var ticket = admission.TryAdmit((connection.RemoteEndPoint as IPEndPoint)?.Address);
            await new TcpConnection(connection, sessions, drain, options.Value, time, metrics, logger, ticket).RunAsync();
        }
        finally
        {
            Interlocked.Decrement(ref _connections);
            metrics.ConnectionClosed(EdgeMetrics.Tcp);
        }
    }
}
