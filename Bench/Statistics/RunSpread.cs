using System.Globalization;

namespace Orleans.Im.Bench.Statistics;

/// <summary>One measure over the repeated runs of a configuration: the median run and the range of all runs.</summary>
/// <param name="Median">The median of the runs (the lower middle one for an even count, so it is a measured run).</param>
/// <param name="Min">The lowest run.</param>
/// <param name="Max">The highest run.</param>
public sealed record RunSpread(double Median, double Min, double Max)
{
    public static RunSpread Of(IEnumerable<double> runs)
    {
        var sorted = runs.ToArray();
        ArgumentOutOfRangeException.ThrowIfZero(sorted.Length);
        Array.Sort(sorted);
        return new RunSpread(Percentiles.OfSorted(sorted, 50), sorted[0], sorted[^1]);
    }

    /// <summary>"median (min–max)", each number in <paramref name="numberFormat"/>.</summary>
    public string Format(string numberFormat) =>
        $"{Text(Median, numberFormat)} ({Text(Min, numberFormat)}–{Text(Max, numberFormat)})";

    private static string Text(double value, string numberFormat) => value.ToString(numberFormat, CultureInfo.InvariantCulture);
}
