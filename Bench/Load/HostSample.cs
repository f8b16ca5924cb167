namespace Orleans.Im.Bench.Load;

/// <summary>
/// One scrape of a host's <c>/metrics</c>: its process figures and connection count at one instant, or why there are
/// none. A scrape that failed has no figures rather than zeros: a zero would read as a host that used no CPU, or (as the
/// start of a window) as one that used all its CPU since it started.
/// </summary>
/// <param name="Url">The host's base URL.</param>
/// <param name="ResidentBytes"><c>process_working_set_bytes</c>.</param>
/// <param name="CpuSeconds"><c>process_cpu_seconds_total</c>.</param>
/// <param name="Connections"><c>im_edge_connections</c> summed over transports; 0 on a silo.</param>
/// <param name="At">When it was taken, for CPU rates.</param>
/// <param name="Error">Why the scrape failed; null when it answered, and then the figures are real.</param>
public sealed record HostSample(string Url, long ResidentBytes, double CpuSeconds, double Connections, DateTimeOffset At, string? Error = null)
{
    /// <summary>Whether the host answered; when false, the figures are zeros that mean nothing.</summary>
    public bool Answered => Error is null;

    /// <summary>A scrape that did not answer.</summary>
    public static HostSample Failed(string url, string error, DateTimeOffset at) => new(url, 0, 0, 0, at, error);
}
