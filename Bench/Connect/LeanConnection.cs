using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Orleans.Im.Protocol.Framing;
using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Bench.Connect;

/// <summary>
/// A signed-in TCP connection with nothing else: login frame, then pings and a read that discards what comes. Leaner than
/// the SDK (no channels, no catch-up), so that one generator process holds ~19,000 of them on a few MB.
/// </summary>
public sealed class LeanConnection : IDisposable
{
    /// <summary>Linux <c>IP_BIND_ADDRESS_NO_PORT</c>: pick the source port at connect, per destination, not at bind.</summary>
    private const int IpBindAddressNoPort = 24;
    private const int SolIp = 0;
    private const int ReadBufferBytes = 256;
    private const int MaxLoginResponseBytes = 4096;

    private readonly Socket _socket;
    private int _closed;
    private long _lastSentAt = Stopwatch.GetTimestamp();

    private LeanConnection(Socket socket) => _socket = socket;

    /// <summary>Set once the server closed it (or a read failed) before <see cref="Dispose"/>.</summary>
    public bool Dropped => Volatile.Read(ref _closed) == 1;

    /// <summary>Whether nothing was sent for <paramref name="interval"/> (since the login or the last ping): time for a ping.</summary>
    public bool PingDue(TimeSpan interval) => Stopwatch.GetElapsedTime(Volatile.Read(ref _lastSentAt)) >= interval;

    /// <summary>A signed-in connection, or null when the edge answered the login with an error (to retry later).</summary>
    public static async Task<LeanConnection?> OpenAsync(IPAddress source, IPEndPoint edge, string token, string deviceId, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.SetRawSocketOption(SolIp, IpBindAddressNoPort, BitConverter.GetBytes(1));
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(edge, cancellationToken);
            if (!await SignInAsync(socket, token, deviceId, cancellationToken))
            {
                // Refused (a login storm: RATE_LIMITED, retryable): the caller tries again later, as a client would.
                socket.Dispose();
                return null;
            }

            var connection = new LeanConnection(socket);
            _ = connection.DiscardAsync();
            return connection;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Sends the login frame on a connected socket and reads the answer: true when signed in, false when the edge refused
    /// it with an error frame (retryable, e.g. a login storm); throws on anything else.
    /// </summary>
    public static async Task<bool> SignInAsync(Socket socket, string token, string deviceId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        var login = new ArrayBufferWriter<byte>();
        FrameWriter.Write(login, (ushort)Op.Login, 1, new LoginRequest
        {
            Token = token,
            DeviceId = deviceId,
            Platform = "bench",
            ClientVersion = "bench",
            ProtocolVersion = FrameHeader.CurrentVersion,
        });
        await socket.SendAsync(login.WrittenMemory, cancellationToken);
        var header = await ReadFrameAsync(socket, cancellationToken);
        if (header == (ushort)Op.Error)
        {
            return false;
        }

        return header == (ushort)Op.LoginOk ? true : throw new IOException($"login answered op {header}");
    }

    /// <summary>Sends a prepared ping frame; a failure marks the connection dropped.</summary>
    public async Task PingAsync(ReadOnlyMemory<byte> pingFrame)
    {
        Volatile.Write(ref _lastSentAt, Stopwatch.GetTimestamp());
        try
        {
            await _socket.SendAsync(pingFrame);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            Volatile.Write(ref _closed, 1);
        }
    }

    /// <summary>Reads one whole frame and returns its operation.</summary>
    private static async Task<ushort> ReadFrameAsync(Socket socket, CancellationToken cancellationToken)
    {
        var header = new byte[FrameHeader.Size];
        await ReadExactlyAsync(socket, header, cancellationToken);
        var parsed = FrameHeader.Read(header);
        if (parsed.BodyLength > MaxLoginResponseBytes)
        {
            throw new IOException("login response too large");
        }

        await ReadExactlyAsync(socket, new byte[parsed.BodyLength], cancellationToken);
        return parsed.Operation;
    }

    private static async Task ReadExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (buffer.Length > 0)
        {
            var read = await socket.ReceiveAsync(buffer, cancellationToken);
            if (read == 0)
            {
                throw new IOException("closed during login");
            }

            buffer = buffer[read..];
        }
    }

    private async Task DiscardAsync()
    {
        var buffer = new byte[ReadBufferBytes];
        try
        {
            while (await _socket.ReceiveAsync(buffer) > 0)
            {
                // Pongs and pushes: only their arrival matters (the connection is alive).
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Closed.
        }

        Interlocked.CompareExchange(ref _closed, 1, 0);
    }

    public void Dispose()
    {
        Interlocked.CompareExchange(ref _closed, 2, 0);
        _socket.Dispose();
    }

    /// <summary>One ping frame, shared by every connection (the server does not track ping request ids).</summary>
    public static byte[] PingFrame()
    {
        var buffer = new ArrayBufferWriter<byte>();
        FrameWriter.Write(buffer, (ushort)Op.Ping, 2, new Ping());
        return buffer.WrittenSpan.ToArray();
    }
}
