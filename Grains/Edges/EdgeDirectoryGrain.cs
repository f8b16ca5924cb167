namespace Orleans.Im.Edges;

/// <inheritdoc cref="IEdgeDirectoryGrain"/>
/// <remarks>In memory: edges report every few seconds, so a reactivated directory is complete again within one interval.</remarks>
public sealed class EdgeDirectoryGrain(ImClock clock) : Grain, IEdgeDirectoryGrain
{
    /// <summary>Reports an edge may miss before it is dropped.</summary>
    public const int MissedReportsAllowed = 3;

    private readonly Dictionary<string, (EdgeReport Report, DateTimeOffset At)> _edges = new(StringComparer.Ordinal);

    public Task ReportAsync(EdgeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        _edges[report.EdgeId] = (report, clock.UtcNow);
        return Task.CompletedTask;
    }

    public Task RemoveAsync(string edgeId)
    {
        _edges.Remove(edgeId);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<EdgeReport>> GetLeastLoadedAsync(int count)
    {
        var now = clock.UtcNow;
        foreach (var (edgeId, (report, at)) in _edges.ToList())
        {
            // Half an interval of slack on top of the allowed misses, so a report arriving just late does not count.
            if (now - at > report.ReportInterval * (MissedReportsAllowed + 0.5))
            {
                _edges.Remove(edgeId);
            }
        }

        var best = _edges.Values
            .Select(e => e.Report)
            .Where(r => !r.Draining)
            .OrderBy(r => r.Connections)
            .ThenBy(r => r.CpuPercent)
            .Take(Math.Clamp(count, 1, 100))
            .ToArray();
        return Task.FromResult<IReadOnlyList<EdgeReport>>(best);
    }
}
