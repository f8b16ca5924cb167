namespace Orleans.Im.EdgeHost.Health;

/// <summary>When a health check last reached the cluster (see <see cref="HealthApi.ReadyGrace"/>).</summary>
public sealed class ClusterReachability
{
    private long _lastReached = long.MinValue;

    /// <summary>A check reached the cluster now.</summary>
    public void Reached(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        Volatile.Write(ref _lastReached, time.GetTimestamp());
    }

    /// <summary>Whether a check reached the cluster within <paramref name="grace"/>.</summary>
    public bool ReachedWithin(TimeSpan grace, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        var last = Volatile.Read(ref _lastReached);
        return last != long.MinValue && time.GetElapsedTime(last) <= grace;
    }
}
