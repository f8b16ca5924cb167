using System.Net;
using System.Net.Sockets;
using Orleans.Im.Client;
using Orleans.Im.Tests.Infrastructure;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// The SDK against an edge played by the test over a real socket, so that one answer can go missing while the connection
/// stays healthy (pings answered): a lost reply inside a server is what no proxy or socket fault can show.
/// </summary>
[Trait("Category", "Edge")]
public sealed class SdkAckTimeoutTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_send_whose_ack_never_comes_on_a_live_connection_is_resent_on_a_new_one_and_completes()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            await using var client = new ImClient(new ImClientOptions
            {
                Port = port,
                TokenProvider = _ => Task.FromResult("token"),
                DeviceId = "phone",
                Platform = "test",
                HeartbeatInterval = TimeSpan.FromMilliseconds(200),
                CatchUpInterval = TimeSpan.Zero,
                RequestTimeout = TimeSpan.FromSeconds(3),
                ReconnectBaseDelay = TimeSpan.FromMilliseconds(50),
                MaxReconnectDelay = TimeSpan.FromMilliseconds(200),
            });

            // The first connection answers everything (login, sync, pings) except the send.
            var firstEdge = new PlayedEdge { AnswerSends = false };
            var accepting = listener.AcceptTcpClientAsync();
            var connecting = client.ConnectAsync();
            await using var first = RawConnection.Accepted(await accepting.WaitAsync(Patience));
            var firstServed = firstEdge.ServeAsync(first, Patience);
            await connecting.WaitAsync(Patience);
            var sending = client.SendTextAsync("p2p:alice:bob", "hello", clientMsgId: "lost-ack");

            // The client gives up on the ack, closes that connection and resends on a new one, which answers it.
            var secondEdge = new PlayedEdge();
            await using var second = RawConnection.Accepted(await listener.AcceptTcpClientAsync().WaitAsync(Patience));
            var secondServed = secondEdge.ServeAsync(second, Patience);
            var ack = await sending.WaitAsync(Patience);

            Assert.Equal((V1.SendStatus.Duplicate, PlayedEdge.AckedSeq, "lost-ack"), (ack.Status, ack.Seq, ack.ClientMsgId));
            Assert.Equal((2, ImClientStatus.Connected), (client.ConnectionCount, client.Status));
            Assert.Equal(["lost-ack"], firstEdge.Sends);
            Assert.Equal(["lost-ack"], secondEdge.Sends);
            await firstServed.WaitAsync(Patience);
            Assert.True(firstEdge.Pings > 0, "the first connection was alive (its pings answered) when the client gave up on the ack");
            await client.DisposeAsync();
            await secondServed.WaitAsync(Patience);
        }
        finally
        {
            listener.Stop();
        }
    }
}
