using System.Diagnostics;
using Orleans.Im.Bench.Load;

namespace Orleans.Im.Tests.Bench;

[Trait("Category", "Unit")]
public sealed class CpuSnapshotTests
{
    [Fact]
    public void A_stat_line_is_read_past_a_command_that_holds_spaces_and_parentheses()
    {
        const string line = "4242 (my (odd) cmd) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 30 40 2 20 0 1 0 987654 1000 10 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

        Assert.True(ProcessStat.TryParse(line, out var stat));

        Assert.Equal(new ProcessStat(4242, 17, "my (odd) cmd", 280, 42, 987654), stat);
    }

    [Fact]
    public void A_truncated_stat_line_is_not_read()
    {
        Assert.False(ProcessStat.TryParse("4242 (postgres) S 17 4242", out _));
    }

    [Fact]
    public void A_member_that_ended_in_the_window_counts_through_the_parent_that_reaped_it()
    {
        var postmaster = new ProcessStat(100, 1, "postgres", OwnTicks: 1_000, ReapedTicks: 5_000, StartTicks: 10);
        var backend = new ProcessStat(200, 100, "postgres", OwnTicks: 300, ReapedTicks: 0, StartTicks: 20);
        var before = new CpuSnapshot([postmaster, backend]);

        // The backend used 80 more ticks and exited (its 380 went to the postmaster's reaped time); a new one used 7.
        var after = new CpuSnapshot([
            postmaster with { OwnTicks = 1_010, ReapedTicks = 5_380 },
            new ProcessStat(300, 100, "postgres", OwnTicks: 7, ReapedTicks: 0, StartTicks: 30)]);

        Assert.Equal((10 + 80 + 7) / CpuSnapshot.ClockTicksPerSecond, after.SecondsSince(before), 6);
    }

    [Fact]
    public void A_reused_pid_is_another_process()
    {
        var before = new CpuSnapshot([new ProcessStat(200, 100, "postgres", OwnTicks: 300, ReapedTicks: 0, StartTicks: 20)]);

        // Pid 200 ended (reaped by an outsider) and a new process took the pid and used 50 ticks: only those are known.
        var after = new CpuSnapshot([new ProcessStat(200, 100, "postgres", OwnTicks: 50, ReapedTicks: 0, StartTicks: 90)]);

        Assert.Equal(0, after.SecondsSince(before));
        Assert.Equal(0.5, after.SecondsSince(new CpuSnapshot([])), 6);
    }

    [Fact]
    public async Task A_child_that_ends_inside_the_window_still_counts()
    {
        var self = Environment.ProcessId;
        var before = CpuSnapshot.Take(p => p.Pid == self || p.ParentPid == self);
        var childTicksBefore = ChildTicks();

        // A child that spins for a moment and exits: its CPU survives only in this process's reaped time.
        var start = new ProcessStartInfo("sh", ["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"]) { UseShellExecute = false };
        using (var child = Process.Start(start)!)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await child.WaitForExitAsync(timeout.Token);
        }

        var childSeconds = (ChildTicks() - childTicksBefore) / CpuSnapshot.ClockTicksPerSecond;
        var measured = CpuSnapshot.Take(p => p.Pid == self || p.ParentPid == self).SecondsSince(before);
        // Children other tests of this process started before the window (a silo, a robot) and that ended in it add their
        // whole life to the reaped time, and only its part in the window to what is measured: what they had used before
        // is allowed for.
        var usedBefore = before.Members.Where(p => p.Pid != self).Sum(p => p.OwnTicks + p.ReapedTicks) / CpuSnapshot.ClockTicksPerSecond;

        Assert.True(childSeconds > 0, "the child used no measurable CPU");
        Assert.True(measured >= childSeconds - usedBefore,
            $"{measured} s measured; the children that ended used {childSeconds} s, {usedBefore} s of it before the window");
    }

    [Fact]
    public void Processes_are_found_by_command_name()
    {
        var ownCommand = File.ReadAllText("/proc/self/comm").TrimEnd('\n');

        Assert.Contains(CpuSnapshot.Take(p => p.Command == ownCommand).Members, p => p.Pid == Environment.ProcessId);
        Assert.Equal(0, CpuSnapshot.Take(p => p.Command == "no-such-process-" + Guid.NewGuid().ToString("N")[..6]).Count);
    }

    /// <summary>This process's reaped time, straight from the kernel.</summary>
    private static long ChildTicks()
    {
        Assert.True(ProcessStat.TryParse(File.ReadAllText("/proc/self/stat"), out var stat));
        return stat.ReapedTicks;
    }
}
