using Orleans.Im.Bench.Load;

namespace Orleans.Im.Tests.Bench;

[Trait("Category", "Unit")]
public sealed class ProcessCpuTests
{
    [Fact]
    public void Processes_are_found_by_command_name_and_their_cpu_summed()
    {
        var ownCommand = File.ReadAllText("/proc/self/comm").TrimEnd('\n');
        var ownCpu = ProcessCpu.CpuSeconds();

        var (cpuSeconds, processes) = ProcessCpu.CpuSecondsOfProcessesNamed(ownCommand);

        Assert.True(processes >= 1, $"no process named {ownCommand}");
        Assert.True(cpuSeconds >= ownCpu, $"{cpuSeconds} s for every '{ownCommand}', {ownCpu} s for this one alone");
    }

    [Fact]
    public void A_name_no_process_has_counts_nothing()
    {
        Assert.Equal((0.0, 0), ProcessCpu.CpuSecondsOfProcessesNamed("no-such-process-" + Guid.NewGuid().ToString("N")[..6]));
    }
}
