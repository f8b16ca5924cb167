using System.Diagnostics;

namespace Orleans.Im.Bench.Load;

/// <summary>
/// Brackets a measured phase: CPU of the generator and of each host between <see cref="StartAsync"/> and
/// <see cref="EndAsync"/>, and their memory at both ends.
/// </summary>
public sealed class ResourceWindow
{
    private readonly HostMetricsReader _hosts;
    private IReadOnlyList<HostSample> _start = [];
    private double _selfCpuStart;
    private long _selfRssStart;
    private readonly Stopwatch _clock = new();

    /// <summary>CPU seconds that child generator processes used, added by the caller (they are not this process).</summary>
    public double ExtraGeneratorCpuSeconds { get; set; }

    public ResourceWindow(HostMetricsReader hosts) => _hosts = hosts;

    public async Task StartAsync()
    {
        _start = await _hosts.SampleAsync();
        _selfCpuStart = ProcessCpu.CpuSeconds();
        _selfRssStart = ProcessCpu.ResidentBytes();
        _clock.Restart();
    }

    public async Task<IReadOnlyList<ResourceUse>> EndAsync()
    {
        var selfCpu = ProcessCpu.CpuSeconds() - _selfCpuStart + ExtraGeneratorCpuSeconds;
        var seconds = Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
        var end = await _hosts.SampleAsync();
        var uses = new List<ResourceUse> { new("generator", selfCpu / seconds, _selfRssStart, ProcessCpu.ResidentBytes(), 0) };
        for (var i = 0; i < end.Count; i++)
        {
            var start = _start[i];
            var wall = Math.Max((end[i].At - start.At).TotalSeconds, 1e-3);
            uses.Add(new ResourceUse(end[i].Url, (end[i].CpuSeconds - start.CpuSeconds) / wall, start.ResidentBytes, end[i].ResidentBytes, end[i].Connections));
        }

        return uses;
    }
}
