namespace Orleans.Im.Bench.Statistics;

/// <summary>Percentiles by the nearest-rank method: every reported value is one that was measured.</summary>
public static class Percentiles
{
    /// <summary>The <paramref name="percent"/>th percentile of <paramref name="sorted"/> (ascending, not empty).</summary>
    public static double OfSorted(IReadOnlyList<double> sorted, double percent)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        ArgumentOutOfRangeException.ThrowIfZero(sorted.Count);
        ArgumentOutOfRangeException.ThrowIfNegative(percent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percent, 100);
        var rank = (int)Math.Ceiling(percent / 100 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    /// <summary>The <paramref name="percent"/>th percentile of <paramref name="values"/>, in any order.</summary>
    public static double Of(IEnumerable<double> values, double percent)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return OfSorted(sorted, percent);
    }
}
