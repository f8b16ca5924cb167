using System.Net;
using System.Net.Sockets;
using Orleans.Im.Bench.Connect;
using Orleans.Im.Bench.Load;

namespace Orleans.Im.Tests.Bench;

/// <summary>What the load reports make of the hosts' scrapes and the generator processes' timings.</summary>
[Trait("Category", "Unit")]
public sealed class ResourceFiguresTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_host_that_does_not_answer_gives_a_sample_without_figures()
    {
        using var reader = new HostMetricsReader([$"http://127.0.0.1:{ClosedPort()}"]);

        var sample = Assert.Single(await reader.SampleAsync());

        Assert.False(sample.Answered);
        Assert.NotNull(sample.Error);
    }

    [Fact]
    public void A_window_whose_start_scrape_failed_has_no_cpu_rather_than_all_the_cpu_since_the_host_started()
    {
        var use = ResourceUse.OfHost(HostSample.Failed("http://edge", "refused", T0), new HostSample("http://edge", 500 << 20, 900, 10, T0.AddSeconds(10)));

        Assert.Null(use.CpuCores);
        Assert.Null(use.ResidentBytesEnd);
        Assert.Contains("start", use.NotMeasured, StringComparison.Ordinal);
    }

    [Fact]
    public void A_window_whose_end_scrape_failed_has_no_cpu_rather_than_none()
    {
        var use = ResourceUse.OfHost(new HostSample("http://edge", 500 << 20, 900, 10, T0), HostSample.Failed("http://edge", "timed out", T0.AddSeconds(10)));

        Assert.Null(use.CpuCores);
        Assert.Contains("end", use.NotMeasured, StringComparison.Ordinal);
    }

    [Fact]
    public void A_window_between_two_answers_is_cpu_seconds_over_wall_seconds()
    {
        var use = ResourceUse.OfHost(new HostSample("http://edge", 100, 900, 0, T0), new HostSample("http://edge", 300, 905, 7, T0.AddSeconds(10)));

        Assert.Equal(new ResourceUse("http://edge", 0.5, 100, 300, 7), use);
    }

    [Fact]
    public void Memory_per_connection_needs_the_scrape_before_the_run()
    {
        var memory = HostMemory.From(
            HostSample.Failed("http://edge", "refused", T0), new HostSample("http://edge", 200 << 20, 1, 1_000, T0), new HostSample("http://edge", 210 << 20, 2, 1_000, T0), null);

        Assert.Equal(1_000, memory.Connections);
        Assert.Null(memory.KbPerConnection);
        Assert.Null(memory.KbPerConnectionAtHoldEnd);
    }

    [Fact]
    public void Memory_per_connection_is_growth_over_the_connections_held()
    {
        var memory = HostMemory.From(
            new HostSample("http://silo", 100 << 20, 0, 0, T0), new HostSample("http://silo", 110 << 20, 1, 0, T0), HostSample.Failed("http://silo", "timed out", T0), 1_024);

        Assert.Equal(10, memory.KbPerConnection);
        Assert.Null(memory.KbPerConnectionAtHoldEnd);
    }

    [Fact]
    public void The_ramp_runs_from_the_first_process_to_start_to_the_last_to_finish()
    {
        // Two processes of two seconds each, the second started a second after the first: the servers saw three.
        ShardResult[] shards = [new(100, 0, 0, T0, T0.AddSeconds(2), null), new(100, 0, 0, T0.AddSeconds(1), T0.AddSeconds(3), null)];

        Assert.Equal(3, ShardResult.ConnectSeconds(shards), 6);
    }

    /// <summary>A loopback port that was just free: bound, then released.</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
