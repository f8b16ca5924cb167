using System.Net;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// <c>/livez</c>, the edge's liveness probe, stays 200 while the cluster is unreachable, when <c>/healthz</c> and
/// <c>/readyz</c> answer 503: a silo outage must not make an orchestrator restart every edge host (each restart drops
/// all its connections and adds a login storm to the outage). A cluster of its own: its only silo is killed.
/// </summary>
[Trait("Category", "Integration")]
public sealed class LivenessTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_liveness_probe_answers_200_while_the_cluster_is_down_and_health_answers_503()
    {
        await using var cluster = new SiloCluster("liveness");
        var silo = await cluster.StartSiloAsync();
        var edge = await cluster.StartEdgeAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{edge.Endpoints.HttpPort}"), Timeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/livez")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);

        await silo.Process.KillAsync();

        var health = await Eventually.ReturnsAsync(async () => (await http.GetAsync("/healthz")).StatusCode, s => s == HttpStatusCode.ServiceUnavailable, Patience);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health);
        // Readiness follows once no check has reached the cluster for its grace (a silo's pause is not every edge leaving
        // the balancer at once).
        var ready = await Eventually.ReturnsAsync(async () => (await http.GetAsync("/readyz")).StatusCode, s => s == HttpStatusCode.ServiceUnavailable, Patience);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready);
        using var live = await http.GetAsync("/livez");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Contains("\"alive\"", await live.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
