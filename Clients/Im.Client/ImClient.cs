using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Threading.Channels;
using Google.Protobuf;
using Orleans.Im.Protocol.Framing;
using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Client;

/// <summary>
/// A client of the Orleans.Im mobile protocol (TCP + protobuf frames). It logs in with a token, pings, reconnects with
/// backoff, resends unacknowledged messages with their original client message ids, and delivers received messages to
/// <see cref="Messages"/> in seq order per conversation, exactly once, pulling whatever a push did not bring.
/// </summary>
public sealed partial class ImClient : IAsyncDisposable
{
    /// <summary>
    /// The largest frame body accepted until the server announces its own limit at login, and at least that after: the
    /// server's limit (64 KiB by default) is what it accepts and sends, so frames up to the larger of the two are
    /// legitimate.
    /// </summary>
    private const int DefaultMaxFrameBytes = 1024 * 1024;

    /// <summary>
    /// No frame body over this is accepted, whatever limit the server announces: a body (and its inflated form) is held
    /// whole in memory, so a broken or hostile server could otherwise make the client allocate what it likes.
    /// </summary>
    private const int MaxFrameBytesCeiling = 64 * 1024 * 1024;

    /// <summary>
    /// Redirects followed within one connect attempt: two edges draining at once, each naming the other, would otherwise
    /// send a client between them without end.
    /// </summary>
    private const int MaxRedirectsPerAttempt = 3;

    private readonly ImClientOptions _options;
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<Frame>> _pending = new();
    private readonly Lock _sendsLock = new();
    private readonly List<PendingSend> _unacked = [];

    // Why new sends fail at once (the client stopped reconnecting by itself), until a connection opens; under _sendsLock.
    private string? _sendsRefused;
    private bool _signedOut;

    /// <summary>Reconnect loops running (see <see cref="ConnectAsync"/>: with none, a failed connect fails the queued sends).</summary>
    private int _reconnectLoops;
    private readonly Channel<Message> _messages = Channel.CreateUnbounded<Message>();
    private readonly Channel<Event> _events = Channel.CreateUnbounded<Event>();
    private readonly Channel<Work> _work = Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _disposing = new();
    private readonly Dictionary<string, long> _delivered;

    // Per conversation, the latest change (edit, recall) fetched after the fact, in Unix ms; guarded by _delivered's lock.
    private readonly Dictionary<string, long> _changesSeen;

    // Per conversation, changes up to this time (Unix ms) whose fetch was refused: tried again at the next catch-up.
    private readonly Dictionary<string, long> _changesPending = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedDictionary<long, Message>> _ahead = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _connectGate = new(1, 1);
    private readonly Task _deliveryLoop;
    private Connection? _connection;
    private long _syncVersion;

    // Whether a sync has completed (in this run or, by the saved state, an earlier one): until then a conversation this
    // client never saw starts at its read position.
    private volatile bool _firstSyncDone;

    // Per conversation, the lowest seq this device was acked before its first sync completed: the first sync starts a
    // conversation at its read position, and this device's own messages count as read, so without this the messages it
    // sent in that moment would be skipped in its ordered stream.
    private readonly Dictionary<string, long> _ackedBeforeFirstSync = new(StringComparer.Ordinal);

    // The server's time at the latest login, in Unix ms (0 until then): messages stored after it were pushed to this
    // device, so they are new to it even when its own message marked them read before its first sync.
    private long _loginServerTimeMs;
    private int _nextRequestId;

    // The pause before the next catch-up retry, zero after one succeeded (the delivery loop's alone), and whether a retry
    // is queued.
    private TimeSpan _catchUpBackoff;
    private int _catchUpRetryPending;
    private int _reconnectGeneration;
    private TimeSpan _heartbeat;
    // A kick that came while logging in (the attempt's connection's): the attempt stops as signed out, and so does the
    // reconnect loop. Reset at each attempt.
    private volatile string? _kickedAtLogin;

    // Why the connection refused a frame from the server (too large, a version it does not speak): set before its close.
    private volatile string? _frameRefused;
    private volatile Redirect? _redirect;
    private EdgeAddress _endpoint;

    public ImClient(ImClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _heartbeat = options.HeartbeatInterval;
        _endpoint = new EdgeAddress(options.Host, options.Port);
        _syncVersion = options.InitialState?.SyncVersion ?? 0;
        _delivered = new Dictionary<string, long>(options.InitialState?.DeliveredSeqs ?? new Dictionary<string, long>(), StringComparer.Ordinal);
        _changesSeen = new Dictionary<string, long>(options.InitialState?.ChangesSeenMs ?? new Dictionary<string, long>(), StringComparer.Ordinal);
        _firstSyncDone = options.InitialState?.FirstSyncDone ?? (_syncVersion != 0 || _delivered.Count != 0);
        foreach (var (conversationId, changedAtMs) in options.InitialState?.ChangesPending ?? new Dictionary<string, long>())
        {
            _changesPending[conversationId] = changedAtMs;
        }

        _deliveryLoop = Task.Run(DeliveryLoopAsync);
    }

    /// <summary>Messages, per conversation in seq order, each once. Instant messages (seq 0) as they come.</summary>
    public ChannelReader<Message> Messages => _messages.Reader;

    /// <summary>Everything else pushed: edits and recalls, read receipts, typing, the user's own entries, kicks.</summary>
    public ChannelReader<Event> Events => _events.Reader;

