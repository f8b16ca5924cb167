using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Orleans.Im.Metrics;

namespace Orleans.Im.Push;

/// <summary>
/// The silo's outbox to each edge's push observer: user grains enqueue their batches (never waiting), and one flush per
/// edge sends everything queued for it as one <see cref="IEdgePushObserver.PushManyAsync"/>. A group message reaches
/// many users held by the same edge within a few grain turns, and the per-call cost (a message each way through the
/// runtime, an invocation on the edge) was what capped group fan-out; coalescing pays it once per flush.
/// </summary>
/// <remarks>
/// The first enqueue for an idle edge queues its flush on the thread pool, behind the grain turns already waiting
/// there: no timer, so no added latency, and whatever those turns enqueue meanwhile goes in the same call. An edge has at
/// most one flush queued or running, which keeps its batches in queue order (so each user's in the order pushed) and
/// leaves the calls to it sequential. Calls carry at most <see cref="MaxBatchesPerCall"/> batches. Orleans may still
/// deliver a one-way call before the one made just before it, so calls to an edge that takes them are numbered
/// (<see cref="IEdgePushObserver.PushInOrderAsync"/>) and the edge restores the order. An edge from before that gets
/// <see cref="IEdgePushObserver.PushManyAsync"/>, and one from before that one <see cref="IEdgePushObserver.PushAsync"/>
/// per batch, from the same flush.
/// </remarks>
public sealed partial class EdgePushOutbox(ILogger<EdgePushOutbox> logger)
{
    /// <summary>
    /// Most batches in one call: a burst beyond it is split, so that one message stays a size the edge deserializes
    /// quickly (a batch is typically one event of well under a kilobyte) and one call's delivery loop stays short.
    /// </summary>
    public const int MaxBatchesPerCall = 256;

    /// <summary>
    /// A queue's list grown beyond this by a burst is dropped after its flush rather than kept: the usual flush is far
    /// smaller, and an edge's lists are otherwise reused for as long as the edge lives.
    /// </summary>
    private const int MaxRetainedCapacity = 4 * MaxBatchesPerCall;

    /// <summary>
    /// An edge this long without a push is forgotten (checked when a new edge appears, which is rare): edges restart
    /// with new observers, and the silo must not keep a queue for every edge process it ever served.
    /// </summary>
    private static readonly TimeSpan ForgetIdleEdgeAfter = TimeSpan.FromHours(1);

    private static readonly Meter Meter = new(ImMeters.Push);

    private static readonly Counter<long> Calls = Meter.CreateCounter<long>("im_push_observer_calls_total", "{call}",
        "One-way calls from this silo to edges' push observers.");

    private static readonly Counter<long> Batches = Meter.CreateCounter<long>("im_push_observer_batches_total", "{batch}",
        "User event batches those calls carried (batches per call = this rate over the calls' rate).");

    private readonly ConcurrentDictionary<IEdgePushObserver, EdgeQueue> _edges = new();

    /// <summary>Edges this outbox holds a queue for.</summary>
    public int EdgeCount => _edges.Count;

    /// <summary>
    /// Queues <paramref name="batch"/> for <paramref name="edge"/>; it is sent, after what was queued for that edge
    /// before, by a flush on the thread pool. Never blocks on the edge and never fails: pushes are hints.
    /// </summary>
    public void Enqueue(IEdgePushObserver edge, UserEventBatch batch)
    {
        ArgumentNullException.ThrowIfNull(edge);
        ArgumentNullException.ThrowIfNull(batch);
        // A queue found retired has just been forgotten: it leaves the dictionary at once, and the next look-up makes
        // a new one.
        while (!QueueOf(edge).TryEnqueue(batch))
        {
            Thread.Yield();
        }
    }

    /// <summary>
    /// Notes that <paramref name="edge"/> takes several batches per call (<see cref="IEdgePushObserver.PushManyAsync"/>),
    /// as a device that logged in through it said. Until then the edge gets one call per batch.
    /// </summary>
    public void TakesPushMany(IEdgePushObserver edge)
    {
        ArgumentNullException.ThrowIfNull(edge);
        QueueOf(edge).Raise(EdgeCalls.Many);
    }

    /// <summary>
    /// Notes that <paramref name="edge"/> takes numbered calls (<see cref="IEdgePushObserver.PushInOrderAsync"/>), as a
    /// device that logged in through it said.
    /// </summary>
    public void TakesPushInOrder(IEdgePushObserver edge)
    {
        ArgumentNullException.ThrowIfNull(edge);
        QueueOf(edge).Raise(EdgeCalls.InOrder);
    }

    private EdgeQueue QueueOf(IEdgePushObserver edge)
    {
        if (_edges.TryGetValue(edge, out var queue))
        {
            return queue;
        }

        var created = new EdgeQueue(this, edge);
        queue = _edges.GetOrAdd(edge, created);
        if (queue == created)
        {
            ForgetIdleEdges(created);
        }

        return queue;
    }

    private void ForgetIdleEdges(EdgeQueue keep)
    {
        var idleSince = Environment.TickCount64 - (long)ForgetIdleEdgeAfter.TotalMilliseconds;
        foreach (var (edge, queue) in _edges)
        {
            if (queue != keep && queue.TryRetire(idleSince))
            {
                _edges.TryRemove(new KeyValuePair<IEdgePushObserver, EdgeQueue>(edge, queue));
            }
        }
    }

