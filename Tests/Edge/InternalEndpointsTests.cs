using System.Net;
using System.Net.Http.Json;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// An edge host with an internal listener (<c>IM:Edge:InternalHttpUrl</c>) serves <c>/metrics</c>, <c>/api/admin/…</c>
/// and <c>/api/system/…</c> there only: on its public listener, the one a balancer publishes, they answer 404 in any
/// spelling of their case, even with the right key, while the public API and the probes answer as before. An edge host
/// of its own on the shared cluster.
/// </summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class InternalEndpointsTests(EdgeFixture fixture)
{
    [Fact]
    public async Task Metrics_and_the_admin_and_system_api_answer_on_the_internal_port_only()
    {
        var internalPort = FreePorts.Next();
        await using var edge = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Edge__InternalHttpUrl"] = $"http://127.0.0.1:{internalPort}",
        });
        using var open = fixture.Http(edge.Endpoints.HttpPort);
        using var inside = fixture.Http(internalPort);
        foreach (var client in new[] { open, inside })
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", fixture.AdminApiKey);
        }

        foreach (var path in new[] { "/metrics", "/METRICS", "/Metrics/", "/api/admin/stats", "/API/Admin/stats", "/api/admin/webhooks", "/api/ADMIN/shops/s/agents" })
        {
            Assert.True(HttpStatusCode.NotFound == (await open.GetAsync(path)).StatusCode, $"GET {path} on the public port");
        }

        foreach (var path in new[] { "/api/system/messages", "/Api/System/messages", "/api/admin/accounts", "/api/admin/edge/drain", "/api/auth/verify", "/API/Auth/Verify" })
        {
            using var response = await open.PostAsJsonAsync(path, new { });
            Assert.True(HttpStatusCode.NotFound == response.StatusCode, $"POST {path} on the public port");
        }

        // The same endpoints on the internal port; the key still decides there.
        Assert.Equal(HttpStatusCode.OK, (await inside.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await inside.GetAsync("/API/Admin/stats")).StatusCode);
        using (var keyless = fixture.Http(internalPort))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await keyless.GetAsync("/api/admin/stats")).StatusCode);
        }

        // What clients and probes use stays on the public port.
        foreach (var path in new[] { "/livez", "/healthz", "/readyz", "/api/edges", "/" })
        {
            Assert.True(HttpStatusCode.OK == (await open.GetAsync(path)).StatusCode, $"GET {path} on the public port");
        }

        using var login = await open.PostAsJsonAsync("/api/auth/login", new { userId = Ids.User("nobody"), password = "wrong" });
        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
    }

    [Fact]
    public async Task Without_an_internal_port_the_one_port_serves_everything()
    {
        // Development (deploy/run.sh): the fixture's edge host has no internal listener.
        using var http = fixture.Http();
        http.DefaultRequestHeaders.Add("X-Api-Key", fixture.AdminApiKey);

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/admin/stats")).StatusCode);
    }
}
