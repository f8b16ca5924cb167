using System.Net.Sockets;

namespace Orleans.Im.EdgeHost.Tcp;

/// <summary>Linux's <c>TCP_USER_TIMEOUT</c> on a connection's socket (see <see cref="EdgeOptions.UnacknowledgedDataTimeout"/>).</summary>
public static class TcpUserTimeout
{
    /// <summary><c>TCP_USER_TIMEOUT</c>, an option at <c>IPPROTO_TCP</c> (linux/tcp.h).</summary>
    private const int OptionName = 18;

    /// <summary>
    /// Sets the timeout on <paramref name="socket"/>; false where it cannot be set (not Linux, not TCP, a socket already
    /// closed). Zero or less leaves the kernel's default.
    /// </summary>
    public static bool TryApply(Socket? socket, TimeSpan timeout)
    {
        if (socket is null || timeout <= TimeSpan.Zero || !OperatingSystem.IsLinux() || socket.ProtocolType != ProtocolType.Tcp)
        {
            return false;
        }

        try
        {
            socket.SetRawSocketOption((int)SocketOptionLevel.Tcp, OptionName, BitConverter.GetBytes((uint)Math.Min(timeout.TotalMilliseconds, uint.MaxValue)));
            return true;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Closed already, or refused: the connection works without it (found at the idle timeout instead).
            return false;
        }
    }

    /// <summary>The timeout set on <paramref name="socket"/> (Linux), for diagnostics and tests.</summary>
    public static TimeSpan Read(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        var value = new byte[4];
        socket.GetRawSocketOption((int)SocketOptionLevel.Tcp, OptionName, value);
        return TimeSpan.FromMilliseconds(BitConverter.ToUInt32(value));
    }
}
