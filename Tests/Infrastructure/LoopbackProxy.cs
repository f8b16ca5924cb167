using System.Net;
using System.Net.Sockets;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// A TCP proxy on loopback between a client and a server, for network faults: it can swallow what the server sends
/// (an ack lost in flight) and kill every connection (a dead socket), as a mobile network does.
/// </summary>
public sealed class LoopbackProxy : IAsyncDisposable
{
    private readonly int _targetPort;
    private readonly List<TcpClient> _sockets = [];
    private readonly CancellationTokenSource _stopping = new();
    private TcpListener _listener = new(IPAddress.Loopback, 0);
    private Task _accepting;

    public LoopbackProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = Task.Run(() => AcceptLoopAsync(_listener));
    }

    public int Port { get; }

    /// <summary>Stops listening and drops every connection: the server is unreachable (connections are refused).</summary>
    public void GoDown()
    {
        _listener.Stop();
        DropAll();
    }

    /// <summary>Listens again on the same port.</summary>
    public void ComeBack()
    {
        _listener = new TcpListener(IPAddress.Loopback, Port);
        _listener.Start();
        _accepting = Task.Run(() => AcceptLoopAsync(_listener));
    }

    /// <summary>While true, bytes from the server are read and thrown away.</summary>
    public bool BlackholeDownstream { get; set; }

    /// <summary>While true, bytes from the client are read and thrown away: to the server, a client gone silent.</summary>
    public bool BlackholeUpstream { get; set; }

    /// <summary>Closes every proxied connection, both sides.</summary>
    public void DropAll()
    {
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                try
                {
                    // A reset, not a polite close: the peer sees the connection die.
                    socket.Client?.LingerState = new LingerOption(true, 0);
                }
                catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
                {
                    // Already closed by its pump.
                }

                socket.Dispose();
            }

            _sockets.Clear();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        DropAll();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync(TcpListener listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(_stopping.Token);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return;
            }

            var server = new TcpClient();
            await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stopping.Token);
            lock (_sockets)
            {
                _sockets.Add(client);
                _sockets.Add(server);
            }

            _ = PumpAsync(client, server, downstream: false);
            _ = PumpAsync(server, client, downstream: true);
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, bool downstream)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            var input = from.GetStream();
            var output = to.GetStream();
            int read;
            while ((read = await input.ReadAsync(buffer, _stopping.Token)) > 0)
            {
                if (!(downstream ? BlackholeDownstream : BlackholeUpstream))
                {
                    await output.WriteAsync(buffer.AsMemory(0, read), _stopping.Token);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // One side went away.
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }
}
