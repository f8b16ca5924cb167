using Orleans.Im.EdgeHost.Sessions;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>A clock that moves and whose timers fire only when the test says.</summary>
public sealed class ManualTimers : TimeProvider
{
    private readonly List<ManualTimer> _timers = [];
    private long _now;

    public int Armed => _timers.Count(t => t.Armed);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => _now;

    public void Advance(TimeSpan by) => _now += by.Ticks;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(callback, state, dueTime != Timeout.InfiniteTimeSpan);
        _timers.Add(timer);
        return timer;
    }

    /// <summary>The window passes, and the timers armed fire.</summary>
    public void FireAll()
    {
        Advance(PushCallSequencer.Window);
        foreach (var timer in _timers.Where(t => t.Armed).ToList())
        {
            timer.Fire();
        }
    }

    /// <summary>Fires a timer whether armed or not, as a callback already on its way when it was stopped.</summary>
    public void FireLate() => _timers[^1].Fire();

    private sealed class ManualTimer(TimerCallback callback, object? state, bool armed) : ITimer
    {
        public bool Armed { get; private set; } = armed;

        public void Fire()
        {
            Armed = false;
            callback(state);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Armed = dueTime != Timeout.InfiniteTimeSpan;
            return true;
        }

        public void Dispose() => Armed = false;

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
