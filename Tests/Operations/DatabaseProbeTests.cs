using System.Diagnostics;
using Npgsql;
using Orleans.Im.Silo;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Operations;

/// <summary>The silo's readiness check of PostgreSQL through a network that drops packets (a lost route, a dead node).</summary>
[Trait("Category", "Integration")]
public sealed class DatabaseProbeTests
{
    /// <summary>
    /// How much later than the check's own timeout an answer may come on a busy machine. Kubelet gives the probe 4 s
    /// (deploy/k8s/silo.yaml); before the fix an answer took a minute and more.
    /// </summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(3);

    /// <summary>How long PostgreSQL may go unreached before the probe says so: short, for the test to see it pass.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(4);

    [Fact]
    public async Task Probes_through_a_partition_answer_within_the_checks_timeout_and_share_the_check()
    {
        var target = new NpgsqlConnectionStringBuilder(TestServices.PostgresConnectionString);
        await using var proxy = new LoopbackProxy(target.Port);
        var viaProxy = new NpgsqlConnectionStringBuilder(TestServices.PostgresConnectionString) { Host = "127.0.0.1", Port = proxy.Port };
        using var probe = DatabaseProbe.Create(viaProxy.ConnectionString, grace: Grace, TimeProvider.System);
        Task<string?> Ask() => probe.UnreachableAsync(CancellationToken.None);

        // Reached (a first connection on a busy machine may outlast one answer): the pool now holds one through the proxy.
        await Eventually.UntilAsync(Ask, answer => answer is null, TimeSpan.FromSeconds(30));

        // Partitioned: both directions dropped silently, nothing refused.
        proxy.BlackholeUpstream = true;
        proxy.BlackholeDownstream = true;
        await Task.Delay(DatabaseProbe.CheckInterval + TimeSpan.FromMilliseconds(100));

        // Two probes at once (kubelet's and an operator's): each answers in time.
        var watch = Stopwatch.StartNew();
        var first = Ask();
        await Task.Delay(100);
        var second = Ask();
        await Task.WhenAll(first, second);
        Assert.True(watch.Elapsed < DatabaseProbe.CheckTimeout + Slack, $"the probes took {watch.Elapsed.TotalSeconds:F1} s");

        // Past the grace it says so; healed, a check reaches it again (the lost connection was given up, not waited on).
        Assert.StartsWith("PostgreSQL cannot be reached", await Eventually.ReturnsAsync(Ask, answer => answer is not null));
        proxy.BlackholeUpstream = false;
        proxy.BlackholeDownstream = false;
        await Eventually.UntilAsync(Ask, answer => answer is null, TimeSpan.FromSeconds(30));
    }
}
