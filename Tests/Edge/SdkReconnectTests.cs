using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Orleans.Im.Client;
using Orleans.Im.Tests.Infrastructure;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// How the SDK reconnects, against edges played by the test over real sockets: which addresses an attempt tries, and
/// what becomes of unacknowledged sends once it stops trying.
/// </summary>
[Trait("Category", "Edge")]
public sealed class SdkReconnectTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private static Task<int> ServeAsync(RawConnection connection, bool answerSends, ConcurrentQueue<string> sends) =>
        PlayedEdge.ServeAsync(connection, answerSends, sends, Patience);

    [Fact]
    public async Task One_reconnect_attempt_tries_every_address_of_a_redirect_before_backing_off()
    {
        var draining = Listen();
        var target = Listen();
        var closed = Listen();
        var closedPort = Port(closed);
        closed.Stop();
        try
        {
            // One attempt only: before, it went to the redirect's first address alone, which refuses at once.
            await using var client = NewClient(Port(draining), maxReconnectAttempts: 1);
            var connecting = client.ConnectAsync();
            await using (var first = RawConnection.Accepted(await draining.AcceptTcpClientAsync().WaitAsync(Patience)))
            {
                var served = ServeAsync(first, answerSends: true, new ConcurrentQueue<string>());
                await connecting.WaitAsync(Patience);
                await first.SendAsync(V1.Op.Redirect, 0, new V1.Redirect
                {
                    Addresses = { $"127.0.0.1:{closedPort}", $"127.0.0.1:{Port(target)}" },
                    Reason = "draining",
                });
                first.Socket.Shutdown(SocketShutdown.Both);
                await served.WaitAsync(Patience);
            }

            await using var second = RawConnection.Accepted(await target.AcceptTcpClientAsync().WaitAsync(Patience));
            var secondServed = ServeAsync(second, answerSends: true, new ConcurrentQueue<string>());
            var status = await Eventually.ReturnsAsync(() => Task.FromResult(client.Status), s => s == ImClientStatus.Connected, Patience);

            Assert.Equal((ImClientStatus.Connected, 2, 1), (status, client.ConnectionCount, client.RedirectCount));
            Assert.Equal($"127.0.0.1:{Port(target)}", client.Endpoint);
            await client.DisposeAsync();
            await secondServed.WaitAsync(Patience);
        }
        finally
        {
            draining.Stop();
            target.Stop();
        }
    }

    [Fact]
    public async Task Once_the_client_gives_up_reconnecting_its_unacked_sends_fail_and_are_not_resent_later()
    {
        var edge = Listen();
        try
        {
            await using var client = NewClient(Port(edge), maxReconnectAttempts: 2);
            var connecting = client.ConnectAsync();
            var sends = new ConcurrentQueue<string>();
            Task<SendAckOrFailure> sending;
            await using (var first = RawConnection.Accepted(await edge.AcceptTcpClientAsync().WaitAsync(Patience)))
            {
                var served = ServeAsync(first, answerSends: false, sends);
                await connecting.WaitAsync(Patience);
                sending = Outcome(client.SendTextAsync("p2p:alice:bob", "hello", clientMsgId: "stranded"));
                await Eventually.ReturnsAsync(() => Task.FromResult(sends.Count), n => n == 1, Patience);
                first.Socket.Shutdown(SocketShutdown.Both);
                await served.WaitAsync(Patience);
            }

            // The edge is down for the client: every reconnect is accepted and closed before the login is answered.
            var refusing = RefuseAllAsync(edge);
            var failure = (await sending.WaitAsync(Patience)).Failure;

            Assert.IsType<ImClientException>(failure);
            Assert.Contains("stranded", failure.Message, StringComparison.Ordinal);
            Assert.Equal((ImClientStatus.WaitingForReconnect, 0), (client.Status, client.UnackedCount));
            Assert.Equal(2, await refusing.Stop());

            // Back up: an explicit connect does not resend it; the application's retry with the same id is acked once.
            var again = new ConcurrentQueue<string>();
            var accepting = edge.AcceptTcpClientAsync();
            var reconnecting = client.ConnectAsync();
            await using var second = RawConnection.Accepted(await accepting.WaitAsync(Patience));
            var secondServed = ServeAsync(second, answerSends: true, again);
            await reconnecting.WaitAsync(Patience);
            await client.PingAsync().WaitAsync(Patience);
            Assert.Empty(again);

            var ack = await client.SendTextAsync("p2p:alice:bob", "hello", clientMsgId: "stranded").WaitAsync(Patience);
            Assert.Equal(("stranded", PlayedEdge.AckedSeq), (ack.ClientMsgId, ack.Seq));
            Assert.Equal(["stranded"], again);
            await client.DisposeAsync();
            await secondServed.WaitAsync(Patience);
        }
        finally
        {
            edge.Stop();
        }
    }

    private sealed record SendAckOrFailure(V1.SendAck? Ack, Exception Failure);

    private static async Task<SendAckOrFailure> Outcome(Task<V1.SendAck> send)
    {
        try
        {
            return new SendAckOrFailure(await send, new InvalidOperationException("the send was acked"));
        }
        catch (Exception ex)
        {
            return new SendAckOrFailure(null, ex);
        }
    }

    private static TcpListener Listen()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return listener;
    }

    private static int Port(TcpListener listener) => ((IPEndPoint)listener.LocalEndpoint).Port;

    private static ImClient NewClient(int port, int maxReconnectAttempts) => new(new ImClientOptions
    {
        Port = port,
        TokenProvider = _ => Task.FromResult("token"),
        DeviceId = "phone",
        Platform = "test",
        HeartbeatInterval = TimeSpan.FromMilliseconds(200),
        CatchUpInterval = TimeSpan.Zero,
        RequestTimeout = TimeSpan.FromSeconds(5),
        ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
        MaxReconnectDelay = TimeSpan.FromMilliseconds(200),
        MaxReconnectAttempts = maxReconnectAttempts,
    });

    /// <summary>Accepts and at once closes every connection until stopped; how many it closed.</summary>
    private sealed class Refusal(Task<int> loop, CancellationTokenSource stop)
    {
        public async Task<int> Stop()
        {
            await stop.CancelAsync();
            var count = await loop.WaitAsync(Patience);
            stop.Dispose();
            return count;
        }
    }

    private static Refusal RefuseAllAsync(TcpListener listener)
    {
        var stop = new CancellationTokenSource(Patience);
        async Task<int> Loop()
        {
            var refused = 0;
            while (true)
            {
                TcpClient accepted;
                try
                {
                    accepted = await listener.AcceptTcpClientAsync(stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return refused;
                }

                accepted.Dispose();
                refused++;
            }
        }

        return new Refusal(Loop(), stop);
    }
}