    public ImClientStatus Status { get; private set; } = ImClientStatus.Disconnected;

    /// <summary>The signed-in user, once logged in.</summary>
    public string? UserId { get; private set; }

    /// <summary>Connections opened so far (1 after the first connect; more after reconnects).</summary>
    public int ConnectionCount { get; private set; }

    /// <summary>The edge host (<c>host:port</c>) of the current or last connection; a redirect moves it.</summary>
    public string Endpoint => _endpoint.ToString();

    /// <summary>Times a draining edge host sent this client elsewhere.</summary>
    public int RedirectCount { get; private set; }

    /// <summary>
    /// Why the client stopped reconnecting by itself (signed out or kicked, its attempts spent, a frame from the server it
    /// refused), until a connection opens again; null while it connects or reconnects by itself.
    /// </summary>
    public string? StopReason
    {
        get
        {
            lock (_sendsLock)
            {
                return _sendsRefused;
            }
        }
    }

    /// <summary>
    /// True when the client stopped because the server signed it out (another login with this device id, a sign-out
    /// elsewhere, an operator's kick; or the token provider said the sign-in is over), or sent a frame the client refuses;
    /// false while connected, and when it stopped after its reconnect attempts were spent. Signed out, an application
    /// that called <see cref="ConnectAsync"/> again by itself would undo the sign-out (and take the device back from
    /// whoever replaced it): it asks its user first.
    /// </summary>
    public bool SignedOut
    {
        get
        {
            lock (_sendsLock)
            {
                return _signedOut;
            }
        }
    }

    /// <summary>What to keep across restarts (pass it back in <see cref="ImClientOptions.InitialState"/>).</summary>
    public ImClientState SaveState()
    {
        lock (_delivered)
        {
            return new ImClientState(Volatile.Read(ref _syncVersion), new Dictionary<string, long>(_delivered, StringComparer.Ordinal),
                new Dictionary<string, long>(_changesSeen, StringComparer.Ordinal), _firstSyncDone,
                new Dictionary<string, long>(_changesPending, StringComparer.Ordinal));
        }
    }

    /// <summary>Connects and logs in, then resends what was not acked and catches up with what was missed.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposing.IsCancellationRequested, this);
        // Disposing cancels it too: a connection opened after DisposeAsync would stay logged in, pinging, with nobody to
        // read it (and the server, counting the device connected, would send it no offline pushes).
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        await _connectGate.WaitAsync(linked.Token).ConfigureAwait(false);
        try
        {
            if (_connection is { IsOpen: true })
            {
                return;
            }

            Status = ImClientStatus.Connecting;
            _frameRefused = null;
            // The edge last connected to first, then the configured address and the fallbacks: that edge may be gone
            // (scaled away while the device was offline), and trying it alone left the client unable ever to connect.
            await OpenFirstAsync(ReconnectCandidates(null, _endpoint), linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Status = ImClientStatus.Disconnected;
            if (Volatile.Read(ref _reconnectLoops) == 0 && !_disposing.IsCancellationRequested)
            {
                // No reconnect loop will try again (none runs before a first connection, nor after one gave up): the sends
                // queued meanwhile fail now, as they would when a loop gives up, instead of waiting for a ConnectAsync
                // that may never come.
                FailUnackedSends($"not connected: {ex.Message}", signedOut: _kickedAtLogin is not null || ex is ImAuthException { Status: System.Net.HttpStatusCode.Unauthorized });
            }

            throw;
        }
        finally
        {
            _connectGate.Release();
        }
    }

    /// <summary>
    /// Sends a message and completes with its ack. If the connection is lost before the ack, the message is resent with
    /// the same client message id after reconnecting, so it is stored once; the task completes when that ack arrives.
    /// If the client stops reconnecting by itself (its attempts are spent, or this device was signed out by another),
    /// the task fails with <see cref="ImClientException"/> and the message is no longer resent: send it again with the
    /// same client message id, and it is still stored once. Until a connection opens again, new sends fail at once.
    /// </summary>
    public Task<SendAck> SendAsync(string conversationId, Content content, string? clientMsgId = null, MessageClass messageClass = MessageClass.Persistent, string? collapseKey = null)
    {
        var request = new SendRequest
        {
            ConversationId = conversationId,
            ClientMsgId = clientMsgId ?? Guid.NewGuid().ToString("N"),
            Content = content,
            Class = messageClass,
            CollapseKey = collapseKey ?? "",
        };
        return Send(request);
    }

