using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Google.Protobuf;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Orleans.Im.EdgeHost.Drain;
using Orleans.Im.EdgeHost.Logging;
using Orleans.Im.EdgeHost.Metrics;
using Orleans.Im.EdgeHost.Protocol;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.Messages;
using Orleans.Im.Protocol.Framing;
using Orleans.Im.Push;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.EdgeHost.Tcp;

/// <summary>
/// One mobile-protocol connection: a read loop that parses frames and serves requests in order, and a write loop that
/// drains a bounded outbound queue, batching pushed events into one frame. Every failure ends here: bad input gets an
/// error frame where one can be sent and a close; nothing escapes to Kestrel or touches other connections.
/// </summary>
public sealed partial class TcpConnection : IPushTarget
{
    private static readonly TimeSpan WriterDrainTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan TimeoutCheckPeriod = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Frames taken from one read before they are served: the rest stay in the pipe for the next round. One read can
    /// hold the whole input buffer (a client that pipelines, or floods), and each frame taken is a copied body and a list
    /// entry held until served: tens of thousands of tiny frames would otherwise be copied at once.
    /// </summary>
    public const int MaxFramesPerRead = 64;

    /// <summary>
    /// Bytes the write loop lets gather in the pipe before it flushes. A flush waits while the socket cannot take more, and
    /// meanwhile what is left stays in the outbound queue, whose bounds (a slow consumer's drops, the replies' bytes) hold;
    /// without it, a whole queue's frames went into the pipe's memory before the first flush, outside those bounds.
    /// </summary>
    private const int FlushAfterBytes = 64 * 1024;

    /// <summary>How soon a read loop that waits for room for its answers looks again at first, and at most (<see cref="ReplyRoomAsync"/>).</summary>
    private static readonly TimeSpan ReplyRoomFirstPoll = TimeSpan.FromMilliseconds(5);

    private static readonly TimeSpan ReplyRoomLastPoll = TimeSpan.FromMilliseconds(100);

    private readonly ConnectionContext _connection;
    private readonly SessionHub _sessions;
    private readonly EdgeDrain _drain;
    private readonly EdgeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly EdgeMetrics _metrics;
    private readonly OutboundQueue _outbound;
    private readonly long _openedAt;
    private readonly TcpConnectionHandler _owner;
    private AdmissionTicket? _admission;
    private SessionHub.OpenSession? _open;

    /// <summary>The device of the login in progress (see <see cref="DeviceId"/>).</summary>
    private volatile string? _loggingInDeviceId;
    private int _resyncPending;
    private long _fullSinceTicks;

    /// <summary>What <c>has_more = true</c> adds to a sync answer: its tag and its one byte.</summary>
    private const int HasMoreFieldBytes = 2;


    // Body bytes of the push frame the write loop is gathering (the write loop's own: no other thread touches it).
    private int _pushBytes;

    // When the pending read times out (a TimeProvider timestamp; long.MaxValue while none is pending), and whether it did.
    private long _readDeadline = long.MaxValue;
    private int _timedOut;

    // When the client was last heard from (a read returned bytes; a TimeProvider timestamp), and whether the connection was
    // lost (reset, given up by the kernel, silent) rather than closed by either side: set by the reader or the writer,
    // whichever meets the socket's error.
    private long _lastHeard;

    // When the last whole frame was read (a TimeProvider timestamp): the idle timeout counts from it. The read loop's own.
    private long _lastFrameAt;
    private volatile bool _lost;

    // A closing frame is queued (a kick, a redirect, a fatal error): no request is served after it, and no other closing
    // frame is queued. 1 once set.
    private int _closing;

    private bool IsClosing => Volatile.Read(ref _closing) == 1;

    public TcpConnection(ConnectionContext connection, TcpConnectionHandler owner, SessionHub sessions, EdgeDrain drain, EdgeOptions options, TimeProvider time, EdgeMetrics metrics, ILogger logger)
    {
        _owner = owner;
        _metrics = metrics;
        _connection = connection;
        _sessions = sessions;
        _drain = drain;
        _options = options;
        _time = time;
        _logger = logger;
        _openedAt = time.GetTimestamp();
        _outbound = new OutboundQueue(options.OutboundQueueCapacity, options.MaxQueuedReplyBytes);
    }

    /// <summary>
    /// The device logged in (or logging in) here: known from the login request on, not only once it is registered, since
    /// the connection takes its user's pushes from before its registration (a kick of this device then finds it).
    /// </summary>
    public string DeviceId => _open?.Session.DeviceId ?? _loggingInDeviceId ?? "";

    public int QueuedPushes => _outbound.Count;

    private ClientSession? Session => _open?.Session;

