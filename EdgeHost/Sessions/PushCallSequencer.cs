using Orleans.Im.Push;

namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>
/// Hands on the numbered push calls of each silo (<see cref="IEdgePushObserver.PushInOrderAsync"/>) in the order the silo
/// made them. Orleans does not keep one-way calls in order: now and then a call arrives just before the one made before
/// it, and a device was then pushed a conversation's newer message before the older one (the SDK filled the "gap" with a
/// pull; the web page miscounted). A call that comes ahead of its turn waits until the ones before it came, or until
/// <see cref="Window"/> passed, when those are taken as lost (a dropped connection) and it goes on; its devices find
/// what was lost at their next sync, as for any lost push.
/// </summary>
public sealed class PushCallSequencer(TimeProvider time, Action<UserEventBatch[]> deliver)
{
    private readonly TimeProvider _time = time;
    private readonly Action<UserEventBatch[]> _deliver = deliver;

    /// <summary>
    /// How long a call that came ahead of its turn waits for those before it: an overtaken call arrives within a
    /// millisecond or so of the one that overtook it, even on a loaded machine; a call not there after this was lost.
    /// </summary>
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(100);

    /// <summary>The most calls held for one silo; more and the missing ones are taken as lost at once.</summary>
    public const int MaxHeldCalls = 64;

    /// <summary>A silo not heard from for this long is forgotten (checked when a new one appears): silos restart as new senders.</summary>
    private static readonly TimeSpan ForgetIdleSenderAfter = TimeSpan.FromHours(1);

    private readonly Dictionary<long, Sender> _senders = [];
    private readonly Lock _lock = new();

    /// <summary>Silos whose calls this edge is ordering.</summary>
    public int SenderCount
    {
        get
        {
            lock (_lock)
            {
                return _senders.Count;
            }
        }
    }

    /// <summary>Calls that came ahead of their turn (held, then handed on in order or after the window).</summary>
    public long Reordered => Interlocked.Read(ref _reordered);

    private long _reordered;

    /// <summary>Takes call <paramref name="number"/> of <paramref name="sender"/>: hands it on now if it is its turn (with any held after it), else holds it.</summary>
    public void Accept(long sender, long number, UserEventBatch[] batches)
    {
        ArgumentNullException.ThrowIfNull(batches);
        SenderOf(sender).Accept(number, batches);
    }

    private Sender SenderOf(long id)
    {
        lock (_lock)
        {
            if (_senders.TryGetValue(id, out var sender))
            {
                return sender;
            }

            var now = _time.GetTimestamp();
            foreach (var (other, idle) in _senders.Where(s => s.Value.IdleSince(now) > ForgetIdleSenderAfter).ToList())
            {
                if (idle.TryRetire())
                {
                    _senders.Remove(other);
                }
            }

            sender = new Sender(this);
            _senders[id] = sender;
            return sender;
        }
    }

    /// <summary>One silo's calls: the number due next, those that came early, and the timer that stops waiting for the rest.</summary>
    private sealed class Sender(PushCallSequencer owner)
    {
        private readonly Lock _lock = new();
        private readonly SortedDictionary<long, UserEventBatch[]> _held = [];
        private long _next = 1; // a silo's count starts at 1 (a new queue, when the silo restarts or forgot this edge)
        private long _lastUsed = owner._time.GetTimestamp();
        private ITimer? _timer;
        private bool _retired;

        public TimeSpan IdleSince(long now)
        {
            lock (_lock)
            {
                return _held.Count > 0 ? TimeSpan.Zero : owner._time.GetElapsedTime(_lastUsed, now);
            }
        }

        public bool TryRetire()
        {
            lock (_lock)
            {
                _retired = _held.Count == 0;
                return _retired;
            }
        }

        public void Accept(long number, UserEventBatch[] batches)
        {
            // Delivered under the lock: a call handed on by the timer and one by the next arrival must not overtake each
            // other. Delivery only queues (each connection has its own queue), so the lock is held briefly.
            lock (_lock)
            {
                if (_retired)
                {
                    // Forgotten while idle, an hour after its last call, and called again by a look-up from before: its
                    // count goes on, so this call is in turn.
                    _retired = false;
                    _next = number;
                }

                _lastUsed = owner._time.GetTimestamp();
                if (number == _next)
                {
                    owner._deliver(batches);
                    _next = number + 1;
                    DeliverHeldInTurn();
                }
                else if (number < _next)
                {
                    // Later than the window (taken as lost and passed over), or the silo's count started after it:
                    // handed on as it is; the devices put messages in order by seq.
                    owner._deliver(batches);
                }
                else
                {
                    Interlocked.Increment(ref owner._reordered);
                    _held[number] = batches;
                    if (_held.Count > MaxHeldCalls)
                    {
                        DeliverAllHeld();
                    }
                    else
                    {
                        _timer ??= owner._time.CreateTimer(static state => ((Sender)state!).OnWindowPassed(), this, Window, Timeout.InfiniteTimeSpan);
                    }
                }
            }
        }

        private void OnWindowPassed()
        {
            lock (_lock)
            {
                _timer?.Dispose();
                _timer = null;
                DeliverAllHeld();
            }
        }

        /// <summary>Hands on the held calls that are now in turn; stops the wait once none is held.</summary>
        private void DeliverHeldInTurn()
        {
            while (_held.Remove(_next, out var batches))
            {
                owner._deliver(batches);
                _next++;
            }

            if (_held.Count == 0)
            {
                _timer?.Dispose();
                _timer = null;
            }
        }

        /// <summary>The calls missing before the held ones are taken as lost: the held go on, in order.</summary>
        private void DeliverAllHeld()
        {
            foreach (var (number, batches) in _held)
            {
                owner._deliver(batches);
                _next = number + 1;
            }

            _held.Clear();
            _timer?.Dispose();
            _timer = null;
        }
    }
}
