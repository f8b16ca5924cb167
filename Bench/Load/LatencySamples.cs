using Orleans.Im.Bench.Statistics;

namespace Orleans.Im.Bench.Load;

/// <summary>Latencies in milliseconds, added from any thread, summarized once at the end.</summary>
public sealed class LatencySamples
{
    private readonly List<double> _values = [];
    private readonly Lock _gate = new();

    public void Add(double milliseconds)
    {
        lock (_gate)
        {
            _values.Add(milliseconds);
        }
    }

    /// <summary>
    /// Percentiles of the samples and of <paramref name="unarrived"/>: what never arrived, each at how long it was waited
    /// for (a lower bound of its latency). A percentile at or above the shortest such wait is a lower bound too: the
    /// unarrived ones, were they known, could only rank higher.
    /// </summary>
    public LatencySummary Summarize(IReadOnlyCollection<double>? unarrived = null)
    {
        unarrived ??= [];
        double[] sorted;
        lock (_gate)
        {
            sorted = [.. _values, .. unarrived];
        }

        if (sorted.Length == 0)
        {
            return new LatencySummary(0, 0, 0, 0, 0);
        }

        Array.Sort(sorted);
        return new LatencySummary(sorted.Length, Percentiles.OfSorted(sorted, 50), Percentiles.OfSorted(sorted, 90),
            Percentiles.OfSorted(sorted, 99), sorted[^1])
        {
            Unarrived = unarrived.Count,
            LowerBoundsFrom = unarrived.Count == 0 ? null : unarrived.Min(),
        };
    }
}
