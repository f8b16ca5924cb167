using System.Globalization;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// A parsed Prometheus text scrape: each sample by its series (<c>name</c> or <c>name{a="x",le="1"}</c>, labels as
/// written) and each family's declared type. Parsing checks the format: every sample belongs to a declared family.
/// </summary>
public sealed class PrometheusScrape
{
    private static readonly string[] HistogramSuffixes = ["_bucket", "_sum", "_count"];
    private readonly Dictionary<string, double> _samples = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _types = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, double> Samples => _samples;

    public IReadOnlyDictionary<string, string> Types => _types;

    public static async Task<PrometheusScrape> ReadAsync(int httpPort)
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync($"http://127.0.0.1:{httpPort}/metrics");
        response.EnsureSuccessStatusCode();
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        return Parse(await response.Content.ReadAsStringAsync());
    }

    public static PrometheusScrape Parse(string text)
    {
        var scrape = new PrometheusScrape();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                Assert.True(scrape._types.TryAdd(parts[2], parts[3]), $"family {parts[2]} declared twice");
                continue;
            }

            if (line.StartsWith('#'))
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            var series = line[..space];
            var name = series.Split('{')[0];
            var family = scrape._types.ContainsKey(name) ? name
                : HistogramSuffixes.Where(name.EndsWith).Select(s => name[..^s.Length]).FirstOrDefault(scrape._types.ContainsKey);
            Assert.True(family is not null, $"sample {series} has no # TYPE line before it");
            Assert.True(scrape._samples.TryAdd(series, double.Parse(line[(space + 1)..], CultureInfo.InvariantCulture)), $"series {series} written twice");
        }

        return scrape;
    }

    /// <summary>A sample's value; 0 when the series is absent (a counter that never counted).</summary>
    public double Value(string series) => _samples.GetValueOrDefault(series);

    /// <summary>True when the family is declared (it may have no samples yet).</summary>
    public bool Has(string family) => _types.ContainsKey(family);
}
