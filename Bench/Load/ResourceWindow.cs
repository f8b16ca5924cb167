using System.Diagnostics;

namespace Orleans.Im.Bench.Load;

/// <summary>
/// Brackets a measured phase: CPU of the generator (this process and its children, the other generator processes) and of
/// each host between <see cref="StartAsync"/> and <see cref="EndAsync"/>, and their memory at both ends; and the CPU of
/// this machine's stores (PostgreSQL, Redis), which share the cores too. The stores' memory is not reported: their
/// processes share it, so a sum would count it many times.
/// </summary>
public sealed class ResourceWindow(HostMetricsReader hosts)
{
    /// <summary>The stores' process names, as the kernel knows them.</summary>
    private static readonly string[] StoreCommands = ["postgres", "redis-server"];

    private static readonly int Self = Environment.ProcessId;

    private readonly Stopwatch _clock = new();
    private IReadOnlyList<HostSample> _start = [];
    /// <summary>The generator's processes first, then each store's, as <see cref="CpuSnapshot.TakeEach"/> reads them.</summary>
    private static readonly Func<ProcessStat, bool>[] Sets =
        [IsGenerator, .. StoreCommands.Select(c => (Func<ProcessStat, bool>)(p => p.Command == c))];

    private CpuSnapshot[] _cpuStart = [];
    private long _selfRssStart;

    public async Task StartAsync()
    {
        _start = await hosts.SampleAsync();
        _cpuStart = CpuSnapshot.TakeEach(Sets);
        _selfRssStart = SystemReadings.ResidentBytes();
        _clock.Restart();
    }

    public async Task<IReadOnlyList<ResourceUse>> EndAsync()
    {
        var cpuEnd = CpuSnapshot.TakeEach(Sets);
        var seconds = Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
        var end = await hosts.SampleAsync();

        // The generator's memory is this process's alone; its children's is not read (no target asks for it).
        var uses = new List<ResourceUse> { new("generator", cpuEnd[0].SecondsSince(_cpuStart[0]) / seconds, _selfRssStart, SystemReadings.ResidentBytes(), null) };
        uses.AddRange(end.Select((sample, i) => ResourceUse.OfHost(_start[i], sample)));
        for (var i = 0; i < StoreCommands.Length; i++)
        {
            var (before, after) = (_cpuStart[i + 1], cpuEnd[i + 1]);
            if (before.Count > 0 || after.Count > 0)
            {
                uses.Add(new ResourceUse($"{StoreCommands[i]} (all here)", after.SecondsSince(before) / seconds, null, null, null));
            }
        }

        return uses;
    }

    /// <summary>This process and the generator processes it started (<c>connect --processes</c>).</summary>
    private static bool IsGenerator(ProcessStat process) => process.Pid == Self || process.ParentPid == Self;
}
