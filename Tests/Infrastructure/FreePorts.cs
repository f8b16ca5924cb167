using System.Net;
using System.Net.Sockets;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// Loopback ports for processes a test starts. They come from below the kernel's ephemeral range (32768 and up on
/// Linux), where no outgoing connection takes one, and each is handed out once per test run: a port the kernel gave
/// out as "free" could be taken meanwhile by a client socket or handed to another test, and the process that was to
/// listen on it then fails with "address already in use".
/// </summary>
public static class FreePorts
{
    private const int First = 20_000;
    private const int Last = 32_000;

    /// <summary>The first gateway port of deploy/run.sh's silos (one per silo from there).</summary>
    private const int RunShGateways = 30_000;

    // A start that differs between runs, so that a run does not trip over the previous one's lingering sockets.
    private static int _next = First + Random.Shared.Next(0, (Last - First) / 2);

    public static int Next()
    {
        for (var tries = 0; tries < Last - First; tries++)
        {
            var port = Interlocked.Increment(ref _next);
            if (port > Last)
            {
                // Wrapped: start again from the bottom (a run uses a few hundred ports, far fewer than the range).
                Interlocked.CompareExchange(ref _next, First, port);
                continue;
            }

            if (port is >= RunShGateways and < RunShGateways + 100)
            {
                // deploy/run.sh's silo gateways, which the tests may run beside: taken here, that run's silo could not start.
                continue;
            }

            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // In use by something else on the machine: the next one.
            }
        }

        throw new InvalidOperationException($"no free loopback port between {First} and {Last}");
    }
}
