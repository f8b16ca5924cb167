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
    private CpuSnapshot _generatorStart = new([]);
    private CpuSnapshot[] _storesStart = [];
    private long _selfRssStart;

    public async Task StartAsync()
    {
        _start = await hosts.SampleAsync();
        _generatorStart = CpuSnapshot.Take(IsGenerator);
        _selfRssStart = SystemReadings.ResidentBytes();
        _storesStart = [.. StoreCommands.Select(c => CpuSnapshot.Take(p => p.Command == c))];
        _clock.Restart();
    }

    public async Task<IReadOnlyList<ResourceUse>> EndAsync()
    {
        var generator = CpuSnapshot.Take(IsGenerator).SecondsSince(_generatorStart);
        var seconds = Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);
        var stores = StoreCommands.Select(c => CpuSnapshot.Take(p => p.Command == c)).ToArray();
        var end = await hosts.SampleAsync();

        // The generator's memory is this process's alone; its children's is not read (no target asks for it).
        var uses = new List<ResourceUse> { new("generator", generator / seconds, _selfRssStart, SystemReadings.ResidentBytes(), null) };
        uses.AddRange(end.Select((sample, i) => ResourceUse.OfHost(_start[i], sample)));
        for (var i = 0; i < StoreCommands.Length; i++)
        {
            if (stores[i].Count > 0 || _storesStart[i].Count > 0)
            {
                uses.Add(new ResourceUse($"{StoreCommands[i]} (all here)", stores[i].SecondsSince(_storesStart[i]) / seconds, null, null, null));
            }
        }

        return uses;
    }

    /// <summary>This process and the generator processes it started (<c>connect --processes</c>).</summary>
    private static bool IsGenerator(ProcessStat process) => process.Pid == Self || process.ParentPid == Self;
}
