using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using Orleans.Im.EdgeHost.Api;
using Orleans.Im.EdgeHost.Drain;
using Orleans.Im.EdgeHost.Metrics;
using Orleans.Im.EdgeHost.Protocol;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.Messages;
using Orleans.Im.Push;

namespace Orleans.Im.EdgeHost.Hubs;

/// <summary>
/// Pushes to one SignalR connection through a bounded queue and one writer, batching what arrived together into one
/// <c>events</c> call. A client that does not keep up loses pushes (and is told to resync), then its connection.
/// </summary>
public sealed class SignalRPushTarget : IPushTarget, IAsyncDisposable
{
    private readonly IHubContext<ChatHub, IChatClient> _hub;
    private readonly HubCallerContext _context;
    private readonly EdgeOptions _options;
    private readonly TimeProvider _time;
    private readonly EdgeMetrics _metrics;
    private readonly string _transport;
    // Queued by RequestResync only to wake the writer, which never sends it.
    private static readonly HubEvent WakeUp = new("wake");
    private readonly Channel<HubEvent> _queue;
    private readonly Task _writer;
    private long _fullSinceTicks;
    private int _resyncPending;
    private int _closedByServer;

    /// <summary>1 once the connection is gone (<see cref="DisposeAsync"/>): pushes are refused from then on.</summary>
    private int _disposed;
    private ITimer? _abortDeadline;

    public SignalRPushTarget(IHubContext<ChatHub, IChatClient> hub, HubCallerContext context, string deviceId, EdgeOptions options, TimeProvider time, EdgeMetrics metrics, string transport)
    {
        _metrics = metrics;
        _transport = transport;
        _hub = hub;
        _context = context;
        DeviceId = deviceId;
        _options = options;
        _time = time;
        _queue = Channel.CreateBounded<HubEvent>(new BoundedChannelOptions(options.OutboundQueueCapacity) { SingleReader = true });
        _writer = Task.Run(WriteLoopAsync);
    }

    public string DeviceId { get; }

    public int QueuedPushes => _queue.Reader.Count;

    /// <summary>Whether this edge ended the connection (a kick, a redirect, a client too slow to read): not a lost one.</summary>
    public bool ClosedByServer => Volatile.Read(ref _closedByServer) == 1;

    public void Push(UserEventBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        foreach (var userEvent in batch.Events)
        {
            if (ToHubEvent(userEvent) is not { } hubEvent)
            {
                continue;
            }

            if (_queue.Writer.TryWrite(hubEvent))
            {
                Interlocked.Exchange(ref _fullSinceTicks, 0);
                continue;
            }

            if (ClosedByServer || Volatile.Read(ref _disposed) == 1)
            {
                // Refused because the connection is going (kicked, redirected, closed): not a slow consumer, and nothing
                // to resync on a connection that will not be written to again.
                return;
            }

            // Through RequestResync, which wakes the writer: it may have emptied the queue and parked since this write
            // was refused, and would otherwise say "resync" only with the next event.
            RequestResync();
            _metrics.PushDropped(_transport);
            var now = _time.GetUtcNow().UtcTicks;
            var since = Interlocked.CompareExchange(ref _fullSinceTicks, now, 0);
            if (since != 0 && TimeSpan.FromTicks(now - since) > _options.SlowConsumerTimeout)
            {
                _metrics.SlowConsumerClosed(_transport);
                Volatile.Write(ref _closedByServer, 1);
                _context.Abort();
            }
        }
    }

    public void RequestResync()
    {
        // A flag rather than a queued event, so that a full queue cannot lose it: the writer adds the resync to what it
        // sends next. When the queue is full the wake-up is refused, but then the writer is busy and sees the flag soon.
        Interlocked.Exchange(ref _resyncPending, 1);
        _queue.Writer.TryWrite(WakeUp);
    }

    public void Kick(string reason) => CloseWith(new HubEvent("kick", Reason: reason));

    public void Redirect(EdgeRedirect redirect)
    {
        ArgumentNullException.ThrowIfNull(redirect);
        CloseWith(ToHubEvent(redirect));
    }

