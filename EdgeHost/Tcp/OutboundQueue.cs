using System.Threading.Tasks.Sources;

namespace Orleans.Im.EdgeHost.Tcp;

/// <summary>
/// A connection's bounded queue of frames to write: many writers (pushes from the cluster, replies from the read loop),
/// one reader (the write loop). It replaces a bounded <c>Channel</c>, which kept ~0.6 KB of reader and writer operation
/// objects on every connection, idle or not; this keeps a lock, one reusable waiter and, only while something waits to be written, a queue.
/// </summary>
internal sealed class OutboundQueue : IValueTaskSource<bool>
{
    private readonly Lock _lock = new();
    private readonly int _capacity;
    private readonly long _maxReplyBytes;
    private Queue<Outbound>? _items;
    private long _replyBytes;
    private int _replies;
    private ManualResetValueTaskSourceCore<bool> _waiter;
    private bool _readerWaiting;
    private bool _completed;

    /// <param name="capacity">
    /// Pushed event batches held at most, and replies held at most, each on its own: a burst of pushes that fills the queue
    /// (dropped, with a resync, while it lasts) must not refuse the reply to the client's next request, which closes the
    /// connection; a client that asks and does not read fills the replies' share.
    /// </param>
    /// <param name="maxReplyBytes">
    /// Reply body bytes held at most: a reply that would take them past it is refused, unless no reply waits (one frame
    /// always fits). Counted because replies are each this connection's own memory, up to the frame limit each: a client
    /// that asks for large pages and does not read would otherwise hold <paramref name="capacity"/> frames of them.
    /// Pushed events are not counted: they are bounded by count, shared with the user's other devices, and dropped
    /// (with a resync) rather than refused.
    /// </param>
    public OutboundQueue(int capacity, long maxReplyBytes = long.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxReplyBytes);
        _capacity = capacity;
        _maxReplyBytes = maxReplyBytes;

        // The write loop must never run on a pusher's thread (an Orleans call, another connection's read loop).
        _waiter.RunContinuationsAsynchronously = true;
    }

    /// <summary>Items waiting to be written.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _items?.Count ?? 0;
            }
        }
    }

    /// <summary>Reply body bytes waiting to be written.</summary>
    public long ReplyBytes
    {
        get
        {
            lock (_lock)
            {
                return _replyBytes;
            }
        }
    }

    /// <summary>
    /// True while a reply of up to <paramref name="largestReplyBytes"/> might not fit (the replies' share is full, or their
    /// bytes and such a reply would pass the limit): the read loop then waits for the writer before it serves the client's
    /// next request, rather than refusing its answer. Never while no reply waits (one always fits, see <see cref="TryWrite"/>).
    /// </summary>
    public bool RepliesFull(long largestReplyBytes)
    {
        lock (_lock)
        {
            return !_completed && (_replies >= _capacity || (_replyBytes > 0 && _replyBytes + largestReplyBytes > _maxReplyBytes));
        }
    }

    /// <summary>Queues an item; false when the queue is full (by count, or by reply bytes) or completed.</summary>
    public bool TryWrite(Outbound item)
    {
        var bytes = SizeOf(item);
        lock (_lock)
        {
            var isReply = item is Outbound.Reply;
            var held = isReply ? _replies : (_items?.Count ?? 0) - _replies;
            if (_completed || held >= _capacity || (bytes > 0 && _replyBytes > 0 && _replyBytes + bytes > _maxReplyBytes))
            {
                return false;
            }

            (_items ??= new Queue<Outbound>()).Enqueue(item);
            _replyBytes += bytes;
            _replies += isReply ? 1 : 0;
            if (!_readerWaiting)
            {
                return true;
            }

            _readerWaiting = false;
        }

        _waiter.SetResult(true);
        return true;
    }

    /// <summary>True once <see cref="Complete"/> was called: writes are refused because the connection is closing.</summary>
    public bool IsCompleted
    {
        get
        {
            lock (_lock)
            {
                return _completed;
            }
        }
    }

    /// <summary>No more writes: the reader drains what is queued, then its wait returns false.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            if (_completed)
            {
                return;
            }

            _completed = true;
            if (!_readerWaiting)
            {
                return;
            }

            _readerWaiting = false;
        }

        // A waiting reader had found the queue empty, and no write came since: nothing is left to read.
        _waiter.SetResult(false);
    }

    /// <summary>The single reader's next item, if any.</summary>
    public bool TryRead(out Outbound item)
    {
        lock (_lock)
        {
            if (_items is { Count: > 0 } items)
            {
                item = items.Dequeue();
                _replyBytes -= SizeOf(item);
                _replies -= item is Outbound.Reply ? 1 : 0;
                if (items.Count == 0)
                {
                    // Drained: let the queue go, so that an idle connection holds none (a write makes a new one).
                    _items = null;
                }

                return true;
            }
        }

        item = null!;
        return false;
    }

    /// <summary>True when an item can be read; false once the queue is completed and drained. One reader at a time.</summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (_lock)
        {
            if (_items is { Count: > 0 })
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            _waiter.Reset();
            _readerWaiting = true;
            return new ValueTask<bool>(this, _waiter.Version);
        }
    }

    private static int SizeOf(Outbound item) => item is Outbound.Reply reply ? reply.Size : 0;

    bool IValueTaskSource<bool>.GetResult(short token) => _waiter.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _waiter.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _waiter.OnCompleted(continuation, state, token, flags);
}
