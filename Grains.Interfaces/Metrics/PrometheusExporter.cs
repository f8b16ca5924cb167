using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;

namespace Orleans.Im.Metrics;

/// <summary>
/// Listens to this product's meters (<see cref="ImMeters.IsOurs"/>) and writes what they measured in the Prometheus text
/// format. Instrument names are kept as metric names (<c>im_edge_connections</c>), counters are exported as counters,
/// histograms with the buckets the instrument advises. Observable instruments are read at each scrape. One per host.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, ExportedInstrument> _instruments = new();
    private readonly Lock _scrapeLock = new();
    private readonly Func<Meter, bool> _meterFilter;

    /// <summary>Exports every meter of this product.</summary>
    public PrometheusExporter()
        : this(meter => ImMeters.IsOurs(meter.Name))
    {
    }

    /// <summary>Exports the meters the filter accepts.</summary>
    /// <param name="meterFilter">Which meters to export.</param>
    public PrometheusExporter(Func<Meter, bool> meterFilter)
    {
        _meterFilter = meterFilter;
        _listener.InstrumentPublished = OnInstrumentPublished;
        _listener.MeasurementsCompleted = (instrument, _) => _instruments.TryRemove(instrument, out ExportedInstrument? _);
        _listener.SetMeasurementEventCallback<byte>((i, m, t, s) => Record(s, m, t));
        _listener.SetMeasurementEventCallback<short>((i, m, t, s) => Record(s, m, t));
        _listener.SetMeasurementEventCallback<int>((i, m, t, s) => Record(s, m, t));
        _listener.SetMeasurementEventCallback<long>((i, m, t, s) => Record(s, m, t));
        _listener.SetMeasurementEventCallback<float>((i, m, t, s) => Record(s, m, t));
        _listener.SetMeasurementEventCallback<double>((i, m, t, s) => Record(s, m, t));
        _listener.SetMeasurementEventCallback<decimal>((i, m, t, s) => Record(s, (double)m, t));
        _listener.Start();
    }

    /// <summary>Everything measured so far, in the Prometheus text format.</summary>
    public string Scrape()
    {
        var text = new StringBuilder();
        lock (_scrapeLock)
        {
            foreach (var observed in _instruments.Values.Where(i => i.IsObserved))
            {
                observed.ClearSeries();
            }

            _listener.RecordObservableInstruments();
            foreach (var family in _instruments.Values.GroupBy(i => i.Name, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                WriteFamily(text, [.. family]);
            }
        }

        return text.ToString();
    }

    /// <summary>Stops listening.</summary>
    public void Dispose() => _listener.Dispose();

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (!_meterFilter(instrument.Meter))
        {
            return;
        }

        var exported = _instruments.GetOrAdd(instrument, static i => new ExportedInstrument(i));
        listener.EnableMeasurementEvents(instrument, exported);
    }

    private static void Record<T>(object? state, T measurement, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        where T : struct, IConvertible
    {
        if (state is ExportedInstrument exported)
        {
            exported.Record(measurement.ToDouble(System.Globalization.CultureInfo.InvariantCulture), tags);
        }
    }

    /// <summary>Writes one metric family; instruments of the same name (several meters of one name) are added up.</summary>
    private static void WriteFamily(StringBuilder text, ExportedInstrument[] instruments)
    {
        var first = instruments[0];
        var kind = first.Kind;
        var name = first.Name;
        text.Append("# HELP ").Append(name).Append(' ').Append(PrometheusText.EscapeHelp(first.Help)).Append('\n');
        text.Append("# TYPE ").Append(name).Append(' ').Append(kind switch
        {
            MetricKind.Counter => "counter",
            MetricKind.Histogram => "histogram",
            _ => "gauge",
        }).Append('\n');

        var labelSets = instruments.Where(i => i.Kind == kind).SelectMany(i => i.Series.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        foreach (var labels in labelSets)
        {
            var series = instruments.Where(i => i.Kind == kind).Select(i => (i, i.Series.GetValueOrDefault(labels))).Where(p => p.Item2 is not null).ToArray();
            if (kind == MetricKind.Histogram)
            {
                WriteHistogram(text, name, labels, first.Bounds, series.Where(p => p.i.Bounds.SequenceEqual(first.Bounds)).Select(p => p.Item2!.Snapshot()).ToArray());
            }
            else
            {
                Sample(text, name, labels, null, series.Sum(p => p.Item2!.Value));
            }
        }
    }

    private static void WriteHistogram(StringBuilder text, string name, string labels, double[] bounds, (long[] Cumulative, double Sum, long Count)[] snapshots)
    {
        for (var b = 0; b < bounds.Length; b++)
        {
            Sample(text, name + "_bucket", labels, PrometheusText.FormatNumber(bounds[b]), snapshots.Sum(s => s.Cumulative[b]));
        }

        var count = snapshots.Sum(s => s.Count);
        Sample(text, name + "_bucket", labels, "+Inf", count);
        Sample(text, name + "_sum", labels, null, snapshots.Sum(s => s.Sum));
        Sample(text, name + "_count", labels, null, count);
    }

    private static void Sample(StringBuilder text, string name, string labels, string? le, double value)
    {
        text.Append(name);
        if (labels.Length > 0 || le is not null)
        {
            text.Append('{').Append(labels);
            if (le is not null)
            {
                text.Append(labels.Length > 0 ? "," : "").Append("le=\"").Append(le).Append('"');
            }

            text.Append('}');
        }

        text.Append(' ').Append(PrometheusText.FormatNumber(value)).Append('\n');
    }
}
