namespace Orleans.Im.Metrics;

/// <summary>The Prometheus type an instrument is exported as.</summary>
public enum MetricKind
{
    /// <summary>A total that only grows (<c>Counter</c>, <c>ObservableCounter</c>).</summary>
    Counter,

    /// <summary>A value that goes up and down (gauges, up-down counters).</summary>
    Gauge,

    /// <summary>A distribution in cumulative buckets (<c>Histogram</c>).</summary>
    Histogram,
}
