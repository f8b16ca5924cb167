using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Connections;
using Orleans.Im.EdgeHost.Drain;
using Orleans.Im.EdgeHost.Memory;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.Messages;
using Orleans.Im.Metrics;

namespace Orleans.Im.EdgeHost.Metrics;

/// <summary>
/// The edge host's instruments, on the meter <see cref="ImMeters.Edge"/>: connections by transport, frames and messages
/// in and out, send→ack latency, push queues and drops, online users. Transports call it as things happen; the gauges
/// are read at each scrape. Rates (per second) are the Prometheus <c>rate()</c> of the counters.
/// </summary>
public sealed class EdgeMetrics
{
    /// <summary>The transport label of the mobile protocol.</summary>
    public const string Tcp = "tcp";

    /// <summary>The transport label of SignalR over WebSockets.</summary>
    public const string WebSockets = "websockets";

    /// <summary>The transport label of SignalR over server-sent events.</summary>
    public const string ServerSentEvents = "serversentevents";

    /// <summary>The transport label of SignalR over long polling.</summary>
    public const string LongPolling = "longpolling";

    /// <summary>The transport label of the HTTP API (sends only).</summary>
    public const string Http = "http";

    /// <summary>Send→ack buckets in seconds: sub-millisecond in-memory acks up to commit timeouts.</summary>
    private static readonly double[] SendAckBuckets = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];

    private readonly ConcurrentDictionary<string, StrongBox<long>> _open = new(StringComparer.Ordinal);
    private readonly Counter<long> _opened;
    private readonly Counter<long> _framesIn;
    private readonly Counter<long> _framesOut;
    private readonly Counter<long> _messagesIn;
    private readonly Counter<long> _messagesPushed;
    private readonly Counter<long> _pushDropped;
    private readonly Counter<long> _slowConsumers;
    private readonly Counter<long> _requestsRateLimited;
    private readonly Histogram<double> _sendAck;

    public EdgeMetrics(IMeterFactory meters, SessionHub sessions, UserPushRoutes subscriptions, EdgeDrain drain, IMemoryPoolFactory<byte> socketBuffers)
    {
        ArgumentNullException.ThrowIfNull(meters);
        var meter = meters.Create(ImMeters.Edge);
        _opened = meter.CreateCounter<long>("im_edge_connections_opened_total", description: "Connections accepted, by transport.");
        _framesIn = meter.CreateCounter<long>("im_edge_frames_received_total", description: "Frames (TCP) and hub invocations (SignalR) received.");
        _framesOut = meter.CreateCounter<long>("im_edge_frames_sent_total", description: "Frames (TCP) and hub messages (SignalR) written.");
        _messagesIn = meter.CreateCounter<long>("im_edge_messages_received_total", description: "Messages devices sent, by transport and outcome.");
        _messagesPushed = meter.CreateCounter<long>("im_edge_messages_pushed_total", description: "Message events written to devices.");
        _pushDropped = meter.CreateCounter<long>("im_edge_push_dropped_total", description: "Pushes dropped because a device's outbound queue was full (it resyncs).");
        _slowConsumers = meter.CreateCounter<long>("im_edge_slow_consumers_closed_total", description: "Connections closed because their outbound queue stayed full.");
        _requestsRateLimited = meter.CreateCounter<long>("im_edge_requests_rate_limited_total",
            description: "Requests answered rate_limited because their connection was over its request budget (IM:Edge:RequestsPerSecond).");
        _sendAck = meter.CreateHistogram("im_edge_send_ack_seconds", "s", "From a send reaching the edge to its ack (committed in PostgreSQL).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = SendAckBuckets });
        meter.CreateObservableGauge("im_edge_connections", OpenConnections, description: "Open connections, by transport.");
        meter.CreateObservableGauge("im_edge_tcp_connections", () => OpenOf(Tcp), description: "Open TCP (mobile protocol) connections.");
        meter.CreateObservableGauge("im_edge_sessions", () => sessions.OpenSessions, description: "Signed-in device sessions on this edge host.");
        meter.CreateObservableGauge("im_edge_online_users", () => subscriptions.UserCount, description: "Users with at least one device connected to this edge host.");
        meter.CreateObservableGauge("im_edge_stream_users", () => subscriptions.StreamUserCount, description: "Users whose push stream this edge host subscribes to (push path Stream).");
        meter.CreateObservableCounter("im_edge_push_calls_reordered_total", () => subscriptions.ReorderedPushCalls, "{call}",
            "Numbered push calls from silos that arrived ahead of their turn and were put back in order (or passed on after the wait).");
        meter.CreateObservableGauge("im_edge_logins_in_flight", () => sessions.LoginsInFlight, description: "Logins registering with the cluster now (bounded by MaxConcurrentLogins).");
        meter.CreateObservableGauge("im_edge_logins_waiting", () => sessions.LoginsWaiting, description: "Logins waiting for a place: above zero, a login storm.");
        meter.CreateObservableGauge("im_edge_push_queue_length", () => sessions.PushQueueLengths().Sum, description: "Pushes and replies waiting in all outbound queues.");
        meter.CreateObservableGauge("im_edge_push_queue_longest", () => (long)sessions.PushQueueLengths().Max, description: "The longest outbound queue of one connection.");
        meter.CreateObservableGauge("im_edge_draining", () => drain.IsDraining ? 1 : 0, description: "1 while this edge host drains (not ready, redirecting its clients).");
        if (socketBuffers is RetainingBlockPoolFactory retained)
        {
            meter.CreateObservableGauge("im_edge_socket_buffer_bytes", () => retained.AllocatedBlocks * RetainingBlockPool.BlockSize,
                description: "Kestrel's pinned socket buffers, in use or kept for reuse.");
            meter.CreateObservableGauge("im_edge_socket_buffer_free_bytes", () => retained.FreeBlocks * RetainingBlockPool.BlockSize,
                description: "Kestrel's pinned socket buffers kept for reuse, not in use now.");
        }
    }

    /// <summary>A connection was accepted.</summary>
    public void ConnectionOpened(string transport)
    {
        Interlocked.Increment(ref _open.GetOrAdd(transport, static _ => new StrongBox<long>()).Value);
        _opened.Add(1, Tag(transport));
    }

    /// <summary>A connection counted by <see cref="ConnectionOpened"/> ended.</summary>
    public void ConnectionClosed(string transport) =>
        Interlocked.Decrement(ref _open.GetOrAdd(transport, static _ => new StrongBox<long>()).Value);

    public void FrameReceived(string transport) => _framesIn.Add(1, Tag(transport));

    public void FramesSent(string transport, int frames = 1) => _framesOut.Add(frames, Tag(transport));

    /// <summary>A device's send was answered.</summary>
    public void MessageSent(string transport, SendStatus status, TimeSpan sendToAck)
    {
        _messagesIn.Add(1, Tag(transport), new KeyValuePair<string, object?>("status", StatusLabel(status)));
        if (status is SendStatus.Sent or SendStatus.Duplicate)
        {
            _sendAck.Record(sendToAck.TotalSeconds, Tag(transport));
        }
    }

    public void MessagesPushed(string transport, int messages) => _messagesPushed.Add(messages, Tag(transport));

    public void PushDropped(string transport) => _pushDropped.Add(1, Tag(transport));

    public void SlowConsumerClosed(string transport) => _slowConsumers.Add(1, Tag(transport));

    public void RequestRateLimited(string transport) => _requestsRateLimited.Add(1, Tag(transport));

    private long OpenOf(string transport) => _open.TryGetValue(transport, out var count) ? Volatile.Read(ref count.Value) : 0;

    private IEnumerable<Measurement<long>> OpenConnections()
    {
        // tcp and websockets always, so dashboards show a zero rather than no data.
        foreach (var transport in new[] { Tcp, WebSockets }.Union(_open.Keys))
        {
            yield return new Measurement<long>(OpenOf(transport), Tag(transport));
        }
    }

    private static KeyValuePair<string, object?> Tag(string transport) => new("transport", transport);

    private static string StatusLabel(SendStatus status) => status switch
    {
        SendStatus.Sent => "sent",
        SendStatus.Duplicate => "duplicate",
        SendStatus.NoAccess => "no_access",
        SendStatus.TooLarge => "too_large",
        SendStatus.RateLimited => "rate_limited",
        SendStatus.Unavailable => "unavailable",
        SendStatus.Blocked => "blocked",
        _ => "invalid",
    };
}