    /// <summary>Sends <paramref name="batches"/> to <paramref name="queue"/>'s edge in order, in as few calls as allowed.</summary>
    private void Send(EdgeQueue queue, List<UserEventBatch> batches)
    {
        var edge = queue.Edge;
        var calls = queue.Calls;
        var sent = 0;
        try
        {
            while (sent < batches.Count)
            {
                var count = calls == EdgeCalls.One ? 1 : Math.Min(MaxBatchesPerCall, batches.Count - sent);
                if (calls == EdgeCalls.InOrder)
                {
                    // A new array per call: a one-way call's arguments are serialized after it returns, so none is reused.
                    _ = edge.PushInOrderAsync(queue.Sender, queue.NextCallNumber(), Chunk(batches, sent, count));
                }
                else if (count == 1)
                {
                    // One batch needs no array, and every edge version takes it.
                    _ = edge.PushAsync(batches[sent]);
                }
                else
                {
                    _ = edge.PushManyAsync(Chunk(batches, sent, count));
                }

                sent += count;
                Calls.Add(1);
                Batches.Add(count);
            }
        }
        catch (Exception ex)
        {
            // One-way calls do not fail for a dead edge (its devices reconnect elsewhere and sync); anything thrown here
            // must still not escape a thread-pool work item, which would end the process.
            LogSendFailed(logger, edge.ToString() ?? "", batches.Count - sent, ex.Message);
        }
    }

    private static UserEventBatch[] Chunk(List<UserEventBatch> batches, int start, int count)
    {
        var chunk = new UserEventBatch[count];
        batches.CopyTo(start, chunk, 0, count);
        return chunk;
    }

    [LoggerMessage(1, LogLevel.Warning, "Pushing to edge {Edge} failed; {Lost} batches lost (devices resync): {Reason}")]
    private static partial void LogSendFailed(ILogger logger, string edge, int lost, string reason);

    /// <summary>One edge's queue and its flush (the work item itself, so scheduling a flush allocates nothing).</summary>
    private sealed class EdgeQueue(EdgePushOutbox owner, IEdgePushObserver edge) : IThreadPoolWorkItem
    {
        public IEdgePushObserver Edge => edge;

        private readonly Lock _lock = new();
        private List<UserEventBatch> _pending = [];

        // The list the flush last sent, emptied: the next flush swaps it with _pending (two lists per edge, reused).
        private List<UserEventBatch> _spare = [];

        // A flush is queued or running. Only one at a time, so calls to the edge are sequential and in queue order.
        private bool _flushing;
        private bool _retired;
        private long _lastUsed = Environment.TickCount64;
        private int _calls = (int)EdgeCalls.One;

        // The last call number given: only the flush takes one, and one flush runs at a time.
        private long _callNumber;

        /// <summary>
        /// This queue among all that call the edge, for the numbers of its calls: new with each queue (a silo that
        /// restarts, or forgot the edge while it was idle, numbers from 1 again), so the edge never takes a new count's
        /// first calls for late ones of an old count.
        /// </summary>
        public long Sender { get; } = Random.Shared.NextInt64(1, long.MaxValue);

        /// <summary>How the edge is called: the newest way any of its devices said it takes.</summary>
        public EdgeCalls Calls => (EdgeCalls)Volatile.Read(ref _calls);

        /// <summary>The edge takes <paramref name="calls"/>; an edge never goes back to an older way (an old device's session says less).</summary>
        public void Raise(EdgeCalls calls)
        {
            var current = Volatile.Read(ref _calls);
            while (current < (int)calls)
            {
                var seen = Interlocked.CompareExchange(ref _calls, (int)calls, current);
                if (seen == current)
                {
                    return;
                }

                current = seen;
            }
        }

        public long NextCallNumber() => ++_callNumber;

        /// <summary>Queues the batch, and its flush if none is pending; false if this queue was forgotten.</summary>
        public bool TryEnqueue(UserEventBatch batch)
        {
            bool schedule;
            lock (_lock)
            {
                if (_retired)
                {
                    return false;
                }

                _pending.Add(batch);
                schedule = !_flushing;
                _flushing = true;
            }

            if (schedule)
            {
                // Not preferLocal: the flush goes behind the turns already queued, which is where the batching comes from.
                // Unsafe: no execution context to flow (a grain's request context must not follow it into the call).
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            }

            return true;
        }

        /// <summary>Marks the queue forgotten if nothing was pushed since <paramref name="idleSince"/> and nothing waits.</summary>
        public bool TryRetire(long idleSince)
        {
            lock (_lock)
            {
                if (_flushing || _pending.Count > 0 || _lastUsed > idleSince)
                {
                    return false;
                }

                _retired = true;
                return true;
            }
        }

        /// <summary>The flush: sends what is queued now; what arrives meanwhile gets the next flush.</summary>
        public void Execute()
        {
            List<UserEventBatch> sending;
            lock (_lock)
            {
                sending = _pending;
                _pending = _spare;
                _lastUsed = Environment.TickCount64;
            }

            owner.Send(this, sending);
            if (sending.Capacity > MaxRetainedCapacity)
            {
                sending = [];
            }
            else
            {
                sending.Clear();
            }

            bool again;
            lock (_lock)
            {
                _spare = sending;
                again = _pending.Count > 0;
                _flushing = again;
            }

            if (again)
            {
                // Requeued, not looped: an edge that is pushed to without pause must not hold a thread-pool thread.
                ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
            }
        }
    }
}