    /// <summary>
    /// The connection, from accept to close: admitted under the flood limits (<paramref name="admission"/>; a refused one
    /// is told so and closed), then read and written until either side ends it.
    /// </summary>
    public async Task RunAsync(ConnectionAdmission admission)
    {
        ArgumentNullException.ThrowIfNull(admission);
        _owner.Opened();
        try
        {
            _admission = admission.TryAdmit((_connection.RemoteEndPoint as IPEndPoint)?.Address);

            // Started inline: it returns at its first wait for something to write (no thread-pool hop, no wrapper task).
            var writer = WriteLoopAsync();
            using var timeouts = WatchTimeouts();
            try
            {
                if (_admission is null)
                {
                    // Over a flood limit (too many from this address, or too many not logged in): try again later.
                    const string Refusal = "too many connections; retry later";
                    Log.Closing(_logger, _connection.ConnectionId, Refusal);
                    _outbound.TryWrite(new Outbound.Reply((ushort)V1.Op.Error, 0, ProtoMapper.Error(V1.ErrorCode.RateLimited, Refusal, retryable: true), CloseAfter: true));
                }
                else if (_drain.IsDraining)
                {
                    // Not taking connections: say where to go instead, and close.
                    Redirect(await _drain.NextRedirectAsync());
                }
                else
                {
                    await ReadLoopAsync();
                }
            }
            catch (Exception ex) when (!Closing(ex))
            {
                // The boundary: whatever went wrong, this connection ends and nothing else notices.
                Log.ConnectionFailed(_logger, _connection.ConnectionId, ex);
            }
            catch (OperationCanceledException)
            {
                // The connection closed: nothing to tell, and nothing must escape to the server.
            }
            finally
            {
                _outbound.Complete();
                if (_open is not null)
                {
                    try
                    {
                        if (_lost)
                        {
                            // Pushes written since the client was last heard from may have gone into a dead connection.
                            _open.Lost(_time.GetElapsedTime(_lastHeard));
                        }

                        await _open.DisposeAsync();
                    }
                    catch (Exception ex) when (ex is not OutOfMemoryException)
                    {
                        // Whatever it was (a cancellation from the cluster too): the writer's drain and the input's
                        // completion below must still run.
                        Log.RequestFailed(_logger, _connection.ConnectionId, "close", ex.Message);
                    }
                }

                // The writer sends what is queued (a last error frame) and completes the output, which closes the socket
                // gracefully. A peer that does not read could hold that up forever: then the connection is cut.
                if (await Task.WhenAny(writer, Task.Delay(WriterDrainTimeout)) != writer)
                {
                    _connection.Abort(new ConnectionAbortedException("peer does not read"));
                    await writer;
                }

                await _connection.Transport.Input.CompleteAsync();
            }
        }
        finally
        {
            _admission?.Dispose();
            _owner.Closed();
        }
    }

    public void Push(UserEventBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_outbound.TryWrite(new Outbound.Events(batch)))
        {
            Interlocked.Exchange(ref _fullSinceTicks, 0);
            return;
        }

        if (IsClosing || _outbound.IsCompleted)
        {
            // Refused because the connection is going (its push route is detached only after its sessions end, which may
            // take a while): not a slow consumer, and nothing to resync on a connection that will not write again.
            return;
        }

