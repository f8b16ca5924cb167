using System.Globalization;

namespace Orleans.Im.Bench.Load;

/// <summary>Scrapes the hosts' Prometheus <c>/metrics</c> for the process figures the load reports need.</summary>
public sealed class HostMetricsReader(IReadOnlyList<string> hostUrls) : IDisposable
{
    private static readonly TimeSpan ScrapeTimeout = TimeSpan.FromSeconds(10);
    private readonly HttpClient _http = new() { Timeout = ScrapeTimeout };

    public IReadOnlyList<string> HostUrls { get; } = hostUrls;

    /// <summary>
    /// One sample per host; a host that does not answer gives a sample without figures (<see cref="HostSample.Answered"/>
    /// false) rather than failing the run.
    /// </summary>
    public async Task<IReadOnlyList<HostSample>> SampleAsync()
    {
        return await Task.WhenAll(HostUrls.Select(async url =>
        {
            try
            {
                var text = await _http.GetStringAsync(url.TrimEnd('/') + "/metrics");
                return Parse(url, text, DateTimeOffset.UtcNow);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                return HostSample.Failed(url, $"{ex.GetType().Name}: {ex.Message}", DateTimeOffset.UtcNow);
            }
        }));
    }

    /// <summary>Reads the three figures from Prometheus text; metric lines are "name{labels} value".</summary>
    public static HostSample Parse(string url, string text, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(text);
        double rss = 0, cpu = 0, connections = 0;
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            if (space < 0 || !double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            var name = line[..space];
            var brace = name.IndexOf('{', StringComparison.Ordinal);
            var bare = brace < 0 ? name : name[..brace];
            switch (bare)
            {
                case "process_working_set_bytes": rss = value; break;
                case "process_cpu_seconds_total": cpu = value; break;
                case "im_edge_connections": connections += value; break;
            }
        }

        return new HostSample(url, (long)rss, cpu, connections, at);
    }

    public void Dispose() => _http.Dispose();
}
