using System.Collections.Concurrent;
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
            var firstSends = new ConcurrentQueue<string>();
            var accepting = listener.AcceptTcpClientAsync();
            var connecting = client.ConnectAsync();
            await using var first = RawConnection.Accepted(await accepting.WaitAsync(Patience));
            var firstServed = ServeAsync(first, answerSends: false, firstSends);
            await connecting.WaitAsync(Patience);
            var sending = client.SendTextAsync("p2p:alice:bob", "hello", clientMsgId: "lost-ack");

            // The client gives up on the ack, closes that connection and resends on a new one, which answers it.
            var secondSends = new ConcurrentQueue<string>();
            await using var second = RawConnection.Accepted(await listener.AcceptTcpClientAsync().WaitAsync(Patience));
            var secondServed = ServeAsync(second, answerSends: true, secondSends);
            var ack = await sending.WaitAsync(Patience);

            Assert.Equal((V1.SendStatus.Duplicate, 7L, "lost-ack"), (ack.Status, ack.Seq, ack.ClientMsgId));
            Assert.Equal((2, ImClientStatus.Connected), (client.ConnectionCount, client.Status));
            Assert.Equal(["lost-ack"], firstSends);
            Assert.Equal(["lost-ack"], secondSends);
            var firstPings = await firstServed.WaitAsync(Patience);
            Assert.True(firstPings > 0, "the first connection was alive (its pings answered) when the client gave up on the ack");
            await client.DisposeAsync();
            await secondServed.WaitAsync(Patience);
        }
        finally
        {
            listener.Stop();
        }
    }

    /// <summary>Plays the edge on one connection until the client closes it; the pings it answered.</summary>
    private static async Task<int> ServeAsync(RawConnection connection, bool answerSends, ConcurrentQueue<string> sends)
    {
        var pings = 0;
        while (await connection.ReadFrameAsync(Patience) is var (op, requestId, body))
        {
            switch (op)
            {
                case V1.Op.Login:
                    await connection.SendAsync(V1.Op.LoginOk, requestId, new V1.LoginResponse { UserId = "alice", ProtocolVersion = 1 });
                    break;
                case V1.Op.Sync:
                    await connection.SendAsync(V1.Op.SyncOk, requestId, new V1.SyncResponse { Version = 1 });
                    break;
                case V1.Op.Ping:
                    pings++;
                    await connection.SendAsync(V1.Op.Pong, requestId, new V1.Pong { ServerTimeMs = 1 });
                    break;
                case V1.Op.Send:
                    var send = V1.SendRequest.Parser.ParseFrom(body);
                    sends.Enqueue(send.ClientMsgId);
                    if (answerSends)
                    {
                        await connection.SendAsync(V1.Op.SendAck, requestId, new V1.SendAck
                        {
                            ConversationId = send.ConversationId,
                            ClientMsgId = send.ClientMsgId,
                            Status = V1.SendStatus.Duplicate,
                            Seq = 7,
                            ServerTimeMs = 1,
                        });
                    }

                    break;
            }
        }

        return pings;
    }
}
