using System.Net.Http.Json;
using Orleans.Im.Edges;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Edge;

/// <summary>Two edge host processes register in the edge directory; clients are offered the less loaded one.</summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Integration")]
public sealed class EdgeDirectoryTests(EdgeFixture fixture)
{
    [Fact]
    public async Task The_less_loaded_edge_is_offered_first_and_a_killed_edge_disappears_after_missed_reports()
    {
        var quiet = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Edge__ReportInterval"] = "00:00:01",
            ["IM__Edge__EdgeId"] = "quiet-edge",
        });
        var busyClients = new List<Client.ImClient>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                busyClients.Add(await fixture.ConnectAsync(Ids.User("busy"), $"d{i}"));
            }

            using var http = fixture.Http();
            var edges = await Eventually.ReturnsAsync(
                async () => (await http.GetFromJsonAsync<List<EdgeReport>>("/api/edges", ApiCalls.Json))!,
                e => e.Any(r => r.EdgeId == "quiet-edge") && (e.Any(r => r.Connections >= 5) || e.Count == 3));

            // Other idle edges of the shared test cluster may be offered too; the quiet one always comes before the busy one.
            var quietIndex = edges.FindIndex(r => r.EdgeId == "quiet-edge");
            var busyIndex = edges.FindIndex(r => r.Connections >= 5);
            Assert.True(quietIndex < busyIndex || busyIndex < 0, string.Join(", ", edges.Select(r => $"{r.EdgeId}:{r.Connections}")));
            Assert.Contains($"127.0.0.1:{quiet.Endpoints.TcpPort}", edges[quietIndex].TcpAddresses);
            Assert.EndsWith("/hubs/chat", edges[quietIndex].WebSocketUrl, StringComparison.Ordinal);

            // SIGKILL: no goodbye. Three missed reports later it is gone.
            await quiet.Process.KillAsync();
            var after = await Eventually.ReturnsAsync(
                async () => (await http.GetFromJsonAsync<List<EdgeReport>>("/api/edges", ApiCalls.Json))!,
                e => e.All(r => r.EdgeId != "quiet-edge"));
            Assert.DoesNotContain(after, r => r.EdgeId == "quiet-edge");
            Assert.NotEmpty(after);
        }
        finally
        {
            foreach (var client in busyClients)
            {
                await client.DisposeAsync();
            }
        }
    }
}
