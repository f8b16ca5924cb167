namespace Orleans.Im.Bench.Load;

/// <summary>
/// What one process (or set of processes) used over a measured window: CPU as cores busy on average, and memory at both
/// ends. A figure that could not be measured is null (a host whose <c>/metrics</c> did not answer at either end of the
/// window; the stores' memory, which their processes share), never zero.
/// </summary>
/// <param name="Name">"generator", the host's URL, or a store's.</param>
/// <param name="CpuCores">CPU seconds used ÷ wall seconds (1.0 = one core busy all the time).</param>
/// <param name="ResidentBytesStart">Resident memory at the start of the window.</param>
/// <param name="ResidentBytesEnd">Resident memory at the end of the window.</param>
/// <param name="Connections">Open connections at the end (edge hosts).</param>
/// <param name="NotMeasured">Why the figures are missing, when they are.</param>
public sealed record ResourceUse(string Name, double? CpuCores, long? ResidentBytesStart, long? ResidentBytesEnd, double? Connections, string? NotMeasured = null)
{
    /// <summary>A host's use between two scrapes; no figures unless both answered.</summary>
    public static ResourceUse OfHost(HostSample start, HostSample end)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(end);
        if (!start.Answered || !end.Answered)
        {
            return new ResourceUse(end.Url, null, null, null, null, $"/metrics did not answer at the window's {(start.Answered ? "end" : "start")}: {start.Error ?? end.Error}");
        }

        var wall = Math.Max((end.At - start.At).TotalSeconds, 1e-3);
        return new ResourceUse(end.Url, (end.CpuSeconds - start.CpuSeconds) / wall, start.ResidentBytes, end.ResidentBytes, end.Connections);
    }
}
