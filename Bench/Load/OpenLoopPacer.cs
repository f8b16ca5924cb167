using System.Diagnostics;

namespace Orleans.Im.Bench.Load;

/// <summary>
/// Issues work at a fixed aggregate rate regardless of how fast it completes (an open loop: a slow server shows as
/// latency and backlog, not as a lower offered rate). Sleeps until the next item is due, at least <c>tick</c> and at most
/// <see cref="MaxSleep"/>, and catches up on what is due when it wakes.
/// </summary>
public static class OpenLoopPacer
{
    /// <summary>The most issued in one wake-up, so that a stalled generator does not burst its whole backlog at once.</summary>
    private const int MaxBurst = 2_000;

    /// <summary>The longest sleep, so that <c>done</c> and the end of the run are noticed in time.</summary>
    private static readonly TimeSpan MaxSleep = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Calls <paramref name="issue"/> <paramref name="ratePerSecond"/> times a second for <paramref name="duration"/>, or
    /// until <paramref name="done"/> says so; returns how many, and the largest lag behind the schedule.
    /// </summary>
    /// <param name="ratePerSecond">The aggregate rate.</param>
    /// <param name="duration">How long to issue.</param>
    /// <param name="issue">
    /// Issues item n (0, 1, 2, …) scheduled at the given <see cref="Stopwatch"/> timestamp (start + (n + 1) ÷ rate); must not
    /// block. Latencies must be timed from that timestamp, not from when the call runs: an item issued late because the
    /// generator stalled would otherwise start its clock late and hide the stall (coordinated omission).
    /// </param>
    /// <param name="done">Ends the run early when it says so.</param>
    /// <param name="tick">
    /// The shortest sleep (1 ms when not given). Messaging runs keep it at 1 ms so that send times are spread; holding
    /// thousands of idle connections, a coarser tick spares the generator the CPU of a thousand wake-ups a second, which
    /// on a shared 2-core machine is CPU taken from the servers being measured.
    /// </param>
    public static async Task<PacerResult> RunAsync(
        double ratePerSecond, TimeSpan duration, Action<long, long> issue, Func<bool>? done = null, TimeSpan? tick = null)
    {
        ArgumentNullException.ThrowIfNull(issue);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ratePerSecond);
        var shortest = tick ?? TimeSpan.FromMilliseconds(1);
        // One start for the schedule and for what is due, so that no item is issued before its scheduled time.
        var startTicks = Stopwatch.GetTimestamp();
        var ticksPerItem = Stopwatch.Frequency / ratePerSecond;
        long issued = 0, maxLagTicks = 0;
        while (Stopwatch.GetElapsedTime(startTicks) < duration && (done is null || !done()))
        {
            var due = (long)(Stopwatch.GetElapsedTime(startTicks).TotalSeconds * ratePerSecond);
            for (var burst = 0; issued < due && burst < MaxBurst; burst++)
            {
                // Item n is due once n + 1 items are (the loop's own rule above).
                var scheduled = startTicks + (long)((issued + 1) * ticksPerItem);
                maxLagTicks = Math.Max(maxLagTicks, Stopwatch.GetTimestamp() - scheduled);
                issue(issued++, scheduled);
            }

            var untilNext = TimeSpan.FromSeconds((issued + 1) / ratePerSecond) - Stopwatch.GetElapsedTime(startTicks);
            await Task.Delay(untilNext < shortest ? shortest : untilNext > MaxSleep ? MaxSleep : untilNext);
        }

        return new PacerResult(issued, Stopwatch.GetElapsedTime(0, maxLagTicks));
    }
}
