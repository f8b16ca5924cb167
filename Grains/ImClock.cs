namespace Orleans.Im;

/// <summary>
/// The time grains stamp on messages and judge windows by (recall, edit). A class of its own, not the runtime's
/// <see cref="TimeProvider"/>, so that tests can move the product's clock without moving Orleans' timers.
/// Times are cut to whole milliseconds: what PostgreSQL and the wire keep, so a time read back equals the one acked.
/// </summary>
public class ImClock(TimeProvider timeProvider)
{
    public ImClock()
        : this(TimeProvider.System)
    {
    }

    /// <summary>Now, in UTC, to the millisecond.</summary>
    public DateTimeOffset UtcNow
    {
        get
        {
            var now = timeProvider.GetUtcNow();
            return new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
        }
    }
}
