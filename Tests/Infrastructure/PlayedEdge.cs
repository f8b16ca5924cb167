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

    private readonly Lock _writesLock = new();
    private Task _lastWrite = Task.CompletedTask;
    private int _pings;
    private int _syncs;

    /// <summary>The answer to the login (alice, protocol 1, no frame limit announced, unless set).</summary>
    public V1.LoginResponse LoginAnswer { get; init; } = new() { UserId = "alice", ProtocolVersion = 1 };

    /// <summary>Pushes written after the login is read and before it is answered, as the protocol allows.</summary>
    public IReadOnlyList<V1.PushBatch> PushesBeforeLoginOk { get; init; } = [];

    /// <summary>The answer to syncs that are neither unanswered nor refused (version 1, nothing changed, unless set).</summary>
    public V1.SyncResponse SyncAnswer { get; init; } = new() { Version = 1 };

    /// <summary>Answers pulls; without it a pull is answered with nothing.</summary>
    public Func<V1.PullRequest, V1.PullResponse>? PullAnswer { get; init; }

    /// <summary>When set, every <c>TYPING</c> is refused with this error (as the server does when it refuses one).</summary>
    public V1.Error? TypingRefusal { get; init; }

    /// <summary>The pulls received, in order.</summary>
    public ConcurrentQueue<V1.PullRequest> Pulls { get; } = new();

    /// <summary>Whether sends are acked; when not, they are only recorded.</summary>
    public bool AnswerSends { get; init; } = true;

    /// <summary>The first syncs, this many, get no answer at all.</summary>
    public int SyncsUnanswered { get; init; }

    /// <summary>The first syncs after the unanswered ones, this many, are refused as <c>UNAVAILABLE</c> (retryable).</summary>
    public int SyncsRefused { get; init; }

    /// <summary>The first sends, this many, are refused with <see cref="SendRefusal"/>.</summary>
    public int SendsRefused { get; init; }

    /// <summary>How the first <see cref="SendsRefused"/> sends are refused (unavailable, retryable, unless set).</summary>
    public V1.Error SendRefusal { get; init; } = new() { Code = V1.ErrorCode.Unavailable, Message = "played outage", Retryable = true };

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
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // Shut down by the test while a reply was being written, or disposed by it while a frame was being read.
        }
    }

    /// <summary>
    /// Writes a frame the test chooses between this edge's answers: writes from the test and from the answering loop
    /// (a pong, say) would otherwise interleave on the socket.
    /// </summary>
    public Task WriteAsync(RawConnection connection, Func<RawConnection, Task> write)
    {
        lock (_writesLock)
        {
            // Each write starts once the one before it ended, however that ended.
            var written = _lastWrite.ContinueWith(_ => write(connection), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
            _lastWrite = written.ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            return written;
        }
    }

    private Task SendAsync(RawConnection connection, V1.Op op, uint requestId, Google.Protobuf.IMessage body) =>
        WriteAsync(connection, c => c.SendAsync(op, requestId, body));

    private async Task AnswerAsync(RawConnection connection, V1.Op op, uint requestId, byte[] body)
    {
        switch (op)
        {
            case V1.Op.Login:
                foreach (var push in PushesBeforeLoginOk)
                {
                    await SendAsync(connection, V1.Op.Push, 0, push);
                }

                await SendAsync(connection, V1.Op.LoginOk, requestId, LoginAnswer);
                break;
            case V1.Op.Pull:
                var pull = V1.PullRequest.Parser.ParseFrom(body);
                Pulls.Enqueue(pull);
                await SendAsync(connection, V1.Op.PullOk, requestId, PullAnswer?.Invoke(pull) ?? new V1.PullResponse { ConversationId = pull.ConversationId });
                break;
            case V1.Op.Typing when TypingRefusal is { } refusal:
                await SendAsync(connection, V1.Op.Error, requestId, refusal);
                break;
            case V1.Op.Sync:
                var sync = Interlocked.Increment(ref _syncs);
                if (sync <= SyncsUnanswered)
                {
                    break;
                }

                await (sync <= SyncsUnanswered + SyncsRefused
                    ? SendAsync(connection, V1.Op.Error, requestId, new V1.Error { Code = V1.ErrorCode.Unavailable, Message = "played outage", Retryable = true })
                    : SendAsync(connection, V1.Op.SyncOk, requestId, SyncAnswer));
                break;
            case V1.Op.Ping:
                Interlocked.Increment(ref _pings);
                await SendAsync(connection, V1.Op.Pong, requestId, new V1.Pong { ServerTimeMs = 1 });
                break;
            case V1.Op.Send:
                var send = V1.SendRequest.Parser.ParseFrom(body);
                Sends.Enqueue(send.ClientMsgId);
                if (Sends.Count <= SendsRefused)
                {
                    await SendAsync(connection, V1.Op.SendAck, requestId, new V1.SendAck
                    {
                        ConversationId = send.ConversationId,
                        ClientMsgId = send.ClientMsgId,
                        Status = V1.SendStatus.Refused,
                        Error = SendRefusal,
                    });
                }
                else if (AnswerSends)
                {
                    await SendAsync(connection, V1.Op.SendAck, requestId, new V1.SendAck
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