        // The device does not read fast enough: drop, tell it to resync later, and give up on it if this lasts. Through
        // RequestResync, which wakes the writer: it may have emptied the queue and parked since this write was refused,
        // and would otherwise say "resync" only with its next frame, maybe a pong most of a minute away.
        RequestResync();
        var now = _time.GetUtcNow().UtcTicks;
        var since = Interlocked.CompareExchange(ref _fullSinceTicks, now, 0);
        _metrics.PushDropped(EdgeMetrics.Tcp);
        Log.PushDropped(_logger, _connection.ConnectionId);
        if (since != 0 && TimeSpan.FromTicks(now - since) > _options.SlowConsumerTimeout)
        {
            _metrics.SlowConsumerClosed(EdgeMetrics.Tcp);
            Log.Closing(_logger, _connection.ConnectionId, "slow consumer");
            _connection.Abort(new ConnectionAbortedException("slow consumer"));
        }
    }

    public void RequestResync()
    {
        Interlocked.Exchange(ref _resyncPending, 1);
        // An empty batch wakes the writer, which adds the resync event to what it writes next.
        _outbound.TryWrite(new Outbound.Events(new UserEventBatch("", [])));
    }

    public void Kick(string reason)
    {
        var kick = new V1.PushBatch { Events = { new V1.Event { Kick = new V1.Kick { Reason = reason } } } };
        CloseWith(new Outbound.Reply((ushort)V1.Op.Push, 0, kick, CloseAfter: true), reason);
    }

    public void Redirect(EdgeRedirect redirect)
    {
        ArgumentNullException.ThrowIfNull(redirect);
        var body = new V1.Redirect { Reason = redirect.Reason };
        body.Addresses.AddRange(redirect.TcpAddresses);
        CloseWith(new Outbound.Reply((ushort)V1.Op.Redirect, 0, body, CloseAfter: true), redirect.Reason);
    }

    /// <summary>Queues a last frame; the writer closes the connection after it, and the read loop stops reading.</summary>
    private void CloseWith(Outbound.Reply last, string reason)
    {
        if (Interlocked.Exchange(ref _closing, 1) == 1)
        {
            // Closing already, its frame on the way (a revocation is heard twice here: applied by the API call that made it,
            // and again on the cluster's broadcast). The queue may be completed by now, and aborting because this one
            // cannot join it would cut the connection before the client read the first: it would take the close for a
            // lost connection and reconnect, never told why.
            return;
        }

        if (!_outbound.TryWrite(last))
        {
            _connection.Abort(new ConnectionAbortedException(reason));
        }

        _connection.Transport.Input.CancelPendingRead();
    }

    /// <summary>
    /// Read timeouts are checked on Kestrel's once-a-second connection heartbeat: a linked cancellation source and a timer
    /// per connection cost ~0.5 KB on every idle connection. Outside Kestrel (no heartbeat feature), a timer of our own.
    /// </summary>
    private ITimer? WatchTimeouts()
    {
        if (_connection.Features.Get<IConnectionHeartbeatFeature>() is { } heartbeat)
        {
            heartbeat.OnHeartbeat(static state => ((TcpConnection)state).CheckReadDeadline(), this);
            return null;
        }

        return _time.CreateTimer(static state => ((TcpConnection)state!).CheckReadDeadline(), this, TimeoutCheckPeriod, TimeoutCheckPeriod);
    }

    /// <summary>A pending read past its deadline is canceled; the read loop sees the cancel and closes with a timeout.</summary>
    private void CheckReadDeadline()
    {
        if (_time.GetTimestamp() >= Volatile.Read(ref _readDeadline) && Interlocked.Exchange(ref _timedOut, 1) == 0)
        {
            _connection.Transport.Input.CancelPendingRead();
        }
    }

    /// <summary>A duration in the time provider's timestamp ticks, saturating (an infinite timeout never fires).</summary>
    private long TimestampTicks(TimeSpan duration)
    {
        if (duration < TimeSpan.Zero)
        {
            return long.MaxValue / 2;
        }

        var ticks = duration.TotalSeconds * _time.TimestampFrequency;
        return ticks >= long.MaxValue / 2 ? long.MaxValue / 2 : (long)ticks;
    }

    private async Task ReadLoopAsync()
    {
        var input = _connection.Transport.Input;
        while (true)
        {
            // From the last whole frame, not the last byte: a client that trickles a byte of a frame now and then is idle
            // all the same, holding a connection, its buffer and a device registration.
            Volatile.Write(ref _readDeadline, _open is null
                ? _openedAt + TimestampTicks(_options.LoginTimeout)
                : _lastFrameAt + TimestampTicks(_options.IdleTimeout));
            ReadResult result;
            try
            {
                result = await input.ReadAsync();
            }
            catch (Exception ex) when (ex is OperationCanceledException or ConnectionAbortedException)
            {
                // We cut the connection (a slow consumer, a kick) while we waited for a frame: the ordinary end of a
                // connection, not an error (left to Kestrel, it would log each close with a stack trace).
                return;
            }
            catch (Exception ex) when (ex is ConnectionResetException or IOException or System.Net.Sockets.SocketException)
            {
                // Reset by the peer, or given up by the kernel (data unacknowledged past the socket's user timeout, which
                // comes as the socket's own error): lost, not closed. Also an ordinary end.
                Log.Closing(_logger, _connection.ConnectionId, "lost: " + ex.Message);
                _lost = true;
                return;
            }
            finally
            {
                Volatile.Write(ref _readDeadline, long.MaxValue);
            }

            if (result.IsCanceled && Volatile.Read(ref _timedOut) == 1)
            {
                // Silent past the idle timeout: its heartbeats stopped without a close (a phone that lost its network).
                _lost = _open is not null;
                input.AdvanceTo(result.Buffer.Start);
                await FailAsync(0, V1.ErrorCode.Timeout, _open is null ? "no login in time" : "no frame in time");
                return;
            }

            var buffer = result.Buffer;
            if (!buffer.IsEmpty)
            {
                _lastHeard = _time.GetTimestamp();
            }

            var fatal = false;
            (FrameHeader Header, FrameParseStatus Status)? badFrame = null;

            // Made per read, not kept for the connection's life: an idle connection holds no request list.
            List<(FrameHeader Header, byte[] Body)>? requests = null;
            // Frames after a login read in the same batch (a client that does not wait for its answer) take the full limit.
            var loginRead = _open is not null;
            // Stopped at MaxFramesPerRead with whole frames perhaps left: the next read answers at once with them.
            var more = false;
            try
            {
                while (!fatal)
                {
                    if (requests?.Count >= MaxFramesPerRead)
                    {
                        more = true;
                        break;
                    }

                    var limit = loginRead ? _options.MaxFrameBytes : Math.Min(_options.MaxFrameBytes, EdgeOptions.MaxFrameBytesBeforeLogin);
                    var status = FrameParser.TryParse(ref buffer, limit, out var header, out var body);
                    if (status == FrameParseStatus.Incomplete)
                    {
                        break;
                    }

                    if (status != FrameParseStatus.Complete)
                    {
                        // Answered after the frames before it, in order: its error closes the connection, and a reply
                        // queued behind the closing frame would never be written.
                        fatal = true;
                        badFrame = (header, status);
                        break;
                    }

                    // Copied out, so the pipe can be advanced before the (slow) requests are served.
                    _metrics.FrameReceived(EdgeMetrics.Tcp);
                    _lastFrameAt = _time.GetTimestamp();
                    (requests ??= []).Add((header, body.ToArray()));
                    loginRead |= header.Operation == (ushort)V1.Op.Login;
                }

                if (!fatal && !more && result.IsCompleted && buffer.Length > 0)
                {
                    // The client closed mid-frame: nothing to answer.
                    Log.Closing(_logger, _connection.ConnectionId, "truncated frame");
                    fatal = true;
                }
            }
            finally
            {
                // Examined to the end unless stopped early: otherwise the next read would wait for bytes the client may
                // never send, with whole frames in the pipe.
                input.AdvanceTo(buffer.Start, more ? buffer.Start : buffer.End);
            }

            foreach (var (header, body) in requests ?? [])
            {
                if (IsClosing)
                {
                    // Kicked, redirected or failed meanwhile: the frames read with the request are not served (a revoked
                    // session's pipelined sends, say), and a reply would come after the closing frame.
                    return;
                }

                // Its answer would not fit while earlier ones wait to be written: the client's further requests wait too.
                if (_outbound.RepliesFull(_options.MaxFrameBytes) && !await ReplyRoomAsync())
                {
                    return;
                }

                // Everything logged while serving a request names the connection and, once signed in, the user and
                // device. Begun per request, not held for the connection's life: a held scope (with the execution
                // context it forks) is ~0.3-0.7 KB on every idle connection. Not for pings, which log nothing: each
                // scope leaves a new execution context captured by the next read, which outlives a young GC, so an
                // idle connection's heartbeats would keep promoting garbage into generation 2.
                using var scope = header.Operation == (ushort)V1.Op.Ping
                    ? null
                    : _logger.BeginScope(LogScope.Request(_connection.ConnectionId, EdgeMetrics.Tcp, _open?.Session));
                if (!await ServeAsync(header, body))
                {
                    return;
                }
            }

            if (requests is not null)
            {
                // Serving may have taken a while (a slow cluster): the client's wait for its answers is not idleness.
                _lastFrameAt = _time.GetTimestamp();
            }

            if (badFrame is var (badHeader, badStatus))
            {
                await FailAsync(badHeader.RequestId, badStatus switch
                {
                    FrameParseStatus.TooLarge => V1.ErrorCode.TooLarge,
                    FrameParseStatus.UnsupportedVersion => V1.ErrorCode.UnsupportedVersion,
                    _ => V1.ErrorCode.BadRequest,
                }, $"bad frame: {badStatus}");
            }

            // Canceled: kicked (the writer is closing the connection after the kick frame). Completed: the client closed,
            // once the frames it sent before are served.
            if (fatal || (result.IsCompleted && !more) || result.IsCanceled)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Waits, while the answers to this client's earlier requests fill the queue, for the writer to make room: a client
    /// that sends many requests at once (pipelining) and reads its answers is not a slow consumer, and the requests not
    /// yet served wait in the pipe and then in the socket (TCP pushes back on the client). One that does not read is
    /// closed once the queue stays full past <see cref="EdgeOptions.SlowConsumerTimeout"/>, as for pushes. False then.
    /// Polled, from every 5 ms backing off to every 100 ms (a client that does not read costs a few wake-ups a second):
    /// the wait is rare, and a waiter kept for it would cost every connection its memory.
    /// </summary>
    private async Task<bool> ReplyRoomAsync()
    {
        var since = _time.GetTimestamp();
        var poll = ReplyRoomFirstPoll;
        while (_outbound.RepliesFull(_options.MaxFrameBytes))
        {
            if (IsClosing || _connection.ConnectionClosed.IsCancellationRequested)
            {
                return false;
            }

            if (_time.GetElapsedTime(since) > _options.SlowConsumerTimeout)
            {
                _metrics.SlowConsumerClosed(EdgeMetrics.Tcp);
                Log.Closing(_logger, _connection.ConnectionId, "slow consumer: its answers were not read");
                _connection.Abort(new ConnectionAbortedException("slow consumer"));
                return false;
            }

            await Task.Delay(poll, _time);
            poll = TimeSpan.FromTicks(Math.Min(poll.Ticks * 2, ReplyRoomLastPoll.Ticks));
        }

        return true;
    }

    /// <summary>Serves one request; false when the connection must close.</summary>
    private async Task<bool> ServeAsync(FrameHeader header, byte[] rawBody)
    {
        var op = (V1.Op)header.Operation;
        if (_open is null && op is not (V1.Op.Login or V1.Op.Ping))
        {
            return await FailAsync(header.RequestId, V1.ErrorCode.Unauthenticated, "log in first");
        }

        var compressed = (header.Flags & FrameFlags.Deflate) != 0;
        if (_open is null && compressed)
        {
            // Inflating is the costly part of a frame (a 100-byte body may inflate to the frame limit): not for whoever
            // has not shown a token.
            return await FailAsync(header.RequestId, V1.ErrorCode.BadRequest, "compressed frames are for after login");
        }

        // Before the body is inflated or parsed: a client over its budget costs this edge as little as possible. A
        // compressed heartbeat is no longer free: its inflating is work a plain one does not cost.
        if (_open is not null && !_open.TryTakeRequest(compressed ? Math.Max(CostOf(op), RequestCosts.Default) : CostOf(op)))
        {
            _metrics.RequestRateLimited(EdgeMetrics.Tcp);
            return Reply(V1.Op.Error, header.RequestId, ProtoMapper.Error(V1.ErrorCode.RateLimited, "too many requests; retry later", retryable: true));
        }

        var body = rawBody;
        if (compressed
            && !FrameCompression.TryDecompress(new ReadOnlySequence<byte>(rawBody), _options.MaxFrameBytes, out body))
        {
            return await FailAsync(header.RequestId, V1.ErrorCode.BadRequest, "bad compressed body");
        }

        try
        {
            return op switch
            {
                V1.Op.Login => await LoginAsync(header.RequestId, V1.LoginRequest.Parser.ParseFrom(body)),
                V1.Op.Ping => Reply(V1.Op.Pong, header.RequestId, new V1.Pong
                {
                    ClientTimeMs = V1.Ping.Parser.ParseFrom(body).ClientTimeMs,
                    ServerTimeMs = _time.GetUtcNow().ToUnixTimeMilliseconds(),
                }),
                V1.Op.Send => await SendAsync(header.RequestId, V1.SendRequest.Parser.ParseFrom(body)),
                V1.Op.Sync => await SyncAsync(header.RequestId, V1.SyncRequest.Parser.ParseFrom(body)),
                V1.Op.Pull => await PullAsync(header.RequestId, V1.PullRequest.Parser.ParseFrom(body)),
                V1.Op.PullChanges => await PullChangesAsync(header.RequestId, V1.PullChangesRequest.Parser.ParseFrom(body)),
                V1.Op.MarkRead => await MarkReadAsync(header.RequestId, V1.MarkReadRequest.Parser.ParseFrom(body)),
                V1.Op.Recall => await ResultAsync(header.RequestId, V1.RecallRequest.Parser.ParseFrom(body), r => Session!.RecallAsync(r.ConversationId, r.Seq)),
                V1.Op.Edit => await ResultAsync(header.RequestId, V1.EditRequest.Parser.ParseFrom(body), r => Session!.EditAsync(r.ConversationId, r.Seq, ProtoMapper.ToDomain(r.Content))),
                V1.Op.Delete => await ResultAsync(header.RequestId, V1.DeleteRequest.Parser.ParseFrom(body), r => Session!.DeleteForSelfAsync(r.ConversationId, r.Seq)),
                V1.Op.Typing => await TypingAsync(header.RequestId, V1.TypingRequest.Parser.ParseFrom(body)),
                V1.Op.ConnectionToken => await ConnectionTokenAsync(header.RequestId),
                V1.Op.SetPresence => await SetPresenceAsync(header.RequestId, V1.SetPresenceRequest.Parser.ParseFrom(body)),
                V1.Op.SetPushToken => await ResultAsync(header.RequestId, V1.SetPushTokenRequest.Parser.ParseFrom(body), r => Session!.SetPushTokenAsync(r.Provider, r.Token, _time.GetUtcNow(), r.HidePreviews)),
                V1.Op.CsSetAvailable => await ResultAsync(header.RequestId, V1.CsSetAvailableRequest.Parser.ParseFrom(body), r => Session!.SetAgentAvailableAsync(r.ShopId, r.Available)),
                V1.Op.CsAgentView => await AgentViewAsync(header.RequestId, V1.CsAgentViewRequest.Parser.ParseFrom(body)),
                V1.Op.CsTransfer => await ResultAsync(header.RequestId, V1.CsTransferRequest.Parser.ParseFrom(body), r => Session!.TransferAsync(r.ShopId, r.UserId, r.ToAgentId, r.SessionId)),
                V1.Op.CsClose => await ResultAsync(header.RequestId, V1.CsCloseRequest.Parser.ParseFrom(body), r => Session!.CloseSessionAsync(r.ShopId, r.UserId, r.SessionId)),
                V1.Op.CsRate => await ResultAsync(header.RequestId, V1.CsRateRequest.Parser.ParseFrom(body), r => Session!.RateAsync(r.ShopId, (int)Math.Min(r.Score, int.MaxValue))),
                V1.Op.RoomJoin => await RoomJoinAsync(header.RequestId, V1.RoomJoinRequest.Parser.ParseFrom(body)),
                V1.Op.RoomLeave => await ResultAsync(header.RequestId, V1.RoomLeaveRequest.Parser.ParseFrom(body), r => _sessions.LeaveRoomAsync(_open!, r.RoomId)),
                V1.Op.PubSubscribe => await ResultAsync(header.RequestId, V1.PubSubscribeRequest.Parser.ParseFrom(body), r => Session!.SubscribeAsync(r.AccountId)),
                V1.Op.PubUnsubscribe => await ResultAsync(header.RequestId, V1.PubSubscribeRequest.Parser.ParseFrom(body), r => Session!.UnsubscribeAsync(r.AccountId)),
                V1.Op.Logout => false,
                _ => await FailAsync(header.RequestId, V1.ErrorCode.UnknownOperation, $"unknown operation {header.Operation}"),
            };
        }
        catch (InvalidProtocolBufferException)
        {
            return await FailAsync(header.RequestId, V1.ErrorCode.BadRequest, "the body does not parse");
        }
        catch (Exception ex) when (!Closing(ex) && ex is not InvalidProtocolBufferException)
        {
            // The cluster or storage could not answer (a cancellation from there too): this request fails, the connection stays.
            Log.RequestFailed(_logger, _connection.ConnectionId, op.ToString(), ex.Message);
            return Reply(V1.Op.Error, header.RequestId, ProtoMapper.Error(V1.ErrorCode.Unavailable, "try again", retryable: true));
        }
    }

    /// <summary>
    /// Whether <paramref name="ex"/> is this connection closing (a cancellation once it closed), which ends the connection;
    /// a cancellation from elsewhere (a call the cluster or the session layer gave up) fails only its request.
    /// </summary>
    private bool Closing(Exception ex) => ex is OperationCanceledException && _connection.ConnectionClosed.IsCancellationRequested;

    /// <summary>What an operation costs from the connection's request budget.</summary>
    private static int CostOf(V1.Op op) => op switch
    {
        // A send's cost depends on its class (SendAsync): stored ones have the user's send rate instead.
        V1.Op.Login or V1.Op.Ping or V1.Op.Logout or V1.Op.Send => RequestCosts.Free,
        V1.Op.ConnectionToken => RequestCosts.ConnectionToken,
        _ => RequestCosts.Default,
    };

    private async Task<bool> LoginAsync(uint requestId, V1.LoginRequest login)
    {
        if (_open is not null)
        {
            return Reply(V1.Op.Error, requestId, ProtoMapper.Error(V1.ErrorCode.Conflict, "already logged in"));
        }

        if (_drain.IsDraining)
        {
            Redirect(await _drain.NextRedirectAsync());
            return false;
        }

        if (!_sessions.RevocationsKnown)
        {
            // Just started, and not yet sure which tokens were revoked: neither accepted nor refused.
            return Reply(V1.Op.Error, requestId, ProtoMapper.Error(V1.ErrorCode.Unavailable, "starting; retry shortly", retryable: true));
        }

        var claims = _sessions.Authenticate(login.Token);
        if (claims is null)
        {
            return await FailAsync(requestId, V1.ErrorCode.Unauthenticated, "invalid or expired token");
        }

        if (!GrainKeys.IsValidId(login.DeviceId) || login.Platform.Length is 0 or > 32)
        {
            return await FailAsync(requestId, V1.ErrorCode.BadRequest, "device_id (1-64 of A-Z a-z 0-9 - _ .) and platform (1-32) are required");
        }

        _loggingInDeviceId = login.DeviceId;
        _open = await _sessions.OpenAsync(claims, login.DeviceId, login.Platform, this, login.ClientVersion, login.NetworkType);
        if (_open is null)
        {
            // A login storm: this edge is registering as many logins as it may at once. Not an error of the client's.
            return Reply(V1.Op.Error, requestId, ProtoMapper.Error(V1.ErrorCode.RateLimited, "too many logins at once; retry later", retryable: true));
        }

        _admission?.LoggedIn();
        Log.LoggedIn(_logger, _connection.ConnectionId, claims.UserId, login.DeviceId, login.Platform);
        return Reply(V1.Op.LoginOk, requestId, new V1.LoginResponse
        {
            UserId = claims.UserId,
            ServerTimeMs = _time.GetUtcNow().ToUnixTimeMilliseconds(),
            ProtocolVersion = FrameHeader.CurrentVersion,
            HeartbeatSeconds = (uint)_options.HeartbeatInterval.TotalSeconds,
            IdleTimeoutSeconds = (uint)_options.IdleTimeout.TotalSeconds,
            MaxFrameBytes = (uint)_options.MaxFrameBytes,
        });
    }

    private async Task<bool> RoomJoinAsync(uint requestId, V1.RoomJoinRequest request)
    {
        var result = await _sessions.JoinRoomAsync(_open!, request.RoomId, request.Rejoining);
        var response = new V1.RoomJoinResponse { RoomId = request.RoomId, MemberCount = (uint)result.MemberCount, Error = ProtoMapper.ToError(result.Status), Membership = result.Membership };
        // The newest of the recent messages that fit in the frame limit (a room's tail of large messages would not).
        var recent = result.Recent.Select(ProtoMapper.ToProto).ToArray();
        var sizes = Array.ConvertAll(recent, FrameBudget.RepeatedElementSize);
        var fit = recent.Length == 0 ? 0 : FrameBudget.CountThatFit(sizes, _options.MaxFrameBytes - response.CalculateSize(), fromEnd: true);
        response.Recent.AddRange(recent[^fit..]);
        return Reply(V1.Op.RoomJoinOk, requestId, response);
    }

    private async Task<bool> AgentViewAsync(uint requestId, V1.CsAgentViewRequest request) =>
        Reply(V1.Op.CsAgentViewOk, requestId, ProtoMapper.ToProto(request.ShopId, await Session!.GetAgentViewAsync(request.ShopId)));

    private async Task<bool> ConnectionTokenAsync(uint requestId)
    {
        if (await _sessions.IssueConnectionTokenAsync(_open!) is not var (token, expiresAt, bound))
        {
            return Reply(V1.Op.Error, requestId, ProtoMapper.Error(V1.ErrorCode.NotAllowed, "the account cannot start a session"));
        }

        return Reply(V1.Op.ConnectionTokenOk, requestId, new V1.ConnectionToken
        {
            AccessToken = token,
            ExpiresAtMs = expiresAt.ToUnixTimeMilliseconds(),
            BoundToConnection = bound,
        });
    }

    private async Task<bool> SendAsync(uint requestId, V1.SendRequest request)
    {
        using var scope = _logger.BeginScope(LogScope.Conversation(request.ConversationId));
        var started = _time.GetTimestamp();
        SendResult result;
        try
        {
            if (request.Class == V1.MessageClass.Instant && !_open!.TryTakeRequest(RequestCosts.InstantMessage))
            {
                _metrics.RequestRateLimited(EdgeMetrics.Tcp);
                result = SendResult.Refused(SendStatus.RateLimited, "too many requests; retry later");
            }
            else
            {
                result = await Session!.SendAsync(request.ConversationId, request.ClientMsgId, ProtoMapper.ToDomain(request.Content),
                    ProtoMapper.ToDomain(request.Class), request.CollapseKey, request.Mentions);
            }
        }
        catch (Exception ex) when (!Closing(ex))
        {
            // Logged inside the conversation's scope; the caller answers the device "unavailable".
            Log.RequestFailed(_logger, _connection.ConnectionId, nameof(V1.Op.Send), ex.Message);
            _metrics.MessageSent(EdgeMetrics.Tcp, SendStatus.Unavailable, _time.GetElapsedTime(started));
            return Reply(V1.Op.Error, requestId, ProtoMapper.Error(V1.ErrorCode.Unavailable, "try again", retryable: true));
        }

        _metrics.MessageSent(EdgeMetrics.Tcp, result.Status, _time.GetElapsedTime(started));
        var ack = new V1.SendAck
        {
            ConversationId = request.ConversationId,
            ClientMsgId = request.ClientMsgId,
            Status = result.Status switch
            {
                SendStatus.Sent => V1.SendStatus.Sent,
                SendStatus.Duplicate => V1.SendStatus.Duplicate,
                _ => V1.SendStatus.Refused,
            },
            Seq = result.Seq,
            ServerTimeMs = result.IsAccepted ? result.ServerTime.ToUnixTimeMilliseconds() : 0,
        };
        if (!result.IsAccepted)
        {
            ack.Error = ProtoMapper.ToError(result);
        }

        return Reply(V1.Op.SendAck, requestId, ack);
    }

    private async Task<bool> SyncAsync(uint requestId, V1.SyncRequest request)
    {
        var result = await Session!.SyncAsync(request.SinceVersion);
        var response = new V1.SyncResponse { Version = result.Version };
        var wire = new V1.ConversationEntry[result.Changed.Count];
        var sizes = new int[wire.Length];
        for (var i = 0; i < wire.Length; i++)
        {
            wire[i] = ProtoMapper.ToProto(result.Changed[i]);
            sizes[i] = FrameBudget.RepeatedElementSize(wire[i]);
        }

        // Within the frame limit the client was told, like a pull page: thousands of changed entries (an agent's removed
        // customer-service conversations, a first sync) would otherwise make a frame the client refuses, again at every
        // reconnect. Entries come oldest change first, so the rest follow from the last one sent.
        var fit = FrameBudget.CountThatFit(sizes, _options.MaxFrameBytes - response.CalculateSize() - HasMoreFieldBytes);
        response.Changed.AddRange(wire[..fit]);
        if (fit < wire.Length)
        {
            response.Version = result.Changed[fit - 1].Version;
            response.HasMore = true;
        }

        return Reply(V1.Op.SyncOk, requestId, response);
    }

    /// <summary>A page's size as asked (0: the default of 50), at most <see cref="MessageLimits.MaxPullLimit"/>.</summary>
    private static int PageLimit(uint asked) => asked == 0 ? 50 : (int)Math.Min(asked, MessageLimits.MaxPullLimit);

    private async Task<bool> PullAsync(uint requestId, V1.PullRequest request)
    {
        using var scope = _logger.BeginScope(LogScope.Conversation(request.ConversationId));
        var limit = PageLimit(request.Limit);
        var result = await Session!.PullAsync(request.ConversationId,
            new Messages.PullRequest(request.AfterSeq, request.HasBeforeSeq ? request.BeforeSeq : null, limit));
        var response = new V1.PullResponse
        {
            ConversationId = request.ConversationId,
            LastSeq = result.LastSeq,
            HistoryStartsAfterSeq = result.HistoryStartsAfterSeq,
            Error = ProtoMapper.ToError(result.Status),
        };
        response.Messages.AddRange(WithinFrame(response, result.Messages, newestFirst: request.HasBeforeSeq));
        return Reply(V1.Op.PullOk, requestId, response);
    }

    /// <summary>The latest time a DateTimeOffset holds, in Unix ms: an <c>after_ms</c> past it asks for nothing.</summary>
    private static readonly long MaxUnixMilliseconds = DateTimeOffset.MaxValue.ToUnixTimeMilliseconds();

    private async Task<bool> PullChangesAsync(uint requestId, V1.PullChangesRequest request)
    {
        using var scope = _logger.BeginScope(LogScope.Conversation(request.ConversationId));
        var limit = PageLimit(request.Limit);
        var result = await Session!.PullChangesAsync(request.ConversationId, DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(request.AfterMs, 0, MaxUnixMilliseconds)), limit);
        var response = new V1.PullChangesResponse { ConversationId = request.ConversationId, Error = ProtoMapper.ToError(result.Status) };
        var fitted = WithinFrame(response, result.Messages, newestFirst: false, reserved: HasMoreFieldBytes);
        response.Messages.AddRange(fitted);
        // Cut to the frame: the client goes on after the last change it got.
        response.HasMore = result.HasMore || fitted.Length < result.Messages.Count;
        return Reply(V1.Op.PullChangesOk, requestId, response);
    }

    /// <summary>
    /// Adds as many of a page's messages as fit in the frame limit the client was told at login: 200 messages of up to
    /// 16 KiB each do not. The page is cut at the far end from where it was asked (the newest of an <c>after_seq</c>
    /// page, the oldest of a <c>before_seq</c> one), so it stays one contiguous run of seqs and the client goes on from
    /// the last seq it got (or before the first), as after any page shorter than asked.
    /// </summary>
    private V1.Message[] WithinFrame(IMessage response, IReadOnlyList<ChatMessage> messages, bool newestFirst, int reserved = 0)
    {
        var wire = new V1.Message[messages.Count];
        var sizes = new int[messages.Count];
        for (var i = 0; i < wire.Length; i++)
        {
            wire[i] = ProtoMapper.ToProto(messages[i]);
            sizes[i] = FrameBudget.RepeatedElementSize(wire[i]);
        }

        var fit = FrameBudget.CountThatFit(sizes, _options.MaxFrameBytes - response.CalculateSize() - reserved, fromEnd: newestFirst);
        return newestFirst ? wire[^fit..] : wire[..fit];
    }

    private async Task<bool> MarkReadAsync(uint requestId, V1.MarkReadRequest request)
    {
        using var scope = _logger.BeginScope(LogScope.Conversation(request.ConversationId));
        var (status, entry) = await Session!.MarkReadAsync(request.ConversationId, request.Seq);
        return Reply(V1.Op.Result, requestId, new V1.Result
        {
            Error = ProtoMapper.ToError(status),
            Entry = entry is null ? null : ProtoMapper.ToProto(entry),
        });
    }

    private async Task<bool> ResultAsync<T>(uint requestId, T request, Func<T, Task<AccessStatus>> operation)
    {
        var status = await operation(request);
        return Reply(V1.Op.Result, requestId, new V1.Result { Error = ProtoMapper.ToError(status) });
    }

    private async Task<bool> SetPresenceAsync(uint requestId, V1.SetPresenceRequest request)
    {
        await _open!.SetPresenceAsync(request.Away, request.NetworkType);
        return Reply(V1.Op.Result, requestId, new V1.Result());
    }

    private async Task<bool> TypingAsync(uint requestId, V1.TypingRequest request)
    {
        var result = await Session!.TypingAsync(request.ConversationId);
        return result.IsAccepted || Reply(V1.Op.Error, requestId, ProtoMapper.ToError(result));
    }

    /// <summary>
    /// Queues a reply; false (and the connection closes) when the queue is full, by count or by the bytes of replies
    /// waiting (<see cref="EdgeOptions.MaxQueuedReplyBytes"/>): the client asks and does not read, a slow consumer.
    /// </summary>
    private bool Reply(V1.Op op, uint requestId, IMessage body)
    {
        if (_outbound.TryWrite(new Outbound.Reply((ushort)op, requestId, body, CloseAfter: false)))
        {
            return true;
        }

        _metrics.SlowConsumerClosed(EdgeMetrics.Tcp);
        Log.Closing(_logger, _connection.ConnectionId, "slow consumer: outbound queue full");
        return false;
    }

    /// <summary>Sends a fatal error, then closes: returns false for the caller to stop.</summary>
    private Task<bool> FailAsync(uint requestId, V1.ErrorCode code, string message)
    {
        if (Interlocked.Exchange(ref _closing, 1) == 1)
        {
            // Kicked or redirected meanwhile: that frame says why it closes.
            return Task.FromResult(false);
        }

        Log.Closing(_logger, _connection.ConnectionId, message);
        _outbound.TryWrite(new Outbound.Reply((ushort)V1.Op.Error, requestId, ProtoMapper.Error(code, message), CloseAfter: true));
        return Task.FromResult(false);
    }

    private async Task WriteLoopAsync()
    {
        var output = _connection.Transport.Output;
        var reader = _outbound;
        // Made when events come and let go after each write: an idle connection holds no push batch.
        V1.PushBatch? events = null;
        var pushedMessages = 0;
        try
        {
            while (await reader.WaitToReadAsync())
            {
                var close = false;
                while (!close && reader.TryRead(out var item))
                {
                    switch (item)
                    {
                        case Outbound.Events pushed:
                            foreach (var userEvent in pushed.Batch.Events)
                            {
                                pushedMessages += userEvent is MessageEvent ? 1 : 0;
                                if (ProtoMapper.ToProto(userEvent) is { } wire)
                                {
                                    AddPushed(output, events ??= new V1.PushBatch(), wire);
                                }
                            }

                            break;
                        case Outbound.Reply reply:
                            // Keep order: events queued before this reply go out before it.
                            WritePush(output, events);
                            FrameWriter.Write(output, reply.Operation, reply.RequestId, reply.Body);
                            _metrics.FramesSent(EdgeMetrics.Tcp);
                            close = reply.CloseAfter;
                            break;
                    }

                    if (!close && output.CanGetUnflushedBytes && output.UnflushedBytes >= FlushAfterBytes)
                    {
                        var partly = await output.FlushAsync(_connection.ConnectionClosed);
                        if (partly.IsCompleted || partly.IsCanceled)
                        {
                            return;
                        }
                    }
                }

                if (!close && Interlocked.Exchange(ref _resyncPending, 0) == 1)
                {
                    AddPushed(output, events ??= new V1.PushBatch(), new V1.Event { Resync = new V1.Resync { Reason = "pushes were dropped; sync to catch up" } });
                }

                WritePush(output, events);
                events = null;
                if (pushedMessages > 0)
                {
                    _metrics.MessagesPushed(EdgeMetrics.Tcp, pushedMessages);
                    pushedMessages = 0;
                }

                var flushed = await output.FlushAsync(_connection.ConnectionClosed);
                if (close || flushed.IsCompleted || flushed.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or ConnectionAbortedException or InvalidOperationException)
        {
            // The connection went away while writing (closed by us, or by the reader): nothing more to write.
        }
        catch (Exception ex) when (ex is ConnectionResetException or IOException or System.Net.Sockets.SocketException)
        {
            // Reset, or given up by the kernel, seen by the writer first (the reader may then find the input merely ended):
            // lost, as in the read loop. Nothing more to write.
            _lost = true;
        }
        finally
        {
            await output.CompleteAsync();
        }
    }

    /// <summary>
    /// Adds an event to the push frame being gathered, first writing what is gathered when the event would take the frame
    /// past the limit the client was told at login (events that came together are merged: 200 messages of 16 KiB would
    /// make a frame the client refuses), and after it when the frame holds <see cref="EdgeOptions.MaxEventsPerPush"/>.
    /// </summary>
    private void AddPushed(PipeWriter output, V1.PushBatch events, V1.Event wire)
    {
        var size = FrameBudget.RepeatedElementSize(wire);
        if (_pushBytes > 0 && _pushBytes + size > _options.MaxFrameBytes)
        {
            WritePush(output, events);
        }

        events.Events.Add(wire);
        _pushBytes += size;
        if (events.Events.Count >= _options.MaxEventsPerPush)
        {
            WritePush(output, events);
        }
    }

    private void WritePush(PipeWriter output, V1.PushBatch? events)
    {
        if (events is null || events.Events.Count == 0)
        {
            return;
        }

        FrameWriter.Write(output, (ushort)V1.Op.Push, 0, events, _options.CompressFromBytes);
        _metrics.FramesSent(EdgeMetrics.Tcp);
        events.Events.Clear();
        _pushBytes = 0;
    }
}
