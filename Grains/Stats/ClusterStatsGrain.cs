namespace Orleans.Im.Stats;

/// <inheritdoc cref="IClusterStatsGrain"/>
public sealed class ClusterStatsGrain(ImClock clock) : Grain, IClusterStatsGrain
{
    private static readonly TimeSpan Stale = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RateWindow = TimeSpan.FromMinutes(1);
    private readonly Dictionary<string, Queue<(DateTimeOffset At, long Total)>> _silos = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (DateTimeOffset At, long Connections, long Users)> _edges = new(StringComparer.Ordinal);

    public Task ReportSiloAsync(string siloId, long messagesStored)
    {
        var now = clock.UtcNow;
        if (!_silos.TryGetValue(siloId, out var samples))
        {
            samples = new Queue<(DateTimeOffset, long)>();
            _silos[siloId] = samples;
        }

        samples.Enqueue((now, messagesStored));
        // Keep one sample older than the window, so the rate covers the whole minute.
        while (samples.Count > 2 && now - samples.ElementAt(1).At >= RateWindow)
        {
            samples.Dequeue();
        }

        return Task.CompletedTask;
    }

    public Task ReportEdgeAsync(string edgeId, long connections, long users)
    {
        _edges[edgeId] = (clock.UtcNow, connections, users);
        return Task.CompletedTask;
    }

    public Task<ClusterStats> GetAsync()
    {
        var now = clock.UtcNow;
        var silos = _silos.Where(s => now - s.Value.Last().At < Stale).Select(s => s.Value).ToList();
        var edges = _edges.Values.Where(e => now - e.At < Stale).ToList();
        var perMinute = 0.0;
        foreach (var samples in silos)
        {
            var (firstAt, firstTotal) = samples.Peek();
            var (lastAt, lastTotal) = samples.Last();
            var span = lastAt - firstAt;
            if (span > TimeSpan.Zero)
            {
                perMinute += (lastTotal - firstTotal) * (RateWindow / span);
            }
        }

        return Task.FromResult(new ClusterStats(silos.Count, edges.Count, edges.Sum(e => e.Connections), edges.Sum(e => e.Users), Math.Round(perMinute, 1)));
    }
}
