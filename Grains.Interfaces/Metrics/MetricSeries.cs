namespace Orleans.Im.Metrics;

/// <summary>
/// One label set of one instrument: a value (counter, gauge) or a histogram's buckets. Written by measurement callbacks
/// on any thread and read by a scrape; a histogram takes a lock, a value is updated lock-free.
/// </summary>
public sealed class MetricSeries
{
    private readonly Lock _lock = new();
    private readonly double[] _bounds;
    private readonly long[] _bucketCounts;
    private double _value;
    private double _sum;
    private long _count;

    /// <param name="bounds">A histogram's upper bucket bounds, ascending; empty for a counter or gauge.</param>
    public MetricSeries(double[] bounds)
    {
        ArgumentNullException.ThrowIfNull(bounds);
        _bounds = bounds;
        _bucketCounts = new long[bounds.Length];
    }

    /// <summary>A counter's or gauge's value.</summary>
    public double Value => Volatile.Read(ref _value);

    /// <summary>Adds to the value (a counter's or up-down counter's increment).</summary>
    /// <param name="increment">What to add.</param>
    public void Add(double increment)
    {
        var current = Volatile.Read(ref _value);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref _value, current + increment, current);
            if (seen.Equals(current))
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>Sets the value (an observed gauge or total).</summary>
    /// <param name="value">The value now.</param>
    public void Set(double value) => Volatile.Write(ref _value, value);

    /// <summary>Counts one observation into the histogram.</summary>
    /// <param name="value">The observed value.</param>
    public void Observe(double value)
    {
        var index = Array.BinarySearch(_bounds, value);
        if (index < 0)
        {
            index = ~index;
        }

        lock (_lock)
        {
            if (index < _bucketCounts.Length)
            {
                _bucketCounts[index]++;
            }

            _sum += value;
            _count++;
        }
    }

    /// <summary>The histogram now: per bound the observations at or below it (cumulative), the sum and the count.</summary>
    public (long[] Cumulative, double Sum, long Count) Snapshot()
    {
        var cumulative = new long[_bucketCounts.Length];
        lock (_lock)
        {
            long running = 0;
            for (var i = 0; i < _bucketCounts.Length; i++)
            {
                running += _bucketCounts[i];
                cumulative[i] = running;
            }

            return (cumulative, _sum, _count);
        }
    }
}
