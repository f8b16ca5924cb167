using System.Net;
using System.Net.Sockets;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>Loopback ports that were free a moment ago, for processes a test starts.</summary>
public static class FreePorts
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
