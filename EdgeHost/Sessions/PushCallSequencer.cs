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
/// <param name="time">The clock of the window.</param>
/// <param name="deliver">Hands a call's batches on to the devices.</param>
/// <param name="failed">Told of a failure to hand a call on (the others go on).</param>
/// <param name="lost">
/// Told when calls were taken as lost (null: whose pushes they carried is unknown), or when a call taken as lost came
/// after all, behind newer ones (the users of its batches): their devices must sync, since nothing else tells them.
/// </param>
public sealed class PushCallSequencer(TimeProvider time, Action<UserEventBatch[]> deliver, Action<Exception>? failed = null, Action<string[]?>? lost = null)
{
    private readonly TimeProvider _time = time;
    private readonly Action<UserEventBatch[]> _deliver = deliver;
    private readonly Action<Exception>? _failed = failed;
    private readonly Action<string[]?>? _lost = lost;

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

            // Calls come one at a time (the cluster client hands an observer its calls in turn), so no other call can
            // be using a sender forgotten here. One forgotten while its silo kept its queue (idle an hour, the silo
            // found no new edge to make it forget its own) comes back counting from where it was: its first call is held
            // a window, once.
            var now = _time.GetTimestamp();
            foreach (var (other, idle) in _senders.Where(s => s.Value.IdleFor(now) > ForgetIdleSenderAfter).ToList())
            {
                idle.Dispose();
                _senders.Remove(other);
            }

            sender = new Sender(this);
            _senders[id] = sender;
            return sender;
        }
    }

    /// <summary>Hands a call's batches on; a failure (one odd event) must not end the process from a timer thread, nor stop the others.</summary>
    private void Deliver(UserEventBatch[] batches)
    {
        try
        {
            _deliver(batches);
        }
        catch (Exception ex)
        {
            // Boundary: the devices concerned find what they missed at their next sync.
            _failed?.Invoke(ex);
        }
    }

    /// <summary>One silo's calls: the number due next, those that came early, and the timer that stops waiting for the rest.</summary>
    private sealed class Sender(PushCallSequencer owner) : IDisposable
    {
        private readonly Lock _lock = new();
        private readonly SortedDictionary<long, UserEventBatch[]> _held = [];
        private long _next = 1; // a silo's count starts at 1 (a new queue: the silo started, or made it again)
        private long _lastUsed = owner._time.GetTimestamp();
        private long _waitingSince;
        private ITimer? _timer;

        public TimeSpan IdleFor(long now)
        {
            lock (_lock)
            {
                return _held.Count > 0 ? TimeSpan.Zero : owner._time.GetElapsedTime(_lastUsed, now);
            }
        }

        public void Accept(long number, UserEventBatch[] batches)
        {
            // Handed on under the lock: a call handed on by the timer and one by the next arrival must not overtake each
            // other. Handing on only queues (each connection has its own queue), so the lock is held briefly.
            lock (_lock)
            {
                _lastUsed = owner._time.GetTimestamp();
                if (number == _next)
                {
                    owner.Deliver(batches);
                    _next = number + 1;
                    DeliverHeldInTurn();
                }
                else if (number < _next)
                {
                    // Later than the window (taken as lost and passed over): handed on as it is; the devices put messages
                    // in order by seq, and sync for the rest (a conversation's state or a change applied after a newer one).
                    owner.Deliver(batches);
                    owner._lost?.Invoke([.. batches.Select(b => b.UserId).Distinct()]);
                }
                else
                {
                    Interlocked.Increment(ref owner._reordered);
                    var waiting = _held.Count > 0;
                    _held[number] = batches;
                    if (_held.Count > MaxHeldCalls)
                    {
                        DeliverAllHeld();
                    }
                    else if (!waiting)
                    {
                        StartWaiting();
                    }
                }
            }
        }

        public void Dispose()
        {
            lock (_lock)
            {
                _timer?.Dispose();
                _timer = null;
            }
        }

        /// <summary>The oldest call held waits a whole window from now.</summary>
        private void StartWaiting()
        {
            _waitingSince = owner._time.GetTimestamp();
            if (_timer is null)
            {
                _timer = owner._time.CreateTimer(static state => ((Sender)state!).OnTimer(), this, Window, Timeout.InfiniteTimeSpan);
            }
            else
            {
                _timer.Change(Window, Timeout.InfiniteTimeSpan);
            }
        }

        private void OnTimer()
        {
            lock (_lock)
            {
                if (_held.Count == 0)
                {
                    return;
                }

                // A callback already on its way when the wait it was for ended, and a new one began: not this one's turn.
                var waited = owner._time.GetElapsedTime(_waitingSince);
                if (waited < Window)
                {
                    _timer?.Change(Window - waited, Timeout.InfiniteTimeSpan);
                    return;
                }

                DeliverAllHeld();
            }
        }

        /// <summary>Hands on the held calls that are now in turn; the next one held, if any, waits a window of its own.</summary>
        private void DeliverHeldInTurn()
        {
            if (_held.Count == 0)
            {
                return;
            }

            while (_held.Remove(_next, out var batches))
            {
                owner.Deliver(batches);
                _next++;
            }

            if (_held.Count > 0)
            {
                StartWaiting();
            }
            else
            {
                _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
        }

        /// <summary>The calls missing before the held ones are taken as lost: the held go on, in order.</summary>
        private void DeliverAllHeld()
        {
            var held = _held.ToArray();
            _held.Clear();
            var skipped = held[0].Key > _next;
            _next = held[^1].Key + 1;
            _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            foreach (var (_, batches) in held)
            {
                owner.Deliver(batches);
            }

            if (skipped)
            {
                owner._lost?.Invoke(null);
            }
        }
    }
}
