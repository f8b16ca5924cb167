namespace Orleans.Im.Bench.Load;

/// <summary>One scrape of a host's <c>/metrics</c>: its process figures and connection count at one instant.</summary>
/// <param name="Url">The host's base URL.</param>
/// <param name="ResidentBytes"><c>process_working_set_bytes</c>.</param>
/// <param name="CpuSeconds"><c>process_cpu_seconds_total</c>.</param>
/// <param name="Connections"><c>im_edge_connections</c> summed over transports; 0 on a silo.</param>
/// <param name="At">When it was taken, for CPU rates.</param>
public sealed record HostSample(string Url, long ResidentBytes, double CpuSeconds, double Connections, DateTimeOffset At);
