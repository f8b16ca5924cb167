using System.Collections.Concurrent;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// An edge played by a test on one accepted connection, for SDK tests that need an answer to go missing or a frame no
/// real edge would send at that moment: it logs in as alice, answers syncs and pings, and records sends.
/// </summary>
public static class PlayedEdge
{
    /// <summary>The seq every answered send is acked with (as a duplicate, so the SDK has nothing to deliver).</summary>
    public const long AckedSeq = 7;

    /// <summary>Serves until the client closes the connection (or the test shuts it down); the pings it answered.</summary>
    public static async Task<int> ServeAsync(RawConnection connection, bool answerSends, ConcurrentQueue<string> sends, TimeSpan patience)
    {
        var pings = 0;
        try
        {
            await AnswerAsync(connection, answerSends, sends, patience, () => pings++);
        }
        catch (IOException)
        {
            // Shut down by the test while a reply was being written.
        }

        return pings;
    }

    private static async Task AnswerAsync(RawConnection connection, bool answerSends, ConcurrentQueue<string> sends, TimeSpan patience, Action pinged)
    {
        while (await connection.ReadFrameAsync(patience) is var (op, requestId, body))
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
                    pinged();
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
                            Seq = AckedSeq,
                            ServerTimeMs = 1,
                        });
                    }

                    break;
            }
        }
    }
}