    /// <summary>
    /// Queues a last event; the writer aborts the connection after sending it, and it is aborted anyway after
    /// <see cref="LastEventDeadline"/> (a client that stopped reading holds the writer in a send that never completes).
    /// When it cannot be queued (the client does not keep up and the queue is full), the connection is aborted at once: a
    /// revoked session must not go on working. Meanwhile its calls are refused (<see cref="ChatHubFilter"/>).
    /// </summary>
    private void CloseWith(HubEvent last)
    {
        if (Interlocked.Exchange(ref _closedByServer, 1) == 1)
        {
            // Closed by this edge already: its last event is on the way (a revocation is heard twice here: applied by the
            // API call that made it, and again on the cluster's broadcast), or it was cut off as too slow. Aborting because
            // this one finds the queue completed would cut the connection before the client read the first, never told why.
            return;
        }

        _abortDeadline = _time.CreateTimer(static context => ((HubCallerContext)context!).Abort(), _context, LastEventDeadline, Timeout.InfiniteTimeSpan);
        if (!_queue.Writer.TryWrite(last))
        {
            _context.Abort();
        }

        _queue.Writer.TryComplete();
    }

    /// <summary>How long a kicked or redirected client has to read its last event before its connection is aborted.</summary>
    public static readonly TimeSpan LastEventDeadline = TimeSpan.FromSeconds(2);

    /// <summary>The <c>redirect</c> event for a web client.</summary>
    public static HubEvent ToHubEvent(EdgeRedirect redirect)
    {
        ArgumentNullException.ThrowIfNull(redirect);
        return new HubEvent("redirect", Reason: redirect.Reason, Addresses: [.. redirect.WebSocketUrls]);
    }

    public async ValueTask DisposeAsync()
    {
        Volatile.Write(ref _disposed, 1);
        _queue.Writer.TryComplete();
        await _writer;
        if (_abortDeadline is { } deadline)
        {
            await deadline.DisposeAsync();
        }
    }

    private static HubEvent? ToHubEvent(UserEvent userEvent) => userEvent switch
    {
        MessageEvent { Message: { Class: MessageClass.Instant, Content.CustomType: TypingIndicator.CustomType } m } =>
            new HubEvent("typing", m.ConversationId, 0, UserId: m.SenderId, ExpiresInMs: (int)TypingIndicator.ExpiresAfter.TotalMilliseconds),
        MessageEvent e => new HubEvent("message", e.ConversationId, e.Seq, ApiMapper.ToView(e.Message)),
        MessageChangedEvent e => new HubEvent("changed", e.ConversationId, e.Seq, ApiMapper.ToView(e.Message), UserId: e.ActorId),
        ReadReceiptEvent e => new HubEvent("readReceipt", e.ConversationId, e.Seq, UserId: e.ReaderId),
        ConversationUpdatedEvent e => new HubEvent("conversation", e.ConversationId, e.Seq, Conversation: ApiMapper.ToView(e.Entry)),
        PresenceEvent e => new HubEvent("presence", UserId: e.UserId, Reason: ProtoMapper.ToWire(e.Status)),
        ContactsChangedEvent e => new HubEvent("contacts", Version: e.Version),
        _ => null,
    };

    private async Task WriteLoopAsync()
    {
        var batch = new List<HubEvent>();
        var closeAfter = false;
        try
        {
            while (await _queue.Reader.WaitToReadAsync())
            {
                while (batch.Count < _options.MaxEventsPerPush && _queue.Reader.TryRead(out var hubEvent))
                {
                    if (ReferenceEquals(hubEvent, WakeUp))
                    {
                        continue;
                    }

                    batch.Add(hubEvent);
                    closeAfter |= hubEvent.Type is "kick" or "redirect";
                }

                if (Interlocked.Exchange(ref _resyncPending, 0) == 1)
                {
                    batch.Add(new HubEvent("resync", Reason: "pushes may have been missed; sync to catch up"));
                }

                if (batch.Count == 0)
                {
                    continue;
                }

                await _hub.Clients.Client(_context.ConnectionId).Events(batch.ToArray()); // an array: MessagePack cannot write the type a collection expression makes for IReadOnlyList
                _metrics.FramesSent(_transport);
                _metrics.MessagesPushed(_transport, batch.Count(e => e.Type == "message"));
                batch.Clear();
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The connection went away while writing: nothing more to push.
        }

        if (closeAfter)
        {
            _context.Abort();
        }
    }
}
