using Microsoft.Extensions.Logging;

namespace Orleans.Im.Edges;

/// <inheritdoc cref="IEdgeDirectoryGrain"/>
/// <remarks>
/// In memory: edges report every few seconds, so a reactivated directory is complete again within one interval. Its
/// record of losses is lost with it; the devices of an edge lost meanwhile are dropped when their leases run out.
/// </remarks>
public sealed partial class EdgeDirectoryGrain(ImClock clock, ILogger<EdgeDirectoryGrain> logger) : Grain, IEdgeDirectoryGrain
{
    /// <summary>Reports an edge may miss before it is dropped.</summary>
    public const int MissedReportsAllowed = 3;

    /// <summary>
    /// Losses remembered at most, the oldest forgotten first: far more edge hosts than a deployment has, lost within
    /// <see cref="LossMemory"/>.
    /// </summary>
    public const int MaxLosses = 1_000;

    /// <summary>
    /// How long a loss is remembered for silos to ask (they ask every few seconds; this covers a silo that could not for a
    /// while). The devices of a loss a silo never heard of are dropped when their leases run out.
    /// </summary>
    public static readonly TimeSpan LossMemory = TimeSpan.FromMinutes(10);

    /// <summary>Bounds of the sweep for silent edges (every shortest report interval of the edges, within these).</summary>
    private static readonly TimeSpan MinSweepInterval = TimeSpan.FromSeconds(0.1);
    private static readonly TimeSpan MaxSweepInterval = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, (EdgeReport Report, DateTimeOffset At)> _edges = new(StringComparer.Ordinal);

    /// <summary>The losses still remembered, oldest first (their versions grow), each with the incarnation that was lost.</summary>
    private readonly LinkedList<(EdgeLoss Loss, string Incarnation)> _losses = new();

    private readonly Guid _incarnation = Guid.NewGuid();
    private long _lossVersion;
    private IGrainTimer? _sweepTimer;
    private bool _sweepArmed;

    public Task ReportAsync(EdgeReport report)
    {
        Heard(report);
        return Task.CompletedTask;
    }

    public Task<bool> CheckInAsync(EdgeReport report) => Task.FromResult(Heard(report));

    public Task RemoveAsync(string edgeId)
    {
        // Not offered any more; its connections are being moved and each one's device disconnected.
        _edges.Remove(edgeId);
        return Task.CompletedTask;
    }

