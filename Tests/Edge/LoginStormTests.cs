using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Im.Tests.Infrastructure;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// The bound on logins in flight (<c>IM:Edge:MaxConcurrentLogins</c>), on a cluster of its own: with the silo frozen a
/// login holds the edge's only place; the next waits its <c>LoginQueueTimeout</c>, is refused as retryable and, once the
/// silo runs again, gets in on its retry — as does the first.
/// </summary>
[Trait("Category", "Edge")]
public sealed class LoginStormTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Logins_beyond_the_bound_wait_then_are_refused_as_retryable_and_get_in_when_retried()
    {
        await using var cluster = new SiloCluster("login-storm");
        var silo = await cluster.StartSiloAsync();
        var edge = await cluster.StartEdgeAsync(new Dictionary<string, string>
        {
            ["IM__Edge__MaxConcurrentLogins"] = "1",
            ["IM__Edge__LoginQueueTimeout"] = "00:00:01",
            ["IM__Edge__LoginTimeout"] = "00:01:00",
            ["IM__Edge__ReportInterval"] = "00:00:01",
        });
        var tokens = new AccessTokens(Options.Create(new AuthOptions { SigningKey = cluster.SigningKey }), TimeProvider.System);
        var port = edge.Endpoints.TcpPort;
        await using var first = await RawConnection.OpenAsync(port);
        await using var second = await RawConnection.OpenAsync(port);

        // Frozen, the silo answers nothing: the first login takes the one place and stays in it.
        await silo.Process.PauseAsync();
        try
        {
            await first.SendAsync(V1.Op.Login, 1, Login(tokens, "first"));
            Assert.Equal(1, await Eventually.ReturnsAsync(() => GaugeAsync(edge, "im_edge_logins_in_flight"), v => v == 1, Patience));

            await second.SendAsync(V1.Op.Login, 1, Login(tokens, "second"));
            var refusal = await second.ReadAnswerAsync(Patience);
            Assert.Equal(V1.Op.Error, refusal?.Op);
            var error = V1.Error.Parser.ParseFrom(refusal!.Value.Body);
            Assert.Equal((V1.ErrorCode.RateLimited, true), (error.Code, error.Retryable));
        }
        finally
        {
            await silo.Process.ResumeAsync();
        }

        // Running again: the first login completes, and the refused one gets in on its retry (same connection).
        Assert.Equal(V1.Op.LoginOk, (await first.ReadAnswerAsync(Patience))?.Op);
        await second.LoginAsync(tokens.Issue(Ids.User("second"), "s-second"));
        Assert.Equal(0, await GaugeAsync(edge, "im_edge_logins_in_flight"));
    }

    [Fact]
    public async Task After_a_storm_of_logins_and_a_quiet_spell_the_edge_collects_once_and_its_connections_carry_on()
    {
        await using var cluster = new SiloCluster("storm-compaction");
        await cluster.StartSiloAsync();
        var edge = await cluster.StartEdgeAsync(new Dictionary<string, string>
        {
            ["IM__Edge__CompactAfterLogins"] = "3",
            ["IM__Edge__CompactWhenQuietFor"] = "00:00:01",
            ["IM__Edge__CompactMinInterval"] = "00:10:00",
        });
        var tokens = new AccessTokens(Options.Create(new AuthOptions { SigningKey = cluster.SigningKey }), TimeProvider.System);
        var storm = new List<RawConnection>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var connection = await RawConnection.OpenAsync(edge.Endpoints.TcpPort);
                storm.Add(connection);
                await connection.LoginAsync(tokens.Issue(Ids.User($"storm{i}"), $"s-storm{i}"));
            }

            const string Compacted = "login storm (3 logins) is over";
            var output = await Eventually.ReturnsAsync(() => Task.FromResult(edge.Process.Output), o => o.Contains(Compacted, StringComparison.Ordinal), Patience);
            Assert.Contains(Compacted, output, StringComparison.Ordinal);
            foreach (var connection in storm)
            {
                await connection.PingAsync();
            }

            // Another storm within the minimum interval: logged in, but not collected again.
            for (var i = 3; i < 6; i++)
            {
                var connection = await RawConnection.OpenAsync(edge.Endpoints.TcpPort);
                storm.Add(connection);
                await connection.LoginAsync(tokens.Issue(Ids.User($"storm{i}"), $"s-storm{i}"));
            }

            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.Single(edge.Process.Output.Split('\n'), line => line.Contains("login storm (", StringComparison.Ordinal));
        }
        finally
        {
            foreach (var connection in storm)
            {
                await connection.DisposeAsync();
            }
        }
    }

    private static V1.LoginRequest Login(AccessTokens tokens, string name) =>
        new() { Token = tokens.Issue(Ids.User(name), "s-" + name), DeviceId = "raw", Platform = "test", ProtocolVersion = 1 };

    private static async Task<long> GaugeAsync(RunningEdge edge, string name) =>
        (long)(await PrometheusScrape.ReadAsync(edge.Endpoints.HttpPort)).Samples[name];
}
