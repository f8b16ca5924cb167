using Orleans.Im.Stats;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Operations;

/// <summary>The admin figures' grain on its own: who counts, by the intervals the reporters say they report at.</summary>
[Trait("Category", "Unit")]
public sealed class ClusterStatsGrainTests
{
    [Fact]
    public async Task A_host_reporting_less_often_than_every_30_seconds_counts_between_its_reports_and_drops_out_after_three_missed()
    {
        var time = new ShiftedTimeProvider();
        var grain = new ClusterStatsGrain(new ImClock(time));
        var interval = TimeSpan.FromSeconds(45);
        await grain.ReportEdgeAsync("edge-a", connections: 10_000, users: 8_000, interval);
        await grain.ReportSiloAsync("silo-a", 1_000, interval);

        // The next reports are due in 5 s: before, both were dropped 30 s after their report.
        time.Advance(interval - TimeSpan.FromSeconds(5));
        var stats = await grain.GetAsync();
        Assert.Equal((1, 1, 10_000L, 8_000L), (stats.Silos, stats.EdgeHosts, stats.Connections, stats.OnlineUsers));

        // Silent for more than three intervals: gone.
        time.Advance(interval * 3);
        stats = await grain.GetAsync();
        Assert.Equal((0, 0, 0L), (stats.Silos, stats.EdgeHosts, stats.Connections));
    }

    [Fact]
    public async Task Only_the_live_generation_of_a_restarted_silo_counts_and_a_host_not_yet_upgraded_counts_by_the_old_interval()
    {
        var time = new ShiftedTimeProvider();
        var grain = new ClusterStatsGrain(new ImClock(time));
        var interval = TimeSpan.FromSeconds(5);

        // Restarted silos report under new addresses: only the live one counts.
        for (var generation = 0; generation < 5; generation++)
        {
            await grain.ReportSiloAsync($"silo-a@{generation}", 0, interval);
            time.Advance(interval * 4);
        }

        await grain.ReportSiloAsync("silo-a@5", 0, interval);
        await grain.ReportEdgeAsync("edge-old", 10, 10);
        Assert.Equal((1, 1), ((await grain.GetAsync()).Silos, (await grain.GetAsync()).EdgeHosts));
        time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(1, (await grain.GetAsync()).EdgeHosts);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(0, (await grain.GetAsync()).EdgeHosts);
    }
}
