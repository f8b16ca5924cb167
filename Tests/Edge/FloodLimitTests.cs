using Orleans.Im.Tests.Infrastructure;
using Xunit.Abstractions;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// The TCP flood limits on an edge host of their own (small limits, a long login timeout so idle sockets stay): sockets
/// over a limit get <c>RATE_LIMITED</c> and a close, and the limits recover as connections log in or close. The per-user
/// send rate and login attempt limits have their tests in <see cref="Api.SessionsAndLoginTests"/>.
/// </summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class FloodLimitTests(EdgeFixture fixture, ITestOutputHelper output)
{
    private const int MaxUnauthenticated = 5;
    private const int MaxPerAddress = 12;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Connections_per_address_and_sockets_not_logged_in_are_limited_and_the_limits_recover()
    {
        await using var edge = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Edge__MaxConnectionsPerAddress"] = MaxPerAddress.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["IM__Edge__MaxUnauthenticatedConnections"] = MaxUnauthenticated.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["IM__Edge__LoginTimeout"] = "00:01:00",
        });
        var port = edge.Endpoints.TcpPort;
        var open = new List<RawConnection>();
        try
        {
            // Sockets that do not log in: the limit's worth is taken, the next is refused. Each answers a ping before
            // the next opens, so that the one over the limit is the last the edge takes in.
            for (var i = 0; i < MaxUnauthenticated; i++)
            {
                var idle = await RawConnection.OpenAsync(port);
                open.Add(idle);
                await idle.PingAsync();
            }

            Assert.Equal(V1.ErrorCode.RateLimited, await RefusalAsync(port));

            // One of them logs in: a place is free again.
            await open[0].LoginAsync(fixture.Tokens.Issue(Ids.User("u"), "session-0"));
            var admitted = await RawConnection.OpenAsync(port);
            open.Add(admitted);
            await admitted.LoginAsync(fixture.Tokens.Issue(Ids.User("u"), "session-1"));
            output.WriteLine($"unauthenticated limit {MaxUnauthenticated}: held, and recovered after a login");

            // Per address: log in up to the limit (all from 127.0.0.1), the next is refused whatever it would do.
            for (var i = 1; i < MaxUnauthenticated; i++)
            {
                await open[i].LoginAsync(fixture.Tokens.Issue(Ids.User("u"), $"session-{i + 1}"));
            }

            while (open.Count < MaxPerAddress)
            {
                var next = await RawConnection.OpenAsync(port);
                open.Add(next);
                await next.LoginAsync(fixture.Tokens.Issue(Ids.User("u"), $"session-{open.Count}"));
            }

            Assert.Equal(V1.ErrorCode.RateLimited, await RefusalAsync(port));

            // One closes: the address may connect again.
            await open[^1].DisposeAsync();
            open.RemoveAt(open.Count - 1);
            var again = await Eventually.ReturnsAsync(async () =>
            {
                var candidate = await RawConnection.OpenAsync(port);
                await candidate.SendAsync(V1.Op.Login, 1, new V1.LoginRequest { Token = fixture.Tokens.Issue(Ids.User("u"), "session-again"), DeviceId = "raw", Platform = "test", ProtocolVersion = 1 });
                var answer = await candidate.ReadFrameAsync(Patience);
                open.Add(candidate);
                return answer?.Op;
            }, op => op == V1.Op.LoginOk);
            Assert.Equal(V1.Op.LoginOk, again);
            output.WriteLine($"per-address limit {MaxPerAddress}: held, and recovered after a close");
        }
        finally
        {
            foreach (var connection in open)
            {
                await connection.DisposeAsync();
            }

            // The cluster disposes of it too (and keeps its output); killing it now frees the fixture's machine sooner.
            await edge.Process.KillAsync();
        }
    }

    /// <summary>Opens a socket that should be refused at once; returns the error code it got before the close.</summary>
    private static async Task<V1.ErrorCode?> RefusalAsync(int port)
    {
        await using var refused = await RawConnection.OpenAsync(port);
        var frames = await refused.ReadUntilClosedAsync(Patience);
        return frames is [var error] && error.Op == V1.Op.Error ? V1.Error.Parser.ParseFrom(error.Body).Code : null;
    }
}
