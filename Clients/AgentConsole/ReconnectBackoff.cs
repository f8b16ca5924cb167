namespace Orleans.Im.AgentConsole;

/// <summary>
/// The pauses between the console's own reconnects once the SDK has stopped reconnecting: <see cref="First"/>, doubling
/// up to <see cref="Longest"/>, each shortened by a random share of up to <see cref="JitterShare"/> so that the consoles
/// of a whole shift, cut off together by an outage, do not sign in again together. Not thread-safe: the console's loop
/// runs one reconnect at a time.
/// </summary>
internal sealed class ReconnectBackoff(Random random)
{
    /// <summary>The pause after the first failed attempt.</summary>
    public static readonly TimeSpan First = TimeSpan.FromSeconds(1);

    /// <summary>The longest pause: an edge back after an outage is found within a minute.</summary>
    public static readonly TimeSpan Longest = TimeSpan.FromSeconds(60);

    /// <summary>At most this share of a pause is taken off at random (so a pause never exceeds <see cref="Longest"/>).</summary>
    public const double JitterShare = 0.25;

    private TimeSpan _delay = TimeSpan.Zero;

    /// <summary>The pause before the next attempt, after one more failed.</summary>
    public TimeSpan Next()
    {
        _delay = _delay == TimeSpan.Zero ? First : TimeSpan.FromTicks(Math.Min(_delay.Ticks * 2, Longest.Ticks));
        return _delay * (1 - (JitterShare * random.NextDouble()));
    }

    /// <summary>Connected again: the next failure starts from <see cref="First"/>.</summary>
    public void Reset() => _delay = TimeSpan.Zero;
}
