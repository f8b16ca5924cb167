using System.Diagnostics;

namespace Orleans.Im.Bench.Load;

/// <summary>
/// Brackets a measured phase: CPU of the generator and of each host between <see cref="StartAsync"/> and
/// <see cref="EndAsync"/>, and their memory at both ends; and the CPU of this machine's stores (PostgreSQL, Redis), which
/// share the cores too. Their memory is not reported: their processes share it, so a sum would count it many times.
/// </summary>
public sealed class ResourceWindow
{
    /// <summary>The stores' process names, as the kernel knows them.</summary>
    private static readonly string[] StoreCommands = ["postgres", "redis-server"];

    private readonly HostMetricsReader _hosts;
    private IReadOnlyList<HostSample> _start = [];
    private double[] _storeCpuStart = [];
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
        _storeCpuStart = StoreCommands.Select(c => ProcessCpu.CpuSecondsOfProcessesNamed(c).CpuSeconds).ToArray();
        _clock.Restart();
    }

    public async Task<IReadOnlyList<ResourceUse>> EndAsync()
    {
        var selfCpu = ProcessCpu.CpuSeconds() - _selfCpuStart + ExtraGeneratorCpuSeconds;
        var seconds = Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
        var stores = StoreCommands.Select(ProcessCpu.CpuSecondsOfProcessesNamed).ToArray();
        var end = await _hosts.SampleAsync();
        var uses = new List<ResourceUse> { new("generator", selfCpu / seconds, _selfRssStart, ProcessCpu.ResidentBytes(), 0) };
        for (var i = 0; i < end.Count; i++)
        {
            var start = _start[i];
            var wall = Math.Max((end[i].At - start.At).TotalSeconds, 1e-3);
            uses.Add(new ResourceUse(end[i].Url, (end[i].CpuSeconds - start.CpuSeconds) / wall, start.ResidentBytes, end[i].ResidentBytes, end[i].Connections));
        }

        for (var i = 0; i < StoreCommands.Length; i++)
        {
            if (stores[i].Processes > 0)
            {
                var cpu = Math.Max(0, stores[i].CpuSeconds - _storeCpuStart[i]);
                uses.Add(new ResourceUse($"{StoreCommands[i]} (all here)", cpu / seconds, 0, 0, 0));
            }
        }

        return uses;
    }
}
