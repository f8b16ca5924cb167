using Orleans.Im.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Orleans.Im.Tests.Faults;

/// <summary>
/// A silo of two is killed, stopped gracefully, or frozen while clients chat through the TCP edge: no acked message is
/// lost, none is shown twice or out of order, every gap is filled, and the cluster serves on with one silo.
/// </summary>
[Collection(FaultGroup.Name)]
[Trait("Category", "Fault")]
public sealed class SiloFaultTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan GracefulStopTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The least a frozen silo stays frozen: longer than failure detection (1 s probes, 2 missed, 2 s table refresh). It
    /// stays frozen until the cluster has declared it dead, which a loaded machine may take longer to do.
    /// </summary>
    private static readonly TimeSpan Freeze = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DeclaredDeadTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan SelfTerminationTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_silo_killed_with_sigkill_under_load_and_restarted_loses_no_acked_message()
    {
        await using var drill = await FaultDrill.StartAsync("silo-kill-9", output, silos: 2, edges: 1);
        drill.StartLoad();
        Assert.True(await drill.KeepsServingAsync(Phase), "no load before the fault");

        var victim = drill.Silos[1];
        await victim.Process.KillAsync();
        Assert.True(await drill.KeepsServingAsync(Phase), "the surviving silo did not serve");

        await drill.RestartSiloAsync(victim);
        Assert.True(await drill.KeepsServingAsync(Phase), "not served after the restart");

        FaultAssert.Clean(await drill.FinishAsync());
    }

    [Fact]
    public async Task A_silo_stopped_gracefully_under_load_shows_no_error_to_clients_that_retry_as_the_sdk_asks()
    {
        await using var drill = await FaultDrill.StartAsync("silo-graceful-stop", output, silos: 2, edges: 1);
        drill.StartLoad();
        Assert.True(await drill.KeepsServingAsync(Phase), "no load before the fault");

        var victim = drill.Silos[1];
        Assert.True(await victim.Process.StopAsync(GracefulStopTimeout), "the silo did not stop by itself after SIGTERM");
        Assert.True(await drill.KeepsServingAsync(Phase), "the remaining silo did not serve");

        await drill.RestartSiloAsync(victim);
        Assert.True(await drill.KeepsServingAsync(Phase), "not served after the restart");

        FaultAssert.Clean(await drill.FinishAsync());
    }

    [Fact]
    public async Task A_silo_frozen_past_the_membership_timeout_is_declared_dead_leaves_when_resumed_and_nothing_acked_is_lost()
    {
        await using var drill = await FaultDrill.StartAsync("silo-sigstop", output, silos: 2, edges: 1);
        drill.StartLoad();
        Assert.True(await drill.KeepsServingAsync(Phase), "no load before the fault");

        var victim = drill.Silos[1];
        // Connected before the freeze, so that it does not wait on the frozen silo's gateway.
        var membership = (await drill.Cluster.ConnectClientAsync()).GetGrain<IManagementGrain>(0);
        await victim.Process.PauseAsync();
        var frozen = System.Diagnostics.Stopwatch.StartNew();
        await Task.Delay(Freeze);
        var declaredDead = await Eventually.ReturnsAsync(() => StatusOfAsync(membership, victim), s => s == SiloStatus.Dead, DeclaredDeadTimeout);
        output.WriteLine($"frozen {frozen.Elapsed.TotalSeconds:F1} s until seen declared dead ({declaredDead})");
        Assert.Equal(SiloStatus.Dead, declaredDead);
        Assert.True(await drill.KeepsServingAsync(TimeSpan.Zero), "the other silo did not take over while this one was frozen");
        await victim.Process.ResumeAsync();

        // Declared dead while frozen, it learns so when it runs again and terminates itself rather than serve twice.
        var resumed = System.Diagnostics.Stopwatch.StartNew();
        var exited = await Eventually.ReturnsAsync(() => Task.FromResult(victim.Process.HasExited), e => e, SelfTerminationTimeout);
        output.WriteLine($"resumed {resumed.Elapsed.TotalSeconds:F1} s until it exited ({exited})");
        Assert.True(exited, "the resumed silo did not leave the cluster");
        await drill.RestartSiloAsync(victim);
        Assert.True(await drill.KeepsServingAsync(Phase), "not served after the restart");

        FaultAssert.Clean(await drill.FinishAsync());
    }

    /// <summary>The membership status of a silo, as the cluster sees it; none while no live silo answers in time.</summary>
    private static async Task<SiloStatus> StatusOfAsync(IManagementGrain membership, RunningSilo silo)
    {
        try
        {
            var hosts = await membership.GetHosts(onlyActive: false).WaitAsync(TimeSpan.FromSeconds(5));
            // The latest incarnation on the silo's port.
            return hosts.Where(h => h.Key.Endpoint.Port == silo.Endpoints.SiloPort).OrderBy(h => h.Key.Generation)
                .Select(h => h.Value).DefaultIfEmpty(SiloStatus.None).Last();
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            return SiloStatus.None;
        }
    }
}
