using System.Net;
using Orleans.Im.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Orleans.Im.Tests.Faults;

/// <summary>
/// PostgreSQL restarted, or Redis stopped and started, under load — each a private server of the test's own, so the
/// run's shared servers (and every other test on them) are left alone.
/// </summary>
[Collection(FaultGroup.Name)]
[Trait("Category", "Fault")]
public sealed class StorageFaultTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(6);

    [Fact]
    public async Task While_postgresql_is_down_sends_are_refused_as_retryable_and_after_its_restart_nothing_acked_is_lost()
    {
        await using var postgres = await PrivatePostgres.StartAsync();
        await using var drill = await FaultDrill.StartAsync("postgres-restart", output, silos: 2, edges: 1, postgres: postgres.ConnectionString);
        drill.StartLoad();
        Assert.True(await drill.KeepsServingAsync(Phase), "no load before the fault");

        await postgres.StopAsync();
        var ackedBefore = drill.Checker.AckCount;
        var outageEnds = Task.Delay(Outage);
        // A silo that cannot reach the database says so in its readiness, not its liveness (a restart would not help).
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{drill.Silos[0].Endpoints.HttpPort}"), Timeout = TimeSpan.FromSeconds(10) };
        var notReady = await Eventually.ReturnsAsync(async () => (await http.GetAsync("/readyz")).StatusCode, s => s == HttpStatusCode.ServiceUnavailable, Outage);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
        await outageEnds;
        var ackedDuringOutage = drill.Checker.AckCount - ackedBefore;
        output.WriteLine($"acks while PostgreSQL was down: {ackedDuringOutage} (sends in flight when it stopped)");
        await postgres.StartAgainAsync();
        Assert.True(await drill.KeepsServingAsync(Phase), "not served after PostgreSQL came back");
        var ready = await Eventually.ReturnsAsync(async () => (await http.GetAsync("/readyz")).StatusCode, s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, ready);

        var report = await drill.FinishAsync();
        FaultAssert.Clean(report);
        // Nothing is acked without a commit: the sends made while it was down were refused (retryably), not acked.
        Assert.True(report.RetryableErrors > 0, "no send was refused while PostgreSQL was down");
    }

    [Fact]
    public async Task With_redis_stopped_the_running_cluster_keeps_serving_and_a_new_silo_joins_once_it_is_back()
    {
        await using var redis = await PrivateRedis.StartAsync();
        await using var drill = await FaultDrill.StartAsync("redis-stop", output, silos: 2, edges: 1, redis: redis.ConnectionString);
        drill.StartLoad();
        Assert.True(await drill.KeepsServingAsync(Phase), "no load before the fault");

        await redis.StopAsync();
        Assert.True(await drill.KeepsServingAsync(Outage), "the cluster stopped serving without Redis");
        await redis.StartAgainAsync();

        // Membership lives in Redis: a silo can join only now. It is healthy once it is an active member.
        drill.Silos.Add(await drill.Cluster.StartSiloAsync(settings: FaultDrill.SiloSettings));
        Assert.True(await drill.KeepsServingAsync(Phase), "not served after Redis came back");

        FaultAssert.Clean(await drill.FinishAsync());
    }

    [Fact]
    public async Task A_silo_started_while_redis_is_down_waits_for_it_and_joins_once_it_is_back()
    {
        await using var redis = await PrivateRedis.StartAsync();
        await redis.StopAsync();
        await using var cluster = new SiloCluster("redis-late") { RedisConnectionString = redis.ConnectionString };
        var endpoints = new SiloEndpoints(FreePorts.Next(), FreePorts.Next(), FreePorts.Next());
        var silo = cluster.StartSiloProcess(endpoints);

        // Orleans fails its membership start at once without Redis: the silo must be seen waiting for it, and still be
        // waiting a while later, instead of exiting.
        await Eventually.UntilAsync(() => Task.FromResult(silo.Output), o => o.Contains(RedisWait, StringComparison.Ordinal) || silo.HasExited,
            TimeSpan.FromSeconds(60));
        await Task.Delay(Phase);
        Assert.False(silo.HasExited, silo.Output);
        Assert.Contains(RedisWait, silo.Output, StringComparison.Ordinal);

        await redis.StartAgainAsync();
        await silo.WaitHealthyAsync(TimeSpan.FromSeconds(90));
        output.WriteLine($"silo {endpoints.HttpPort} joined once Redis was back");
    }

    private const string RedisWait = "Redis (cluster membership) is not reachable yet";
}
