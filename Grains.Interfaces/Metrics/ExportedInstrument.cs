using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;

namespace Orleans.Im.Metrics;

/// <summary>One instrument as exported: its Prometheus name, type and help, and its series by label set.</summary>
public sealed class ExportedInstrument
{
    /// <summary>Prometheus' default buckets (seconds), for a histogram that gives no advice of its own.</summary>
    public static readonly double[] DefaultBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    // Label sets of one or two tags are the common case (transport; transport and status, once per message on the edge):
    // their rendered text is cached, not sorted and rebuilt per measurement. Both caches hold no more entries than the
    // series themselves (one per label set), plus the other order of a two-tag set.
    private readonly ConcurrentDictionary<(string Key, string? Value), string> _singleTagLabels = new();
    private readonly ConcurrentDictionary<(string Key1, string? Value1, string Key2, string? Value2), string> _twoTagLabels = new();
    private readonly ConcurrentDictionary<string, MetricSeries> _series = new(StringComparer.Ordinal);

    /// <param name="instrument">The instrument.</param>
    public ExportedInstrument(Instrument instrument)
    {
        ArgumentNullException.ThrowIfNull(instrument);
        Name = PrometheusText.SanitizeName(instrument.Name);
        Help = string.IsNullOrEmpty(instrument.Description) ? instrument.Name : instrument.Description;
        var definition = instrument.GetType().GetGenericTypeDefinition();
        (Kind, IsObserved) = definition switch
        {
            _ when definition == typeof(Counter<>) => (MetricKind.Counter, false),
            _ when definition == typeof(ObservableCounter<>) => (MetricKind.Counter, true),
            _ when definition == typeof(UpDownCounter<>) => (MetricKind.Gauge, false),
            _ when definition == typeof(Histogram<>) => (MetricKind.Histogram, false),
            // ObservableGauge, ObservableUpDownCounter, Gauge: the value now.
            _ => (MetricKind.Gauge, definition != typeof(Gauge<>)),
        };
        IsLastValue = IsObserved || definition == typeof(Gauge<>);
        Bounds = Kind == MetricKind.Histogram ? BucketsOf(instrument) : [];
    }

    /// <summary>The metric's name (the instrument's, made a valid Prometheus name).</summary>
    public string Name { get; }

    /// <summary>The instrument's description.</summary>
    public string Help { get; }

    /// <summary>How it is exported.</summary>
    public MetricKind Kind { get; }

    /// <summary>True for an observable instrument: its values are taken at each scrape.</summary>
    public bool IsObserved { get; }

    /// <summary>True when a measurement is the value now (observed instruments, gauges), not an increment.</summary>
    public bool IsLastValue { get; }

    /// <summary>A histogram's upper bucket bounds.</summary>
    public double[] Bounds { get; }

    /// <summary>The series by label text (<c>a="x",b="y"</c>, empty without tags).</summary>
    public IReadOnlyDictionary<string, MetricSeries> Series => _series;

    /// <summary>Forgets every series; observed instruments start each scrape afresh, so label sets that went away go.</summary>
    public void ClearSeries() => _series.Clear();

    /// <summary>Records one measurement.</summary>
    /// <param name="value">The measurement.</param>
    /// <param name="tags">Its tags.</param>
    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var series = _series.GetOrAdd(LabelsOf(tags), static (_, bounds) => new MetricSeries(bounds), Bounds);
        if (Kind == MetricKind.Histogram)
        {
            series.Observe(value);
        }
        else if (IsLastValue)
        {
            series.Set(value);
        }
        else
        {
            series.Add(value);
        }
    }

    private string LabelsOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return "";
        }

        if (tags.Length == 1)
        {
            var tag = tags[0];
            return _singleTagLabels.GetOrAdd((tag.Key, tag.Value?.ToString()), static t => Label(new StringBuilder(), t.Key, t.Value).ToString());
        }

        if (tags.Length == 2)
        {
            var (first, second) = (tags[0], tags[1]);
            return _twoTagLabels.GetOrAdd(
                (first.Key, first.Value?.ToString(), second.Key, second.Value?.ToString()),
                static t => Labels([new(t.Key1, t.Value1), new(t.Key2, t.Value2)]));
        }

        return Labels(tags.ToArray());
    }

    /// <summary>
    /// The label text of a set of tags (an array of the caller's, sorted here): sorted by name, so that the order the
    /// tags came in does not matter.
    /// </summary>
    private static string Labels(KeyValuePair<string, object?>[] tags)
    {
        Array.Sort(tags, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        var text = new StringBuilder();
        foreach (var tag in tags)
        {
            if (text.Length > 0)
            {
                text.Append(',');
            }

            Label(text, tag.Key, tag.Value?.ToString());
        }

        return text.ToString();
    }

    private static StringBuilder Label(StringBuilder text, string key, string? value) =>
        text.Append(PrometheusText.SanitizeName(key)).Append("=\"").Append(PrometheusText.EscapeLabelValue(value ?? "")).Append('"');

    private static double[] BucketsOf(Instrument instrument)
    {
        IReadOnlyList<double>? advised = instrument switch
        {
            Histogram<double> h => h.Advice?.HistogramBucketBoundaries,
            Histogram<float> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            Histogram<long> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            Histogram<int> h => h.Advice?.HistogramBucketBoundaries?.Select(b => (double)b).ToArray(),
            _ => null,
        };
        var bounds = (advised is { Count: > 0 } ? advised : DefaultBuckets).Distinct().ToArray();
        Array.Sort(bounds);
        return bounds;
    }
}
