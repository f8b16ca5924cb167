using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// <c>IM:Edge:RetainSocketBuffers</c> (on by default) on a cluster of its own: Kestrel's connections read and write through
/// the edge's retaining pool (its gauges count the blocks), every block comes back to it when the connections close, and
/// turned off, Kestrel's own pool is back.
/// </summary>
[Trait("Category", "Edge")]
public sealed class RetainedSocketBuffersTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Connections_go_through_the_retaining_pool_and_give_every_block_back_when_closed()
    {
        await using var cluster = new SiloCluster("retained-buffers");
        await cluster.StartSiloAsync();
        var edge = await cluster.StartEdgeAsync();
        var tokens = new AccessTokens(Options.Create(new AuthOptions { SigningKey = cluster.SigningKey }), TimeProvider.System);

        var connections = new List<RawConnection>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var connection = await RawConnection.OpenAsync(edge.Endpoints.TcpPort);
                connections.Add(connection);
                await connection.LoginAsync(tokens.Issue(Ids.User($"buffers{i}"), $"s-buffers{i}"));
                await connection.PingAsync();
            }

            var scrape = await PrometheusScrape.ReadAsync(edge.Endpoints.HttpPort);
            Assert.True(scrape.Value("im_edge_socket_buffer_bytes") >= 4096);
            Assert.True(scrape.Value("im_edge_socket_buffer_free_bytes") <= scrape.Value("im_edge_socket_buffer_bytes"));
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }

        // Closed, the TCP connections hold no block; only the scrape's own HTTP connection may have one out.
        var after = await Eventually.ReturnsAsync(
            () => PrometheusScrape.ReadAsync(edge.Endpoints.HttpPort),
            s => s.Value("im_edge_socket_buffer_bytes") - s.Value("im_edge_socket_buffer_free_bytes") <= 2 * 4096,
            Patience);
        Assert.True(after.Value("im_edge_socket_buffer_bytes") - after.Value("im_edge_socket_buffer_free_bytes") <= 2 * 4096);

        var kestrelsPool = await cluster.StartEdgeAsync(new Dictionary<string, string> { ["IM__Edge__RetainSocketBuffers"] = "false" });
        await using var served = await RawConnection.OpenAsync(kestrelsPool.Endpoints.TcpPort);
        await served.PingAsync();
        var withoutPool = await PrometheusScrape.ReadAsync(kestrelsPool.Endpoints.HttpPort);
        Assert.DoesNotContain(withoutPool.Samples.Keys, k => k.StartsWith("im_edge_socket_buffer", StringComparison.Ordinal));
        Assert.Contains(withoutPool.Samples.Keys, k => k.StartsWith("im_edge_connections", StringComparison.Ordinal));
    }
}
