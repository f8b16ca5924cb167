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
    /// until <paramref name="done"/> says so; returns how many.
    /// </summary>
    /// <param name="ratePerSecond">The aggregate rate.</param>
    /// <param name="duration">How long to issue.</param>
    /// <param name="issue">Issues item n (0, 1, 2, …); must not block.</param>
    /// <param name="done">Ends the run early when it says so.</param>
    /// <param name="tick">
    /// The shortest sleep (1 ms when not given). Messaging runs keep it at 1 ms so that send times are spread; holding
    /// thousands of idle connections, a coarser tick spares the generator the CPU of a thousand wake-ups a second, which
    /// on a shared 2-core machine is CPU taken from the servers being measured.
    /// </param>
    public static async Task<long> RunAsync(double ratePerSecond, TimeSpan duration, Action<long> issue, Func<bool>? done = null, TimeSpan? tick = null)
    {
        ArgumentNullException.ThrowIfNull(issue);
        var shortest = tick ?? TimeSpan.FromMilliseconds(1);
        var clock = Stopwatch.StartNew();
        long issued = 0;
        while (clock.Elapsed < duration && (done is null || !done()))
        {
            var due = (long)(clock.Elapsed.TotalSeconds * ratePerSecond);
            for (var burst = 0; issued < due && burst < MaxBurst; burst++)
            {
                issue(issued++);
            }

            var untilNext = TimeSpan.FromSeconds((issued + 1) / ratePerSecond) - clock.Elapsed;
            await Task.Delay(untilNext < shortest ? shortest : untilNext > MaxSleep ? MaxSleep : untilNext);
        }

        return issued;
    }
}
