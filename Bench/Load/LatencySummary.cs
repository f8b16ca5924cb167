using System.Globalization;

namespace Orleans.Im.Bench.Load;

/// <summary>Nearest-rank percentiles of one latency, in milliseconds.</summary>
/// <param name="Count">Samples, including <see cref="Unarrived"/>.</param>
/// <param name="P50">The median.</param>
/// <param name="P90">The 90th percentile.</param>
/// <param name="P99">The 99th percentile.</param>
/// <param name="Max">The largest sample.</param>
public sealed record LatencySummary(long Count, double P50, double P90, double P99, double Max)
{
    /// <summary>
    /// Samples that never arrived (a lost delivery, an ack never answered), counted at how long they were waited for,
    /// which is at least the drain limit when the drain gave up.
    /// </summary>
    public long Unarrived { get; init; }

    /// <summary>The shortest wait among <see cref="Unarrived"/>: a percentile at or above it is a lower bound (null: none).</summary>
    public double? LowerBoundsFrom { get; init; }

    public override string ToString()
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"p50 {Bound(P50)}{P50:0.0} / p90 {Bound(P90)}{P90:0.0} / p99 {Bound(P99)}{P99:0.0} / max {Bound(Max)}{Max:0.0} ms (n={Count})");
        return Unarrived == 0 ? text : string.Create(CultureInfo.InvariantCulture,
            $"{text}; {Unarrived} never arrived, counted at their wait (≥ {LowerBoundsFrom:0} ms), so values marked ≥ are lower bounds");
    }

    private string Bound(double value) => value >= LowerBoundsFrom ? "≥ " : "";
}
