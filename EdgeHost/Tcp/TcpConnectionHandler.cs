using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
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

    public override Task OnConnectedAsync(ConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);

        // Not an async method: the connection's own RunAsync is the one state machine it keeps for its life (an async
        // wrapper here was another ~0.1 KB on every idle connection). No logging scope is held for the connection's
        // life either (with the execution context it forks, ~0.3 KB): Kestrel's own scope names the connection, and
        // each request begins one with the device.
        // A phone that loses its network sends no close: with the timeout, the first push it does not acknowledge finds it
        // gone within seconds, and what it missed goes through offline push (see EdgeOptions.UnacknowledgedDataTimeout).
        TcpUserTimeout.TryApply(connection.Features.Get<IConnectionSocketFeature>()?.Socket, options.Value.UnacknowledgedDataTimeout);
        return new TcpConnection(connection, this, sessions, drain, options.Value, time, metrics, logger).RunAsync(admission);
    }

    /// <summary>A connection began: counted until <see cref="Closed"/>.</summary>
    internal void Opened()
    {
        Interlocked.Increment(ref _connections);
        metrics.ConnectionOpened(EdgeMetrics.Tcp);
    }

    /// <summary>A connection counted by <see cref="Opened"/> ended.</summary>
    internal void Closed()
    {
        Interlocked.Decrement(ref _connections);
        metrics.ConnectionClosed(EdgeMetrics.Tcp);
    }
}
