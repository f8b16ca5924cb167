using System.Diagnostics.Metrics;
using Orleans.Im.Metrics;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Operations;

[Trait("Category", "Unit")]
public sealed class PrometheusExporterTests
{
    // Each test has a meter of its own name, and an exporter that listens only to it.
    private readonly string _meterName = "Orleans.Im.Test." + Guid.NewGuid().ToString("N");

    private PrometheusExporter NewExporter() => new(meter => meter.Name == _meterName);

    [Fact]
    public void Counters_add_up_per_label_set_and_are_typed_as_counters()
    {
        using var meter = new Meter(_meterName);
        using var exporter = NewExporter();
        var frames = meter.CreateCounter<long>("im_test_frames_total", description: "Frames.");

        frames.Add(2, new KeyValuePair<string, object?>("transport", "tcp"));
        frames.Add(3, new KeyValuePair<string, object?>("transport", "tcp"));
        frames.Add(1, new KeyValuePair<string, object?>("transport", "websockets"));
        frames.Add(4, new("transport", "tcp"), new("status", "sent"));
        frames.Add(6, new("status", "sent"), new("transport", "tcp"));
        frames.Add(7, new("transport", "tcp"), new("status", "refused"));
        frames.Add(8, new("transport", "tcp"), new("status", "sent"), new("reason", "x"));

        var scrape = PrometheusScrape.Parse(exporter.Scrape());
        Assert.Equal("counter", scrape.Types["im_test_frames_total"]);
        Assert.Equal(5, scrape.Value("im_test_frames_total{transport=\"tcp\"}"));
        Assert.Equal(1, scrape.Value("im_test_frames_total{transport=\"websockets\"}"));
        // Labels are sorted by name, whatever order the tags came in.
        Assert.Equal(10, scrape.Value("im_test_frames_total{status=\"sent\",transport=\"tcp\"}"));
        Assert.Equal(7, scrape.Value("im_test_frames_total{status=\"refused\",transport=\"tcp\"}"));
        Assert.Equal(8, scrape.Value("im_test_frames_total{reason=\"x\",status=\"sent\",transport=\"tcp\"}"));
    }

    [Fact]
    public void A_histogram_is_written_with_cumulative_buckets_from_its_advice_and_sum_and_count()
    {
        using var meter = new Meter(_meterName);
        using var exporter = NewExporter();
        var latency = meter.CreateHistogram("im_test_seconds", "s", "Latency.", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.1, 1] });

        foreach (var value in new[] { 0.005, 0.01, 0.05, 0.5, 3 })
        {
            latency.Record(value);
        }

        var scrape = PrometheusScrape.Parse(exporter.Scrape());
        Assert.Equal("histogram", scrape.Types["im_test_seconds"]);
        Assert.Equal(2, scrape.Value("im_test_seconds_bucket{le=\"0.01\"}")); // the bound itself is "at or below"
        Assert.Equal(3, scrape.Value("im_test_seconds_bucket{le=\"0.1\"}"));
        Assert.Equal(4, scrape.Value("im_test_seconds_bucket{le=\"1\"}"));
        Assert.Equal(5, scrape.Value("im_test_seconds_bucket{le=\"+Inf\"}"));
        Assert.Equal(5, scrape.Value("im_test_seconds_count"));
        Assert.Equal(3.565, scrape.Value("im_test_seconds_sum"), 6);
    }

    [Fact]
    public void Observable_gauges_are_read_at_each_scrape_and_label_sets_that_went_away_disappear()
    {
        using var meter = new Meter(_meterName);
        using var exporter = NewExporter();
        var queues = new Dictionary<string, long> { ["a"] = 3, ["b"] = 7 };
        meter.CreateObservableGauge("im_test_queue_length", () => queues.Select(q => new Measurement<long>(q.Value, new KeyValuePair<string, object?>("store", q.Key))));

        var first = PrometheusScrape.Parse(exporter.Scrape());
        queues.Remove("a");
        queues["b"] = 1;
        var second = PrometheusScrape.Parse(exporter.Scrape());

        Assert.Equal("gauge", first.Types["im_test_queue_length"]);
        Assert.Equal((3, 7), (first.Value("im_test_queue_length{store=\"a\"}"), first.Value("im_test_queue_length{store=\"b\"}")));
        Assert.False(second.Samples.ContainsKey("im_test_queue_length{store=\"a\"}"));
        Assert.Equal(1, second.Value("im_test_queue_length{store=\"b\"}"));
    }

    [Fact]
    public void Label_values_are_escaped_and_invalid_name_characters_replaced()
    {
        using var meter = new Meter(_meterName);
        using var exporter = NewExporter();
        meter.CreateCounter<int>("im.test-odd name").Add(1, new KeyValuePair<string, object?>("reason", "say \"hi\"\\\nbye"));

        var text = exporter.Scrape();

        Assert.Contains("im_test_odd_name{reason=\"say \\\"hi\\\"\\\\\\nbye\"} 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_this_products_meters_are_exported_by_default()
    {
        using var ours = new Meter("Orleans.Im.Test.Default." + Guid.NewGuid().ToString("N"));
        using var theirs = new Meter("Orleans.ImposterLibrary");
        using var exporter = new PrometheusExporter();
        ours.CreateCounter<long>("im_test_ours_total").Add(1);
        theirs.CreateCounter<long>("im_test_theirs_total").Add(1);

        var scrape = PrometheusScrape.Parse(exporter.Scrape());

        Assert.Equal(1, scrape.Value("im_test_ours_total"));
        Assert.False(scrape.Has("im_test_theirs_total"));
    }
}
