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

    public LatencySummary Summarize()
    {
        double[] sorted;
        lock (_gate)
        {
            sorted = [.. _values];
        }

        if (sorted.Length == 0)
        {
            return new LatencySummary(0, 0, 0, 0, 0);
        }

        Array.Sort(sorted);
        return new LatencySummary(sorted.Length, Percentiles.OfSorted(sorted, 50), Percentiles.OfSorted(sorted, 90),
            Percentiles.OfSorted(sorted, 99), sorted[^1]);
    }
}