    public Task LeaveAsync(string edgeId, string incarnation)
    {
        // Recorded as a loss at this moment: devices the edge disconnected are gone already, and those whose disconnect
        // failed (the cluster failing over as the edge stopped) would otherwise stay online, pushed to a dead edge and
        // never notified offline, for most of a lease. A lease started after this is a new run's, and stays.
        var now = clock.UtcNow;
        var lastHeard = _edges.Remove(edgeId, out var last) ? last.At : now;
        _losses.AddLast((new EdgeLoss(edgeId, lastHeard, now, ++_lossVersion), incarnation));
        DropSilent();
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<EdgeReport>> GetLeastLoadedAsync(int count)
    {
        DropSilent();
        var best = _edges.Values
            .Select(e => e.Report)
            .Where(r => !r.Draining)
            .OrderBy(r => r.Connections)
            .ThenBy(r => r.CpuPercent)
            .Take(Math.Clamp(count, 1, 100))
            .ToArray();
        return Task.FromResult<IReadOnlyList<EdgeReport>>(best);
    }

    public Task<EdgeLosses> GetLossesAsync(Guid directory, long afterVersion)
    {
        DropSilent();
        var after = directory == _incarnation ? afterVersion : 0;
        EdgeLoss[] losses = [.. _losses.Select(l => l.Loss).Where(l => l.Version > after)];
        return Task.FromResult(new EdgeLosses(_incarnation, _lossVersion, losses));
    }

    /// <summary>
    /// Records a report; true when the edge had been dropped as lost (and is no longer), or when it is a new incarnation of
    /// an edge still registered (the previous one is lost now).
    /// </summary>
    private bool Heard(EdgeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var now = clock.UtcNow;
        var restarted = _edges.TryGetValue(report.EdgeId, out var previous)
            && previous.Report.Incarnation.Length > 0 && report.Incarnation != previous.Report.Incarnation;
        _edges[report.EdgeId] = (report, now);
        ArmSweep();
        var withdrawn = false;
        for (var loss = _losses.First; loss is not null; loss = loss.Next)
        {
            if (loss.Value.Loss.EdgeId == report.EdgeId && loss.Value.Incarnation == report.Incarnation)
            {
                // Withdrawn: the very run found silent is back. A silo that has not acted on it yet leaves the edge's
                // devices alone; one that has dropped them is repaired by the edge, which registers its devices again
                // when told it was lost. (A new run's reports withdraw no loss of an earlier run: those devices are gone.)
                _losses.Remove(loss);
                withdrawn = true;
                break;
            }
        }

        if (restarted)
        {
            // Restarted within the allowed misses: the devices the previous run registered are gone with its connections.
            // The new run's own, registered before this, are dropped too, and it registers them again when told.
            _losses.AddLast((new EdgeLoss(report.EdgeId, previous.At, now, ++_lossVersion), previous.Report.Incarnation));
            LogEdgeRestarted(logger, report.EdgeId);
            return true;
        }

        if (withdrawn)
        {
            LogEdgeBack(logger, report.EdgeId);
        }

        return withdrawn;
    }

    /// <summary>
    /// Drops the edges silent for more than <see cref="MissedReportsAllowed"/> of their report intervals, and records
    /// each as lost.
    /// </summary>
    private void DropSilent()
    {
        var now = clock.UtcNow;
        foreach (var (edgeId, (report, at)) in _edges.ToList())
        {
            // Half an interval of slack on top of the allowed misses, so a report arriving just late does not count.
            if (now - at > report.ReportInterval * (MissedReportsAllowed + 0.5))
            {
                _edges.Remove(edgeId);
                _losses.AddLast((new EdgeLoss(edgeId, at, now, ++_lossVersion), report.Incarnation));
                LogEdgeLost(logger, edgeId, now - at);
            }
        }

        while (_losses.First is { } oldest && (_losses.Count > MaxLosses || now - oldest.Value.Loss.LostAt > LossMemory))
        {
            _losses.RemoveFirst();
        }
    }

    /// <summary>
    /// While edges are registered, looks for silent ones every shortest report interval: a dead edge's devices are dropped
    /// only once it is found silent, and nothing else may ask the directory meanwhile.
    /// </summary>
    private void ArmSweep()
    {
        if (_sweepArmed)
        {
            return;
        }

        // One-shot and re-armed while edges are registered (never disposed from its own callback).
        _sweepTimer ??= this.RegisterGrainTimer(() =>
        {
            _sweepArmed = false;
            DropSilent();
            if (_edges.Count > 0)
            {
                ArmSweep();
            }

            return Task.CompletedTask;
        }, new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan) { Interleave = false, KeepAlive = false });
        _sweepTimer.Change(SweepInterval(), Timeout.InfiniteTimeSpan);
        _sweepArmed = true;
    }

    private TimeSpan SweepInterval()
    {
        var shortest = _edges.Count == 0 ? MaxSweepInterval : _edges.Values.Min(e => e.Report.ReportInterval);
        return TimeSpan.FromTicks(Math.Clamp(shortest.Ticks, MinSweepInterval.Ticks, MaxSweepInterval.Ticks));
    }

    [LoggerMessage(1, LogLevel.Warning, "Edge host {EdgeId} has not reported for {Silent}: dropped as lost; the silos drop its devices")]
    private static partial void LogEdgeLost(ILogger logger, string edgeId, TimeSpan silent);

    [LoggerMessage(2, LogLevel.Warning, "Edge host {EdgeId}, dropped as lost, reported again: it registers its devices again")]
    private static partial void LogEdgeBack(ILogger logger, string edgeId);

    [LoggerMessage(3, LogLevel.Warning, "Edge host {EdgeId} restarted: the silos drop the devices of its previous run")]
    private static partial void LogEdgeRestarted(ILogger logger, string edgeId);
}
