using System.Collections.Concurrent;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// An edge played by a test on one accepted connection, for SDK tests that need an answer to go missing or a frame no
/// real edge would send at that moment: it logs in as alice, answers syncs and pings, and records sends.
/// </summary>
public sealed class PlayedEdge
{
    /// <summary>The seq every answered send is acked with (as a duplicate, so the SDK has nothing to deliver).</summary>
    public const long AckedSeq = 7;

    private int _pings;
    private int _syncs;

    /// <summary>Whether sends are acked; when not, they are only recorded.</summary>
    public bool AnswerSends { get; init; } = true;

    /// <summary>The first syncs, this many, get no answer at all.</summary>
    public int SyncsUnanswered { get; init; }

    /// <summary>The first syncs after the unanswered ones, this many, are refused as <c>UNAVAILABLE</c> (retryable).</summary>
    public int SyncsRefused { get; init; }

    /// <summary>Client message ids of the sends received, in order.</summary>
    public ConcurrentQueue<string> Sends { get; } = new();

    public int Pings => Volatile.Read(ref _pings);

    public int Syncs => Volatile.Read(ref _syncs);

    /// <summary>Serves until the client closes the connection (or the test shuts it down).</summary>
    public async Task ServeAsync(RawConnection connection, TimeSpan patience)
    {
        try
        {
            while (await connection.ReadFrameAsync(patience) is var (op, requestId, body))
            {
                await AnswerAsync(connection, op, requestId, body);
            }
        }
        catch (IOException)
        {
            // Shut down by the test while a reply was being written.
        }
    }

    private async Task AnswerAsync(RawConnection connection, V1.Op op, uint requestId, byte[] body)
    {
        switch (op)
        {
            case V1.Op.Login:
                await connection.SendAsync(V1.Op.LoginOk, requestId, new V1.LoginResponse { UserId = "alice", ProtocolVersion = 1 });
                break;
            case V1.Op.Sync:
                var sync = Interlocked.Increment(ref _syncs);
                if (sync <= SyncsUnanswered)
                {
                    break;
                }

                await (sync <= SyncsUnanswered + SyncsRefused
                    ? connection.SendAsync(V1.Op.Error, requestId, new V1.Error { Code = V1.ErrorCode.Unavailable, Message = "played outage", Retryable = true })
                    : connection.SendAsync(V1.Op.SyncOk, requestId, new V1.SyncResponse { Version = 1 }));
                break;
            case V1.Op.Ping:
                Interlocked.Increment(ref _pings);
                await connection.SendAsync(V1.Op.Pong, requestId, new V1.Pong { ServerTimeMs = 1 });
                break;
            case V1.Op.Send:
                var send = V1.SendRequest.Parser.ParseFrom(body);
                Sends.Enqueue(send.ClientMsgId);
                if (AnswerSends)
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
