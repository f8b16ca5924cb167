namespace Orleans.Im.Stats;

/// <inheritdoc cref="IClusterStatsGrain"/>
public sealed class ClusterStatsGrain(ImClock clock) : Grain, IClusterStatsGrain
{
    /// <summary>The interval of reports that do not say theirs (hosts not yet upgraded): their default then.</summary>
    private static readonly TimeSpan UnsaidInterval = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan RateWindow = TimeSpan.FromMinutes(1);
    private readonly Dictionary<string, (Queue<(DateTimeOffset At, long Total)> Samples, TimeSpan Interval)> _silos = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (DateTimeOffset At, long Connections, long Users, TimeSpan Interval)> _edges = new(StringComparer.Ordinal);

    public Task ReportSiloAsync(string siloId, long messagesStored) => ReportSiloAsync(siloId, messagesStored, UnsaidInterval);

    public Task ReportEdgeAsync(string edgeId, long connections, long users) => ReportEdgeAsync(edgeId, connections, users, UnsaidInterval);

    public Task ReportSiloAsync(string siloId, long messagesStored, TimeSpan interval)
    {
        var now = clock.UtcNow;
        ForgetSilent(now);
        if (!_silos.TryGetValue(siloId, out var silo))
        {
            silo = (new Queue<(DateTimeOffset, long)>(), interval);
        }

        _silos[siloId] = silo with { Interval = interval };
        var samples = silo.Samples;
        samples.Enqueue((now, messagesStored));
        // Keep one sample older than the window, so the rate covers the whole minute.
        while (samples.Count > 2 && now - samples.ElementAt(1).At >= RateWindow)
        {
            samples.Dequeue();
        }

        return Task.CompletedTask;
    }

    public Task ReportEdgeAsync(string edgeId, long connections, long users, TimeSpan interval)
    {
        var now = clock.UtcNow;
        ForgetSilent(now);
        _edges[edgeId] = (now, connections, users, interval);
        return Task.CompletedTask;
    }

    public Task<ClusterStats> GetAsync()
    {
        var now = clock.UtcNow;
        var silos = _silos.Values.Where(s => !Silent(now, s.Samples.Last().At, s.Interval)).Select(s => s.Samples).ToList();
        var edges = _edges.Values.Where(e => !Silent(now, e.At, e.Interval)).ToList();
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

    /// <summary>Whether a reporter last heard at <paramref name="at"/> has missed more reports than it may.</summary>
    private static bool Silent(DateTimeOffset now, DateTimeOffset at, TimeSpan interval) =>
        now - at > interval * (IClusterStatsGrain.MissedReportsAllowed + 0.5);

    /// <summary>
    /// Forgets reporters long silent: every restart of a silo reports under a new address (its generation), and replaced
    /// edge pods under new ids, so they would otherwise pile up for as long as this grain lives.
    /// </summary>
    private void ForgetSilent(DateTimeOffset now)
    {
        foreach (var (id, silo) in _silos)
        {
            if (Silent(now, silo.Samples.Last().At, silo.Interval))
            {
                _silos.Remove(id);
            }
        }

        foreach (var (id, edge) in _edges)
        {
            if (Silent(now, edge.At, edge.Interval))
            {
                _edges.Remove(id);
            }
        }
    }
}
