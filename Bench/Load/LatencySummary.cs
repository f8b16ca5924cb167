using System.Globalization;

namespace Orleans.Im.Bench.Load;

/// <summary>Nearest-rank percentiles of one latency, in milliseconds.</summary>
public sealed record LatencySummary(long Count, double P50, double P90, double P99, double Max)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"p50 {P50:0.0} / p90 {P90:0.0} / p99 {P99:0.0} / max {Max:0.0} ms (n={Count})");
}
