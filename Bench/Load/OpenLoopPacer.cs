using System.Diagnostics;

namespace Orleans.Im.Bench.Load;

/// <summary>
/// Issues work at a fixed aggregate rate regardless of how fast it completes (an open loop: a slow server shows as
/// latency and backlog, not as a lower offered rate). Wakes about every millisecond and catches up on what is due.
/// </summary>
public static class OpenLoopPacer
{
    /// <summary>The most issued in one wake-up, so that a stalled generator does not burst its whole backlog at once.</summary>
    private const int MaxBurst = 2_000;

    /// <summary>
    /// Calls <paramref name="issue"/> <paramref name="ratePerSecond"/> times a second for <paramref name="duration"/>, or
    /// until <paramref name="done"/> says so; returns how many.
    /// </summary>
    public static async Task<long> RunAsync(double ratePerSecond, TimeSpan duration, Action<long> issue, Func<bool>? done = null)
    {
        ArgumentNullException.ThrowIfNull(issue);
        var clock = Stopwatch.StartNew();
        long issued = 0;
        while (clock.Elapsed < duration && (done is null || !done()))
        {
            var due = (long)(clock.Elapsed.TotalSeconds * ratePerSecond);
            for (var burst = 0; issued < due && burst < MaxBurst; burst++)
            {
                issue(issued++);
            }

            await Task.Delay(1);
        }

        return issued;
    }
}