    /// <summary>Queues a send until acked, resending it with the same client message id after a reconnect.</summary>
    private Task<SendAck> Send(SendRequest request)
    {
        var pending = new PendingSend(request, new TaskCompletionSource<SendAck>(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (_sendsLock)
        {
            if (_disposing.IsCancellationRequested)
            {
                // Disposed (or being disposed): nothing will ever send it, and the sends waiting were failed or are being.
                return Task.FromException<SendAck>(new ImClientException("client disposed") { ClientMsgId = request.ClientMsgId });
            }

            if (_sendsRefused is { } reason)
            {
                // Nothing would send it before the application reconnects: it hears so now, as the waiting sends did.
                return Task.FromException<SendAck>(new ImClientException($"{reason}; call ConnectAsync, then send {request.ClientMsgId} again") { ClientMsgId = request.ClientMsgId });
            }

            _unacked.Add(pending);
        }

        TransmitSend(pending);
        return pending.Completion.Task;
    }

    /// <summary>Sends a text message.</summary>
    public Task<SendAck> SendTextAsync(string conversationId, string text, string? clientMsgId = null) =>
        SendAsync(conversationId, new Content { Type = ContentType.Text, Text = text }, clientMsgId);

    /// <summary>
    /// Sends a text message that answers message <paramref name="replyToSeq"/> of the same conversation (a quote; see
    /// <c>Content.reply_to_seq</c>): it must be one already stored, else the ack is refused as a bad request.
    /// </summary>
    public Task<SendAck> ReplyTextAsync(string conversationId, long replyToSeq, string text, string? clientMsgId = null) =>
        SendAsync(conversationId, new Content { Type = ContentType.Text, Text = text, ReplyToSeq = replyToSeq }, clientMsgId);

    /// <summary>Messages sent but not yet acknowledged.</summary>
    public int UnackedCount
    {
        get
        {
            lock (_sendsLock)
            {
                return _unacked.Count;
            }
        }
    }

    public async Task<SyncResponse> SyncAsync(long sinceVersion, CancellationToken cancellationToken = default) =>
        SyncResponse.Parser.ParseFrom(await RequestAsync(Op.Sync, new SyncRequest { SinceVersion = sinceVersion }, Op.SyncOk, cancellationToken).ConfigureAwait(false));

    public async Task<PullResponse> PullAsync(string conversationId, long afterSeq, long? beforeSeq = null, int limit = 50, CancellationToken cancellationToken = default)
    {
        var request = new PullRequest { ConversationId = conversationId, AfterSeq = afterSeq, Limit = (uint)limit };
        if (beforeSeq is { } before)
        {
            request.BeforeSeq = before;
        }

        var response = PullResponse.Parser.ParseFrom(await RequestAsync(Op.Pull, request, Op.PullOk, cancellationToken).ConfigureAwait(false));
        return response.Error is null ? response : throw new ImClientException(response.Error);
    }

    /// <summary>
    /// The messages of a conversation revised (edited, recalled) after <paramref name="afterMs"/> (Unix ms; 0: all), each
    /// as it is now, in the order of their latest revisions. The client asks by itself when a sync shows changes it has
    /// not seen (they come as <see cref="Event.Changed"/> events); an application keeping its own history may ask too.
    /// </summary>
    public async Task<PullChangesResponse> PullChangesAsync(string conversationId, long afterMs, int limit = 50, CancellationToken cancellationToken = default)
    {
        var request = new PullChangesRequest { ConversationId = conversationId, AfterMs = afterMs, Limit = (uint)limit };
        var response = PullChangesResponse.Parser.ParseFrom(await RequestAsync(Op.PullChanges, request, Op.PullChangesOk, cancellationToken).ConfigureAwait(false));
        return response.Error is null ? response : throw new ImClientException(response.Error);
    }

    public async Task<ConversationEntry?> MarkReadAsync(string conversationId, long seq, CancellationToken cancellationToken = default) =>
        (await ResultAsync(Op.MarkRead, new MarkReadRequest { ConversationId = conversationId, Seq = seq }, cancellationToken).ConfigureAwait(false)).Entry;

    public Task RecallAsync(string conversationId, long seq, CancellationToken cancellationToken = default) =>
        ResultAsync(Op.Recall, new RecallRequest { ConversationId = conversationId, Seq = seq }, cancellationToken);

    public Task EditAsync(string conversationId, long seq, Content content, CancellationToken cancellationToken = default) =>
        ResultAsync(Op.Edit, new EditRequest { ConversationId = conversationId, Seq = seq, Content = content }, cancellationToken);

    public Task DeleteForSelfAsync(string conversationId, long seq, CancellationToken cancellationToken = default) =>
        ResultAsync(Op.Delete, new DeleteRequest { ConversationId = conversationId, Seq = seq }, cancellationToken);

    /// <summary>
    /// Tells the server this device's user is away (app in the background, idle) or back, or that the network changed
    /// (null: unchanged). The user shows as away when all their devices are.
    /// </summary>
    public Task SetPresenceAsync(bool away, string? networkType = null, CancellationToken cancellationToken = default) =>
        ResultAsync(Op.SetPresence, new SetPresenceRequest { Away = away, NetworkType = networkType ?? "" }, cancellationToken);

    /// <summary>
    /// Registers where this device is reached while it is not connected (offline push, README): its push service
    /// (<c>apns</c>, <c>fcm</c>, …) and token. Stored on the server for this device's login (registered once, not at
    /// every connect; again when the token rotates, or <paramref name="hidePreviews"/> changes, and after this device was
    /// made to leave by another's login, which forgets it); signed out, it is forgotten. With <paramref name="hidePreviews"/> the device's notifications leave out what messages say (the app's
    /// "show previews" setting). Fails with <see cref="ImClientException"/> when the token is refused.
    /// </summary>
    public Task SetPushTokenAsync(string provider, string token, bool hidePreviews = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        return ResultAsync(Op.SetPushToken, new SetPushTokenRequest { Provider = provider ?? "", Token = token, HidePreviews = hidePreviews }, cancellationToken);
    }

    /// <summary>Forgets this device's push token: it is told of nothing while it is not connected.</summary>
    public Task ClearPushTokenAsync(CancellationToken cancellationToken = default) =>
        ResultAsync(Op.SetPushToken, new SetPushTokenRequest(), cancellationToken);

    /// <summary>Tells the conversation's other members this user is typing (no answer unless it fails).</summary>
    public Task TypingAsync(string conversationId) =>
        (_connection ?? throw new ImClientException("not connected")).WriteAsync(Op.Typing, NextRequestId(), new TypingRequest { ConversationId = conversationId });

    /// <summary>An access token for the HTTP API issued over this connection (by default it dies with the connection).</summary>
    public async Task<ConnectionToken> GetConnectionTokenAsync(CancellationToken cancellationToken = default) =>
        ConnectionToken.Parser.ParseFrom(await RequestAsync(Op.ConnectionToken, new Google.Protobuf.WellKnownTypes.Empty(), Op.ConnectionTokenOk, cancellationToken).ConfigureAwait(false));

    /// <summary>Round trip to the server; the server's clock in milliseconds.</summary>
    public async Task<long> PingAsync(CancellationToken cancellationToken = default) =>
        Pong.Parser.ParseFrom(await RequestAsync(Op.Ping, new Ping { ClientTimeMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, Op.Pong, cancellationToken).ConfigureAwait(false)).ServerTimeMs;

    /// <summary>Drops the current connection as a network failure would; the client then reconnects by itself.</summary>
    public void DropConnection() => _connection?.Abort();

    public async ValueTask DisposeAsync()
    {
        if (_disposing.IsCancellationRequested)
        {
            return;
        }

        await _disposing.CancelAsync().ConfigureAwait(false);
        // A connect in progress sees the cancellation, or (past its last wait) that the client is disposing, and ends
        // its connection itself; one that got in just before is found here.
        var connection = _connection;
        if (connection is not null)
        {
            try
            {
                await connection.WriteAsync(Op.Logout, 0, new Google.Protobuf.WellKnownTypes.Empty()).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or SocketException or ImClientException)
            {
                // Already gone.
            }

            connection.Abort();
        }

        _work.Writer.TryComplete();
        try
        {
            await _deliveryLoop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped while delivering.
        }

        lock (_sendsLock)
        {
            foreach (var send in _unacked)
            {
                send.Completion.TrySetException(new ImClientException("client disposed before the ack") { ClientMsgId = send.Request.ClientMsgId });
            }

            _unacked.Clear();
        }

        _messages.Writer.TryComplete();
        _events.Writer.TryComplete();
        // Neither the token source nor the gate is disposed: a connect or a reconnect loop still on its way out may yet
        // read the one and release the other (they hold no unmanaged resource until a wait handle is asked for).
        if (Volatile.Read(ref _connection) is { } late && !ReferenceEquals(late, connection))
        {
            // Opened in the instant between the cancellation and the read above.
            late.Abort();
        }
    }

    private async Task OpenAsync(EdgeAddress endpoint, CancellationToken cancellationToken)
    {
        _kickedAtLogin = null;
        var token = await AskTokenAsync(cancellationToken).ConfigureAwait(false);
        var socket = new TcpClient { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint.Host, endpoint.Port, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var connection = new Connection(this, socket);
        _connection = connection;
        if (_disposing.IsCancellationRequested)
        {
            // Disposed while connecting: DisposeAsync aborted the connection it found, not this one.
            connection.Abort();
            Interlocked.CompareExchange(ref _connection, null, connection);
            throw new ObjectDisposedException(nameof(ImClient));
        }

        connection.Start();
        LoginResponse response;
        try
        {
            response = LoginResponse.Parser.ParseFrom(await RequestAsync(Op.Login, new LoginRequest
            {
                Token = token,
                DeviceId = _options.DeviceId,
                Platform = _options.Platform,
                ClientVersion = _options.ClientVersion,
                NetworkType = _options.NetworkType,
                ProtocolVersion = FrameHeader.CurrentVersion,
            }, Op.LoginOk, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            // Never established, its loss is this failed attempt's and starts no reconnect of its own. Aborted while still
            // the client's connection, so that requests the application made meanwhile fail now rather than time out.
            connection.Abort();
            Interlocked.CompareExchange(ref _connection, null, connection);
            if (ex is ImClientException { Error.Code: ErrorCode.Unauthenticated } && _options.TokenRefused is { } tell)
            {
                await TellTokenRefusedAsync(tell, token, cancellationToken).ConfigureAwait(false);
            }

            if (connection.KickReason is { } kicked)
            {
                // Signed out while logging in (the session ended as the connection was registered): that, not the close.
                throw KickedAtLogin(kicked, ex);
            }

            throw;
        }

        UserId = response.UserId;
        // The connection the catch-up it queues will run on: what was stored while the device was away from an earlier
        // one was not pushed to it (and may have been read elsewhere meanwhile).
        _loginServerTimeMs = response.ServerTimeMs;

        _endpoint = endpoint;
        _redirect = null;
        connection.AcceptFramesUpTo(response.MaxFrameBytes);
        if (response.HeartbeatSeconds > 0)
        {
            _heartbeat = TimeSpan.FromSeconds(Math.Min(_options.HeartbeatInterval.TotalSeconds, response.HeartbeatSeconds));
        }

        Status = ImClientStatus.Connected;
        // A connection that died between the login's answer and here fails this attempt (its loss was left to the opener)
        // instead of leaving a client Connected on a dead socket. Set before, the status is what the loss handler sees
        // once it owns a loss.
        if (!connection.TryEstablish())
        {
            Status = ImClientStatus.Connecting;
            if (connection.KickReason is { } kicked)
            {
                // Kicked just after the login's answer (the session ended as it registered): signed out, as before it.
                throw KickedAtLogin(kicked, inner: null);
            }

            throw new IOException("connection lost right after the login");
        }

        ConnectionCount++;
        connection.StartHeartbeat(_heartbeat);

        List<PendingSend> resend;
        List<PendingSend> lapsed;
        lock (_sendsLock)
        {
            _sendsRefused = null;
            _signedOut = false;
            // Instant messages (typing, call signals) are not stored, so not deduplicated either: sent again after a
            // reconnect's backoff they would ring a phone minutes after the caller hung up. Their senders hear they lapsed.
            lapsed = [.. _unacked.Where(s => s.Request.Class == MessageClass.Instant)];
            _unacked.RemoveAll(s => s.Request.Class == MessageClass.Instant);
            resend = [.. _unacked];
        }

        foreach (var send in lapsed)
        {
            send.Completion.TrySetException(new ImClientException($"connection lost before the instant message {send.Request.ClientMsgId} was acked; not sent again")
            {
                ClientMsgId = send.Request.ClientMsgId,
            });
        }

        foreach (var send in resend)
        {
            TransmitSend(send);
        }

        _work.Writer.TryWrite(new Work.CatchUp());
        RejoinRooms();
    }

    private void TransmitSend(PendingSend send)
    {
        var connection = _connection;
        if (connection is not { IsOpen: true } || Status != ImClientStatus.Connected)
        {
            return;
        }

        var requestId = NextRequestId();
        var answer = new TaskCompletionSource<Frame>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[requestId] = answer;
        _ = answer.Task.WaitAsync(_options.RequestTimeout).ContinueWith(t => CompleteSend(send, connection, requestId, t), TaskScheduler.Default);
        connection.WriteAsync(Op.Send, requestId, send.Request).ContinueWith(
            t => answer.TrySetException(t.Exception!.InnerException!), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
    }

    private void CompleteSend(PendingSend send, Connection connection, uint requestId, Task<Frame> answer)
    {
        if (answer.Exception?.InnerException is TimeoutException)
        {
            // No ack in time on a connection that looks open: the request or its answer was lost somewhere between here
            // and the conversation (or the link is dead and the socket does not know yet). Waiting longer could wait
            // forever, so the connection is treated as dead: the reconnect resends the message with its client message id,
            // and the server answers with the seq it stored, if it did. A late answer to this request is ignored.
            _pending.TryRemove(requestId, out _);
            connection.Abort();
            return;
        }

        if (!answer.IsCompletedSuccessfully)
        {
            // The connection was lost: the send stays unacked and goes out again after the reconnect.
            return;
        }

        var frame = answer.Result;
        var ack = frame.Operation == Op.SendAck ? SendAck.Parser.ParseFrom(frame.Body) : null;
        var refusal = ack is null ? Error.Parser.ParseFrom(frame.Body) : ack.Status == SendStatus.Refused ? ack.Error : null;
        if (refusal is { Retryable: true } && send.Retries < _options.MaxSendRetries && send.Request.Class != MessageClass.Instant
            && !_disposing.IsCancellationRequested)
        {
            // Refused for the moment (a failover, the send rate): again with the same id, still unacked (a reconnect
            // meanwhile sends it too; the server stores it once). Not an instant one: not stored, so not deduplicated,
            // and late it is wrong (a typing shown after the message, a call ringing after the hang-up).
            send.Retries++;
            _ = RetrySendLaterAsync(send);
            return;
        }

        lock (_sendsLock)
        {
            _unacked.Remove(send);
        }

        if (ack is not null)
        {
            if (ack.Status != SendStatus.Refused && ack.Seq > 0)
            {
                // The server does not echo a message to the device that sent it: the ack says where it went, so it joins
                // this device's ordered stream from here, without a pull.
                _work.Writer.TryWrite(new Work.Pushed(new PushBatch { Events = { new Event { Message = new Message
                {
                    ConversationId = ack.ConversationId,
                    Seq = ack.Seq,
                    SenderId = StoredSenderOf(ack.ConversationId),
                    ActingSenderId = StoredSenderOf(ack.ConversationId) == UserId ? "" : UserId ?? "",
                    SenderDeviceId = _options.DeviceId,
                    ClientMsgId = send.Request.ClientMsgId,
                    Class = send.Request.Class,
                    Content = send.Request.Content,
                    ServerTimeMs = ack.ServerTimeMs,
                    CollapseKey = send.Request.CollapseKey,
                } } } }));
            }

            send.Completion.TrySetResult(ack);
        }
        else
        {
            // With its id: a retryable refusal (unavailable: the message may be stored all the same) is sent again with it.
            send.Completion.TrySetException(new ImClientException(refusal!) { ClientMsgId = send.Request.ClientMsgId });
        }
    }

    /// <summary>Sends <paramref name="send"/> again after a pause that doubles with each retry (jittered).</summary>
    private async Task RetrySendLaterAsync(PendingSend send)
    {
        var pause = Jitter.Spread(TimeSpan.FromSeconds(Math.Pow(2, send.Retries - 1)));
        try
        {
            await Task.Delay(pause, _disposing.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        lock (_sendsLock)
        {
            if (!_unacked.Contains(send))
            {
                // Acked meanwhile (a reconnect sent it again), or failed with the connection.
                return;
            }
        }

        TransmitSend(send);
    }

    /// <summary>
    /// Who the log records as the sender of this user's message: the user, except an agent answering in a shop's
    /// customer-service conversation (<c>cs:{shop}:{user}</c>), whose replies are the shop's.
    /// </summary>
    private string StoredSenderOf(string conversationId)
    {
        var parts = conversationId.Split(':');
        return parts is ["cs", var shop, var user] && user != UserId ? shop : UserId ?? "";
    }

    private async Task<Result> ResultAsync(Op op, IMessage request, CancellationToken cancellationToken)
    {
        var result = Result.Parser.ParseFrom(await RequestAsync(op, request, Op.Result, cancellationToken).ConfigureAwait(false));
        return result.Error is null ? result : throw new ImClientException(result.Error);
    }

    private async Task<byte[]> RequestAsync(Op op, IMessage request, Op expected, CancellationToken cancellationToken)
    {
        var connection = _connection ?? throw new ImClientException("not connected");
        var requestId = NextRequestId();
        var answer = new TaskCompletionSource<Frame>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[requestId] = answer;
        try
        {
            await connection.WriteAsync(op, requestId, request).ConfigureAwait(false);
            var frame = await answer.Task.WaitAsync(_options.RequestTimeout, cancellationToken).ConfigureAwait(false);
            return frame.Operation == expected
                ? frame.Body
                : throw new ImClientException(frame.Operation == Op.Error ? Error.Parser.ParseFrom(frame.Body) : new Error { Code = ErrorCode.Internal, Message = $"unexpected {frame.Operation}" });
        }
        catch (TimeoutException ex)
        {
            throw new ImClientException($"{op}: no answer in {_options.RequestTimeout}", ex);
        }
        catch (IOException ex)
        {
            // The loss's reason, when there is one (a frame refused), rather than a bare "connection lost".
            throw new ImClientException($"{op}: {ex.Message}", ex);
        }
        finally
        {
            _pending.TryRemove(requestId, out _);
        }
    }

    private uint NextRequestId()
    {
        var id = (uint)Interlocked.Increment(ref _nextRequestId);
        return id == 0 ? (uint)Interlocked.Increment(ref _nextRequestId) : id;
    }

    private void OnFrame(Connection connection, Frame frame)
    {
        if (frame.Operation == Op.Push)
        {
            var batch = PushBatch.Parser.ParseFrom(frame.Body);
            // Noted before the close that follows a kick is seen, so the client does not reconnect by itself.
            if (batch.Events.FirstOrDefault(e => e.KindCase == Event.KindOneofCase.Kick) is { } kick)
            {
                connection.KickReason = kick.Kick.Reason;
            }
            _work.Writer.TryWrite(new Work.Pushed(batch));
        }
        else if (frame.Operation == Op.Redirect)
        {
            // The edge is draining and closes next: the reconnect goes where it says, at once.
            _redirect = Redirect.Parser.ParseFrom(frame.Body);
        }
        else if (frame.RequestId != 0 && _pending.TryRemove(frame.RequestId, out var answer))
        {
            if (frame.Operation == Op.SendAck && !_firstSyncDone)
            {
                // Noted here, in frame order, so that a first sync answered after this ack already knows of it.
                NoteAckedBeforeFirstSync(SendAck.Parser.ParseFrom(frame.Body));
            }

            answer.TrySetResult(frame);
        }

        // Any other ERROR answers no waiting request: a late answer to a request given up on (timed out, cancelled), a
        // refused TYPING (which waits for no answer), or the server's last word before a close it makes (idle timeout,
        // slow consumer), which the loss handling deals with. None of them signs the device out, so none is a Kick: the
        // server kicks with a kick event in a PUSH, and an application treating a Kick as signed out must not see one here.
    }

    /// <summary>
    /// A login attempt signed out by the server: noted for the reconnect loop (and the next address, which is not tried),
    /// and the exception the attempt fails with.
    /// </summary>
    private ImClientException KickedAtLogin(string reason, Exception? inner)
    {
        _kickedAtLogin = reason;
        var message = $"signed out by the server ({reason})";
        return inner is null ? new ImClientException(message) : new ImClientException(message, inner);
    }

    /// <summary>
    /// Asks <see cref="ImClientOptions.TokenProvider"/> within <see cref="ImClientOptions.TokenTimeout"/>: past it, the
    /// provider is left to finish on its own (one that ignores its token is not waited for) and the attempt fails.
    /// </summary>
    private async Task<string> AskTokenAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.TokenTimeout);
        try
        {
            return await _options.TokenProvider(timeout.Token).WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new ImClientException($"the token provider did not answer within {_options.TokenTimeout.TotalSeconds:0.#} s");
        }
    }

    /// <summary>
    /// Tells the application's <see cref="ImClientOptions.TokenRefused"/> (a boundary: what it throws is not this login's
    /// failure, which is the refusal; the next attempt asks the provider, which says what it knows), within
    /// <see cref="ImClientOptions.TokenTimeout"/>: one that hangs is left to finish on its own.
    /// </summary>
    private async Task TellTokenRefusedAsync(Func<string, CancellationToken, Task> tell, string token, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.TokenTimeout);
        try
        {
            await tell(token, timeout.Token).WaitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The callback's own failure (its identity server down) or its timeout: the next ask for a token meets it.
        }
    }

    private void NoteAckedBeforeFirstSync(SendAck ack)
    {
        if (ack.Status == SendStatus.Refused || ack.Seq <= 0)
        {
            return;
        }

        lock (_delivered)
        {
            if (!_ackedBeforeFirstSync.TryGetValue(ack.ConversationId, out var lowest) || ack.Seq < lowest)
            {
                _ackedBeforeFirstSync[ack.ConversationId] = ack.Seq;
            }
        }
    }

    /// <summary>
    /// A connection was aborted. Its requests fail either way; only the loss of an established connection (<paramref
    /// name="wasEstablished"/>) is this handler's to reconnect from. A connection lost while logging in is the failed
    /// attempt of whoever opened it (the application's connect or a reconnect loop), however late its read loop saw it.
    /// </summary>
    private void OnConnectionLost(Connection connection, bool wasEstablished)
    {
        if (!ReferenceEquals(_connection, connection))
        {
            return;
        }

        foreach (var (id, answer) in _pending)
        {
            if (_pending.TryRemove(id, out _))
            {
                answer.TrySetException(new IOException(_frameRefused ?? "connection lost"));
            }
        }

        if (!wasEstablished || _disposing.IsCancellationRequested)
        {
            return;
        }

        // The kick that came on this connection: one on an earlier connection or login attempt is not this loss's reason.
        if (connection.KickReason is not null || _frameRefused is not null)
        {
            // A reconnect loop of an earlier loss, still waiting out its backoff (the application connected meanwhile),
            // must not log in again after this: signed out is signed out, and it would take the device back from the
            // installation that replaced it.
            Interlocked.Increment(ref _reconnectGeneration);
            Status = ImClientStatus.WaitingForReconnect;
            // A refused frame: reconnecting would be sent the same (a catch-up pulls the same large message again), and
            // would loop on it unseen; the application hears why instead (StopReason, the failed sends).
            var reason = _frameRefused is { } refused ? $"not connected: {refused}" : $"signed out by the server ({connection.KickReason})";
            // Stands down under the connect gate, on its own task: this may run with the gate held (a failed login
            // aborts its connection), and waiting for it here would deadlock.
            _ = Task.Run(() => StandDownAsync(reason, generation: null, signedOut: true));
            return;
        }

        Status = ImClientStatus.Reconnecting;
        _ = Task.Run(ReconnectLoopAsync);
    }

    private async Task ReconnectLoopAsync()
    {
        Interlocked.Increment(ref _reconnectLoops);
        try
        {
            await ReconnectAsync().ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _reconnectLoops);
        }
    }

    private async Task ReconnectAsync()
    {
        // A loop started by a later loss supersedes this one: only the newest may give up and fail the sends.
        var generation = Interlocked.Increment(ref _reconnectGeneration);
        var redirect = _redirect;
        if (redirect is not null)
        {
            RedirectCount++;
        }

        var candidates = ReconnectCandidates(redirect, _endpoint);
        string? refusal = null;
        // A redirect was spread over time by the server already: go at once. A loss waits first, then backs off, each wait
        // spread (Jitter): every client of a crashed edge lost its connection in the same instant.
        var delay = redirect is null ? Jitter.Spread(_options.ReconnectBaseDelay) : TimeSpan.Zero;
        for (var attempt = 1; attempt <= _options.MaxReconnectAttempts; attempt++)
        {
            try
            {
                await Task.Delay(delay, _disposing.Token).ConfigureAwait(false);
                await _connectGate.WaitAsync(_disposing.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            try
            {
                if (_connection is { IsOpen: true } || generation != Volatile.Read(ref _reconnectGeneration))
                {
                    // The application's ConnectAsync got there first, or a newer loss has its own loop.
                    return;
                }

                Status = ImClientStatus.Connecting;
                await OpenFirstAsync(candidates, _disposing.Token).ConfigureAwait(false);
                return;
            }
            catch (Exception) when (_disposing.IsCancellationRequested)
            {
                return;
            }
            catch (ImAuthException refused) when (refused.Status == System.Net.HttpStatusCode.Unauthorized)
            {
                // The token provider says the sign-in is over (the session ended, the password was refused): trying again
                // cannot help, and the application must sign in again.
                refusal = refused.Message;
                Status = ImClientStatus.Reconnecting;
                break;
            }
            catch (Exception) when (_frameRefused is { } refused)
            {
                // The edge sent a frame this client refuses: the next attempts would be sent the same.
                refusal = refused;
                Status = ImClientStatus.Reconnecting;
                break;
            }
            catch (Exception) when (_kickedAtLogin is { } kicked)
            {
                // Kicked while logging in again: signed out, as a kick on an established connection says.
                refusal = kicked;
                Status = ImClientStatus.Reconnecting;
                break;
            }
            catch (Exception)
            {
                // Any other failure counts as a failed attempt, the application's token provider's included (an HTTP
                // timeout, its identity server down): this loop is the only thing that would ever try again.
                Status = ImClientStatus.Reconnecting;
            }
            finally
            {
                _connectGate.Release();
            }

            delay = NextBackoff(delay);
        }

        await StandDownAsync(
            refusal is null ? $"not connected: gave up after {_options.MaxReconnectAttempts} reconnect attempts"
                : _frameRefused is not null ? $"not connected: {refusal}" : $"not connected: signed out ({refusal})",
            generation,
            signedOut: refusal is not null).ConfigureAwait(false);
    }

    /// <summary>
    /// The client no longer reconnects by itself: it waits for <see cref="ConnectAsync"/>, and the sends waiting for acks
    /// fail with <paramref name="reason"/>. Under the connect gate, so that it stands down if the application's
    /// ConnectAsync reconnected meanwhile (and resent them), or, for a reconnect loop's <paramref name="generation"/>, if
    /// a newer loss has its own loop.
    /// </summary>
    private async Task StandDownAsync(string reason, int? generation, bool signedOut)
    {
        try
        {
            await _connectGate.WaitAsync(_disposing.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            return;
        }

        try
        {
            if (_connection is { IsOpen: true } || (generation is { } mine && mine != Volatile.Read(ref _reconnectGeneration)))
            {
                return;
            }

            Status = ImClientStatus.WaitingForReconnect;
            FailUnackedSends(reason, signedOut);
        }
        finally
        {
            _connectGate.Release();
        }
    }

    /// <summary>
    /// One attempt: every candidate in turn, without waiting between them, until one logs in; the last failure is thrown.
    /// Backing off after each address would let addresses that fail at once (a draining edge refusing, a dead fallback)
    /// spend the attempts meant to outlast an outage. A candidate that answers with a redirect (it is draining) is
    /// followed at once, at most <see cref="MaxRedirectsPerAttempt"/> times: a connection lost without its redirect (the
    /// network, or a heartbeat that failed first) comes back to the draining edge, and trying that edge again until it
    /// exits would leave the client with no address that answers. A redirect followed rewrites <paramref
    /// name="candidates"/> in place, so that when this attempt fails all the same (the edge it named was slow to answer),
    /// the caller's next attempt starts where the redirect said, not at the edge that is going away.
    /// </summary>
    private async Task OpenFirstAsync(List<EdgeAddress> candidates, CancellationToken cancellationToken)
    {
        var redirects = 0;
        for (var i = 0; ; i++)
        {
            _redirect = null;
            try
            {
                await OpenAsync(candidates[i], cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception ex) when (IsConnectFailure(ex) && _kickedAtLogin is null && _redirect is { } redirect && redirects < MaxRedirectsPerAttempt)
            {
                // That edge is draining and named others: they come first now (the last failure is the one thrown).
                redirects++;
                RedirectCount++;
                var next = ReconnectCandidates(redirect, candidates[i]);
                candidates.Clear();
                candidates.AddRange(next);
                i = -1;
            }
            catch (Exception ex) when (i < candidates.Count - 1 && IsConnectFailure(ex) && _kickedAtLogin is null)
            {
                // Try the next one (not after a kick: signed out there is signed out everywhere, and a login elsewhere as the
                // same device would take its place back from the one that replaced it).
            }
        }
    }

    /// <summary>The pause after <paramref name="previous"/> (none yet: zero): the base delay, then doubling up to the maximum.</summary>
    private TimeSpan NextBackoff(TimeSpan previous) => Jitter.Spread(previous == TimeSpan.Zero
        ? _options.ReconnectBaseDelay
        : TimeSpan.FromTicks(Math.Min(previous.Ticks * 2, _options.MaxReconnectDelay.Ticks)));

    private static bool IsConnectFailure(Exception ex) => ex is SocketException or IOException or ImClientException;

    /// <summary>
    /// The client no longer reconnects by itself, so nothing would resend these: their senders hear it now, rather than
    /// wait for a <see cref="ConnectAsync"/> that may never come. A send repeated with its client message id is stored once.
    /// </summary>
    private void FailUnackedSends(string reason, bool signedOut)
    {
        PendingSend[] failed;
        lock (_sendsLock)
        {
            _sendsRefused = reason;
            _signedOut = signedOut;
            failed = [.. _unacked];
            _unacked.Clear();
        }

        foreach (var send in failed)
        {
            send.Completion.TrySetException(new ImClientException($"{reason}; send {send.Request.ClientMsgId} again to retry it") { ClientMsgId = send.Request.ClientMsgId });
        }
    }

    /// <summary>
    /// Where to connect, in turn within each attempt: a redirect's addresses first (and the edge that sent it,
    /// <paramref name="from"/>, last: it is going away, but its address may be a balancer's), otherwise <paramref
    /// name="from"/> (the current edge), then the configured one and the fallbacks.
    /// </summary>
    private List<EdgeAddress> ReconnectCandidates(Redirect? redirect, EdgeAddress from)
    {
        var configured = new[] { new EdgeAddress(_options.Host, _options.Port) }
            .Concat(_options.FallbackAddresses.Select(EdgeAddress.TryParse).OfType<EdgeAddress>());
        var candidates = redirect is null
            ? new[] { from }.Concat(configured)
            : redirect.Addresses.Select(EdgeAddress.TryParse).OfType<EdgeAddress>().Concat(configured.Where(a => a != from)).Append(from);
        return candidates.Distinct().ToList();
    }

    private sealed record PendingSend(SendRequest Request, TaskCompletionSource<SendAck> Completion)
    {
        /// <summary>Times sent again after a retryable refusal (see <see cref="ImClientOptions.MaxSendRetries"/>).</summary>
        public int Retries { get; set; }
    }

    private readonly record struct Frame(Op Operation, uint RequestId, byte[] Body);

    private abstract record Work
    {
        public sealed record Pushed(PushBatch Batch) : Work;

        public sealed record CatchUp : Work;
    }
}
