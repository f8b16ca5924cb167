using Orleans.Im.Conversations;

namespace Orleans.Im.Robots.Runtime;

/// <summary>
/// Where a robot stands in one conversation: the last seq it handled (or skipped) and the read position it last saw.
/// Runs at most one pump at a time, so that the conversation's messages are handled in order; a hint that arrives while
/// it runs makes it run once more. An idle cursor may be retired (the robot keeps no state for every conversation it
/// ever saw); a retired one runs nothing more, and the next hint makes a new one from the read position.
/// </summary>
internal sealed class ConversationCursor(ConversationAddress address, TimeProvider time)
{
    private readonly Lock _lock = new();
    private bool _pending;
    private Task _running = Task.CompletedTask;
    private bool _isRunning;
    private bool _retired;
    private DateTimeOffset _lastActive = time.GetUtcNow();

    public ConversationAddress Address { get; } = address;

    public string ConversationId => Address.Id;

    /// <summary>The last seq handled or skipped; null until read from the robot's conversation entry.</summary>
    public long? HandledSeq { get; set; }

    /// <summary>The robot's read position as last confirmed by its user grain.</summary>
    public long ReadSeq { get; set; }

    /// <summary>
    /// The last pump stopped before the end (a handler or a call failed): the next catch-up runs it again even when
    /// the conversation did not change meanwhile.
    /// </summary>
    public bool Stalled { get; set; }

    /// <summary>The seq whose handler failed last, and how often: a message that keeps failing is given up on.</summary>
    public (long Seq, int Attempts) Failures { get; set; }

    /// <summary>
    /// The seq whose handler met a passing failure last (a reply refused as unavailable or rate limited, a call that
    /// timed out), how often in a row, since when, and when it may be tried again: such a message waits, until
    /// <see cref="RobotOptions.GiveUpWaitingAfter"/> after its first failure in the row.
    /// </summary>
    public (long Seq, int Attempts, DateTimeOffset Since, DateTimeOffset NotBefore) Passing { get; set; }

    /// <summary>The current pump, if any: awaited when the robot stops.</summary>
    public Task Running
    {
        get
        {
            lock (_lock)
            {
                return _running;
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="pump"/> now, or once more after the current run. False when the cursor was retired: the
    /// caller makes a new one.
    /// </summary>
    public bool Schedule(Func<ConversationCursor, Task> pump)
    {
        lock (_lock)
        {
            if (_retired)
            {
                return false;
            }

            _pending = true;
            _lastActive = time.GetUtcNow();
            if (_isRunning)
            {
                return true;
            }

            _isRunning = true;
            _running = Task.Run(() => LoopAsync(pump));
            return true;
        }
    }

    /// <summary>
    /// Retires the cursor when nothing runs or waits, the last pump finished (not <see cref="Stalled"/>), and nothing
    /// happened for <paramref name="idleFor"/>: what it knew is in the read position, which a new cursor starts from.
    /// </summary>
    public bool TryRetire(TimeSpan idleFor)
    {
        lock (_lock)
        {
            // Nor while what was handled is not yet marked read: a new cursor would start from the mark, before it.
            if (_retired || _isRunning || _pending || Stalled || HandledSeq > ReadSeq || time.GetUtcNow() - _lastActive < idleFor)
            {
                return false;
            }

            _retired = true;
            return true;
        }
    }

    /// <summary>Whether the cursor was retired: a pump running on it stops at its next message.</summary>
    public bool Retired
    {
        get
        {
            lock (_lock)
            {
                return _retired;
            }
        }
    }

    /// <summary>
    /// Retires the cursor whatever it is doing (the robot left the conversation): no run is scheduled on it any more, and
    /// the one running stops at its next message.
    /// </summary>
    public void Retire()
    {
        lock (_lock)
        {
            _retired = true;
            _pending = false;
        }
    }

    private async Task LoopAsync(Func<ConversationCursor, Task> pump)
    {
        while (true)
        {
            lock (_lock)
            {
                if (!_pending || _retired)
                {
                    _isRunning = false;
                    _lastActive = time.GetUtcNow();
                    return;
                }

                _pending = false;
            }

            // The pump handles its own failures; a hint or the next catch-up retries.
            await pump(this);
        }
    }
}
