using Orleans.Im.Conversations;

namespace Orleans.Im.Robots.Runtime;

/// <summary>
/// Where a robot stands in one conversation: the last seq it handled (or skipped) and the read position it last saw.
/// Runs at most one pump at a time, so that the conversation's messages are handled in order; a hint that arrives while
/// it runs makes it run once more.
/// </summary>
internal sealed class ConversationCursor(ConversationAddress address)
{
    private readonly Lock _lock = new();
    private bool _pending;
    private Task _running = Task.CompletedTask;
    private bool _isRunning;

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

    /// <summary>Runs <paramref name="pump"/> now, or once more after the current run.</summary>
    public void Schedule(Func<ConversationCursor, Task> pump)
    {
        lock (_lock)
        {
            _pending = true;
            if (_isRunning)
            {
                return;
            }

            _isRunning = true;
            _running = Task.Run(() => LoopAsync(pump));
        }
    }

    private async Task LoopAsync(Func<ConversationCursor, Task> pump)
    {
        while (true)
        {
            lock (_lock)
            {
                if (!_pending)
                {
                    _isRunning = false;
                    return;
                }

                _pending = false;
            }

            // The pump handles its own failures; a hint or the next catch-up retries.
            await pump(this);
        }
    }
}
