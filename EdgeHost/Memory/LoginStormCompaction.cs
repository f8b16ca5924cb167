using System.Diagnostics;
using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Sessions;

namespace Orleans.Im.EdgeHost.Memory;

/// <summary>
/// Gives a login storm's garbage back to the operating system once the storm is over. An edge host is sized by its
/// memory per connection, and a storm (every client of a restarted edge or silo logging in at once) leaves much of it
/// behind: logins that wait for their turn live through several young collections, so their requests, replies and
/// grain calls end up in generation 2, and die there. Nothing then collects generation 2 while the edge's connections sit
/// idle and ping, so that garbage stays committed (~2.7 KB per connection after 19,000 logins, a quarter of the edge's
/// memory; docs/BENCHMARKS.md, seventh session). One aggressive collection (blocking, compacting, decommitting) when the
/// storm has passed returns it, for one pause of a few hundred milliseconds that no client notices (pings are a minute
/// apart). It runs at most once per <see cref="EdgeOptions.CompactMinInterval"/>, and never while logins keep coming.
/// </summary>
public sealed partial class LoginStormCompaction(SessionHub sessions, IOptions<EdgeOptions> options, TimeProvider time, ILogger<LoginStormCompaction> logger)
    : BackgroundService
{
    private static readonly TimeSpan TickPeriod = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var edge = options.Value;
        if (edge.CompactAfterLogins <= 0)
        {
            return;
        }

        var policy = new LoginStormPolicy(edge.CompactAfterLogins, edge.CompactWhenQuietFor, edge.CompactMinInterval);
        using var timer = new PeriodicTimer(TickPeriod, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (policy.Tick(time.GetUtcNow(), sessions.SessionsOpened, out var logins))
                {
                    Compact(logins);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    private void Compact(long logins)
    {
        var before = GC.GetGCMemoryInfo().TotalCommittedBytes;
        var started = Stopwatch.GetTimestamp();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var after = GC.GetGCMemoryInfo().TotalCommittedBytes;
        LogCompacted(logger, logins, before / (1024 * 1024), after / (1024 * 1024), (long)elapsed.TotalMilliseconds);
    }

    [LoggerMessage(1, LogLevel.Information, "A login storm ({Logins} logins) is over: collected its garbage, GC committed memory {BeforeMiB} → {AfterMiB} MiB in {Milliseconds} ms")]
    private static partial void LogCompacted(ILogger logger, long logins, long beforeMiB, long afterMiB, long milliseconds);
}
