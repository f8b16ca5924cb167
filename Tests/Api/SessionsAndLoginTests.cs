using Orleans.Im.Accounts;
using System.Net;
using System.Net.Http.Json;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Tests.Infrastructure;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Api;

[Collection(EdgeGroup.Name)]
[Trait("Category", "Integration")]
public sealed class SessionsAndLoginTests(EdgeFixture fixture)
{
    // How long an edge may take to hear a revocation broadcast: about a second, but under the whole suite's load it once
    // took more than 10 s, so the wait is generous (no timing is asserted on a shared machine).
    private static readonly TimeSpan BroadcastPatience = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Login_attempts_are_rate_limited_per_account_and_the_limit_recovers()
    {
        var alice = await fixture.NewUserAsync("alice");
        using var http = fixture.Http();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 7; i++)
        {
            using var response = await http.PostAsJsonAsync("/api/auth/login", new LoginBody(alice, "wrong password"), ApiCalls.Json);
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, 5).Concat(Enumerable.Repeat(HttpStatusCode.TooManyRequests, 2)), statuses);
        using (var blocked = await http.PostAsJsonAsync("/api/auth/login", new LoginBody(alice, ApiCalls.Password), ApiCalls.Json))
        {
            // Even the right password waits: the limit is on the account, not on wrong guesses alone.
            Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
            Assert.Equal("rate_limited", await blocked.ProblemCodeAsync());
        }

        await Task.Delay(EdgeFixture.LoginRateWindow + TimeSpan.FromMilliseconds(500));
        Assert.False(string.IsNullOrEmpty((await fixture.LoginAsync(alice)).AccessToken));
    }

    [Fact]
    public async Task Unknown_accounts_and_wrong_passwords_look_the_same()
    {
        var alice = await fixture.NewUserAsync("alice");
        using var http = fixture.Http();

        using var wrong = await http.PostAsJsonAsync("/api/auth/login", new LoginBody(alice, "nope"), ApiCalls.Json);
        using var unknown = await http.PostAsJsonAsync("/api/auth/login", new LoginBody(Ids.User("nobody"), "nope"), ApiCalls.Json);

        Assert.Equal((HttpStatusCode.Unauthorized, "invalid_credentials"), (wrong.StatusCode, await wrong.ProblemCodeAsync()));
        Assert.Equal((HttpStatusCode.Unauthorized, "invalid_credentials"), (unknown.StatusCode, await unknown.ProblemCodeAsync()));
    }

    [Fact]
    public async Task A_refresh_token_renews_once_and_logout_revokes_the_session_everywhere()
    {
        var alice = await fixture.NewUserAsync("alice");
        var login = await fixture.LoginAsync(alice);
        await using var secondEdge = await fixture.Cluster.StartEdgeAsync(fixture.AuthSettings);
        using var here = fixture.Http();
        using var there = fixture.Http(secondEdge.Endpoints.HttpPort);

        // Repeated at once (a lost answer, a reload mid-way), on any edge host: the same new token, and the session
        // works with either answer's access token.
        var renewed = await RefreshAsync(here, alice, login.SessionId, login.RefreshToken);
        var repeated = await RefreshAsync(there, alice, login.SessionId, login.RefreshToken);
        Assert.NotEqual(login.RefreshToken, renewed.RefreshToken);
        Assert.Equal(renewed.RefreshToken, repeated.RefreshToken);
        Assert.Equal(HttpStatusCode.OK, (await there.CallAsync(HttpMethod.Get, "/api/sync", repeated.AccessToken)).StatusCode);

        // The new token renews in turn. (The first, spent again now, would end the session as a stolen token's twin:
        // A_refresh_token_older_than_the_previous_spent_again_ends_the_session.)
        var next = await RefreshAsync(there, alice, login.SessionId, renewed.RefreshToken);
        Assert.NotEqual(renewed.RefreshToken, next.RefreshToken);

        // The same session, on a long connection to the other edge host.
        var device = new Client.ImClient(new Client.ImClientOptions
        {
            Port = secondEdge.Endpoints.TcpPort,
            TokenProvider = _ => Task.FromResult(login.AccessToken),
            DeviceId = "phone",
            ReconnectBaseDelay = TimeSpan.FromSeconds(30),
        });
        await using (device)
        {
            await device.ConnectAsync();
            Assert.Equal(HttpStatusCode.OK, (await there.CallAsync(HttpMethod.Get, "/api/sync", login.AccessToken)).StatusCode);
            Assert.True(await Verify(login.AccessToken));

            Assert.Equal(HttpStatusCode.NoContent, (await here.CallAsync(HttpMethod.Post, "/api/auth/logout", login.AccessToken)).StatusCode);

            // The other edge hears of it through the revocation broadcast.
            var refusedThere = await Eventually.ReturnsAsync(
                async () => (await there.CallAsync(HttpMethod.Get, "/api/sync", login.AccessToken)).StatusCode,
                s => s == HttpStatusCode.Unauthorized, BroadcastPatience);
            Assert.Equal(HttpStatusCode.Unauthorized, refusedThere);
            Assert.Equal(HttpStatusCode.Unauthorized, (await here.CallAsync(HttpMethod.Get, "/api/sync", login.AccessToken)).StatusCode);
            Assert.False(await Verify(login.AccessToken));

            // The long connection of that session is closed with a kick.
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            V1.Event kick;
            do
            {
                kick = await device.Events.ReadAsync(cts.Token);
            }
            while (kick.KindCase != V1.Event.KindOneofCase.Kick);
        }
    }

    [Fact]
    public async Task A_spent_refresh_token_repeats_its_refresh_only_within_the_grace()
    {
        var alice = await fixture.NewUserAsync("alice");
        var login = await fixture.LoginAsync(alice);
        var grace = TimeSpan.FromSeconds(2);
        await using var strictEdge = await fixture.Cluster.StartEdgeAsync(
            new Dictionary<string, string>(fixture.AuthSettings) { ["IM__Auth__RefreshTokenReuseGrace"] = grace.ToString() });
        using var http = fixture.Http(strictEdge.Endpoints.HttpPort);

        var other = await fixture.LoginAsync(alice, "phone");
        var renewed = await RefreshAsync(http, alice, login.SessionId, login.RefreshToken);
        Assert.Equal(renewed.RefreshToken, (await RefreshAsync(http, alice, login.SessionId, login.RefreshToken)).RefreshToken);

        // Within the grace, the spent token renews nothing of another session, nor does a made-up one.
        Assert.Equal(HttpStatusCode.Unauthorized, await RefreshStatusAsync(http, alice, other.SessionId, login.RefreshToken));
        Assert.Equal(HttpStatusCode.Unauthorized, await RefreshStatusAsync(http, alice, login.SessionId, "made-up"));

        // The expiry each answer gives is the one its access token carries, not up to a second later.
        foreach (var answer in new[] { login, renewed })
        {
            using var verified = await fixture.AdminCallAsync(HttpMethod.Post, "/api/auth/verify", new VerifyBody(answer.AccessToken));
            Assert.Equal(answer.ExpiresAt, (await verified.Content.ReadFromJsonAsync<VerifyResponse>(ApiCalls.Json))!.ExpiresAt);
        }

        await Task.Delay(grace + TimeSpan.FromSeconds(1));

        // A made-up token later ends nothing: knowing a session id is not enough to sign it out.
        Assert.Equal(HttpStatusCode.Unauthorized, await RefreshStatusAsync(http, alice, login.SessionId, "made-up"));

        // Nor, later, a token of another session.
        Assert.Equal(HttpStatusCode.Unauthorized, await RefreshStatusAsync(http, alice, other.SessionId, renewed.RefreshToken));
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", renewed.AccessToken)).StatusCode);

        // Later than the grace the spent token is refused, and ends the session: a refresh token spent twice that late has
        // two holders, one of them a thief, and which one holds the token that replaced it is not known.
        Assert.Equal(HttpStatusCode.Unauthorized, await RefreshStatusAsync(http, alice, login.SessionId, login.RefreshToken));
        Assert.Equal(HttpStatusCode.Unauthorized, await RefreshStatusAsync(http, alice, login.SessionId, renewed.RefreshToken));
        var refused = await Eventually.ReturnsAsync(
            async () => (await http.CallAsync(HttpMethod.Get, "/api/sync", renewed.AccessToken)).StatusCode,
            status => status == HttpStatusCode.Unauthorized, BroadcastPatience);
        Assert.Equal(HttpStatusCode.Unauthorized, refused);
        Assert.False(await Verify(renewed.AccessToken));

        // The account's other login lives on.
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", other.AccessToken)).StatusCode);
    }

    [Fact]
    public async Task A_refresh_token_older_than_the_previous_spent_again_ends_the_session()
    {
        var alice = await fixture.NewUserAsync("alice");
        var login = await fixture.LoginAsync(alice);
        var grace = TimeSpan.FromSeconds(1);
        await using var strictEdge = await fixture.Cluster.StartEdgeAsync(
            new Dictionary<string, string>(fixture.AuthSettings) { ["IM__Auth__RefreshTokenReuseGrace"] = grace.ToString() });
        using var http = fixture.Http(strictEdge.Endpoints.HttpPort);

        // A thief with a copy of the device's refresh token renews it twice at once: the device's token is then older
        // than the one the last renewal swapped out.
        var first = await RefreshAsync(http, alice, login.SessionId, login.RefreshToken);
        var second = await RefreshAsync(http, alice, login.SessionId, first.RefreshToken);
        await Task.Delay(grace + TimeSpan.FromMilliseconds(500));

        // The device renews with its token: two holders of it, so the login ends, the thief's tokens with it.
        Assert.Equal(HttpStatusCode.Unauthorized, await RefreshStatusAsync(http, alice, login.SessionId, login.RefreshToken));
        Assert.Equal(HttpStatusCode.Unauthorized, await RefreshStatusAsync(http, alice, login.SessionId, second.RefreshToken));
        var refused = await Eventually.ReturnsAsync(
            async () => (await http.CallAsync(HttpMethod.Get, "/api/sync", second.AccessToken)).StatusCode,
            status => status == HttpStatusCode.Unauthorized, BroadcastPatience);
        Assert.Equal(HttpStatusCode.Unauthorized, refused);
    }

    [Fact]
    public async Task An_edge_started_after_a_logout_refuses_the_logged_out_token()
    {
        var alice = await fixture.NewUserAsync("alice");
        var login = await fixture.LoginAsync(alice);
        using var here = fixture.Http();
        Assert.Equal(HttpStatusCode.NoContent, (await here.CallAsync(HttpMethod.Post, "/api/auth/logout", login.AccessToken)).StatusCode);

        // The broadcast has gone out (the revocation log heard it) before the new edge host starts: it never hears it.
        var log = fixture.Orleans.GetGrain<IRevocationLogGrain>(IRevocationLogGrain.Key);
        await Eventually.UntilAsync(
            () => log.GetSinceAsync(DateTimeOffset.UtcNow.AddMinutes(-5)),
            kept => kept.Any(r => r.UserId == alice && r.SessionId == login.SessionId), BroadcastPatience);
        await using var lateEdge = await fixture.Cluster.StartEdgeAsync(fixture.AuthSettings);
        using var there = fixture.Http(lateEdge.Endpoints.HttpPort);

        // The token has not expired, yet neither the HTTP API nor a long connection of the new edge takes it.
        Assert.Equal(HttpStatusCode.Unauthorized, (await there.CallAsync(HttpMethod.Get, "/api/sync", login.AccessToken)).StatusCode);
        var device = new Client.ImClient(new Client.ImClientOptions
        {
            Port = lateEdge.Endpoints.TcpPort,
            TokenProvider = _ => Task.FromResult(login.AccessToken),
            DeviceId = "phone",
            ReconnectBaseDelay = TimeSpan.FromSeconds(30),
        });
        await using (device)
        {
            await Assert.ThrowsAsync<Client.ImClientException>(() => device.ConnectAsync());
        }

        // A new login is taken there as anywhere.
        var again = await fixture.LoginAsync(alice, port: lateEdge.Endpoints.HttpPort);
        Assert.Equal(HttpStatusCode.OK, (await there.CallAsync(HttpMethod.Get, "/api/sync", again.AccessToken)).StatusCode);
    }

    [Fact]
    public async Task A_session_ended_while_an_edge_missed_the_broadcast_is_refused_there_and_its_connection_closed_at_the_next_check()
    {
        await using var edge = await fixture.Cluster.StartEdgeAsync(
            new Dictionary<string, string>(fixture.AuthSettings) { ["IM__Auth__RevocationRecheckInterval"] = "00:00:01" });
        var alice = await fixture.NewUserAsync("alice");
        var login = await fixture.LoginAsync(alice, port: edge.Endpoints.HttpPort);
        using var http = fixture.Http(edge.Endpoints.HttpPort);
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", login.AccessToken)).StatusCode);
        var device = NewDevice(edge.Endpoints.TcpPort, login.AccessToken);
        await using (device)
        {
            await device.ConnectAsync();

            // The session ends and is recorded, as an account grain records it before its broadcast; the broadcast never
            // reaches this edge (its gateway connection down at the time, the stream's silo lost).
            await using (var database = Npgsql.NpgsqlDataSource.Create(fixture.Cluster.PostgresConnectionString))
            await using (var record = database.CreateCommand("INSERT INTO session_revocations (user_id, session_id, revoked_at) VALUES ($1, $2, now())"))
            {
                record.Parameters.Add(new Npgsql.NpgsqlParameter { Value = alice });
                record.Parameters.Add(new Npgsql.NpgsqlParameter { Value = login.SessionId });
                Assert.Equal(1, await record.ExecuteNonQueryAsync());
            }

            // The edge finds it in the log at its next check: the token is refused, the long connection closed.
            var refused = await Eventually.ReturnsAsync(async () => (await http.CallAsync(HttpMethod.Get, "/api/sync", login.AccessToken)).StatusCode,
                s => s == HttpStatusCode.Unauthorized, BroadcastPatience);
            Assert.Equal(HttpStatusCode.Unauthorized, refused);
            var closed = await Eventually.ReturnsAsync(() => Task.FromResult(device.Status), s => s != Client.ImClientStatus.Connected, BroadcastPatience);
            Assert.NotEqual(Client.ImClientStatus.Connected, closed);
        }
    }

    [Fact]
    public async Task A_connection_mints_tokens_of_its_login_only_while_the_login_lives()
    {
        await using var edge = await fixture.Cluster.StartEdgeAsync(
            new Dictionary<string, string>(fixture.AuthSettings) { ["IM__Auth__ConnectionTokensDieWithConnection"] = "false" });
        var alice = await fixture.NewUserAsync("alice");
        var login = await fixture.LoginAsync(alice, port: edge.Endpoints.HttpPort);

        var live = NewDevice(edge.Endpoints.TcpPort, login.AccessToken);
        await using (live)
        {
            await live.ConnectAsync();
            var issued = await live.GetConnectionTokenAsync();
            Assert.False(issued.BoundToConnection);
        }

        // A token of a login the account does not have (ended where this edge did not hear of it): signed in, the
        // connection is refused further tokens of it.
        var ended = NewDevice(edge.Endpoints.TcpPort, fixture.Tokens.Issue(alice, "an-ended-login"));
        await using (ended)
        {
            await ended.ConnectAsync();
            await Assert.ThrowsAsync<Client.ImClientException>(() => ended.GetConnectionTokenAsync());
        }
    }

    private static Client.ImClient NewDevice(int port, string token) => new(new Client.ImClientOptions
    {
        Port = port,
        TokenProvider = _ => Task.FromResult(token),
        DeviceId = "phone",
        ReconnectBaseDelay = TimeSpan.FromSeconds(30),
    });

    private static async Task<TokenResponse> RefreshAsync(HttpClient http, string userId, string sessionId, string refreshToken)
    {
        using var response = await http.PostAsJsonAsync("/api/auth/refresh", new RefreshBody(userId, sessionId, refreshToken), ApiCalls.Json);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<TokenResponse>(ApiCalls.Json))!;
    }

    private static async Task<HttpStatusCode> RefreshStatusAsync(HttpClient http, string userId, string sessionId, string refreshToken)
    {
        using var response = await http.PostAsJsonAsync("/api/auth/refresh", new RefreshBody(userId, sessionId, refreshToken), ApiCalls.Json);
        return response.StatusCode;
    }

    [Fact]
    public async Task Disabling_an_account_ends_all_its_sessions_and_its_logins()
    {
        var alice = await fixture.NewUserAsync("alice");
        var web = await fixture.LoginAsync(alice, "web");
        var phone = await fixture.LoginAsync(alice, "phone");
        using var http = fixture.Http();

        using (var disable = await fixture.AdminCallAsync(HttpMethod.Post, $"/api/admin/accounts/{alice}/disable"))
        {
            Assert.Equal(HttpStatusCode.NoContent, disable.StatusCode);
        }

        foreach (var token in new[] { web.AccessToken, phone.AccessToken })
        {
            var status = await Eventually.ReturnsAsync(async () => (await http.CallAsync(HttpMethod.Get, "/api/sync", token)).StatusCode, s => s == HttpStatusCode.Unauthorized, BroadcastPatience);
            Assert.Equal(HttpStatusCode.Unauthorized, status);
        }

        using var login = await http.PostAsJsonAsync("/api/auth/login", new LoginBody(alice, ApiCalls.Password), ApiCalls.Json);
        Assert.Equal(HttpStatusCode.Unauthorized, login.StatusCode);
    }

    [Fact]
    public async Task Admin_endpoints_need_the_api_key()
    {
        using var http = fixture.Http();
        using var anonymous = await http.PostAsJsonAsync("/api/admin/accounts", new CreateAccountBody(Ids.User("x"), "x", "password"), ApiCalls.Json);
        using var wrongKey = await fixture.AdminCallAsync(HttpMethod.Post, "/api/admin/accounts", new CreateAccountBody(Ids.User("x"), "x", "password"), apiKey: "not-the-key");
        var user = await fixture.NewUserAsync("user");
        using var asUser = await http.CallAsync(HttpMethod.Post, "/api/admin/accounts", (await fixture.LoginAsync(user)).AccessToken, new CreateAccountBody(Ids.User("x"), "x", "password"));

        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized], new[] { anonymous.StatusCode, wrongKey.StatusCode, asUser.StatusCode });
    }

    [Fact]
    public async Task A_user_sending_faster_than_the_per_user_limit_gets_a_clear_error()
    {
        await using var limited = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            // A burst of 3 and (nearly) no refill: at 0.5/s a fourth send that came 2 s after the first, on a loaded
            // machine, found a new token and was not refused.
            ["IM__Edge__UserSendRatePerSecond"] = "0.01",
            ["IM__Edge__UserSendBurst"] = "3",
        });
        var alice = await fixture.NewUserAsync("alice");
        var token = (await fixture.LoginAsync(alice, port: limited.Endpoints.HttpPort)).AccessToken;
        using var http = fixture.Http(limited.Endpoints.HttpPort);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            // Different conversations: the limit is per user, across all of them.
            using var response = await http.CallAsync(HttpMethod.Post, $"/api/conversations/{ApiCalls.Path(GrainKeys.P2P(alice, Ids.User("peer")))}/messages", token,
                new SendBody(Ids.ClientMsgId(), new ContentBody(Messages.ContentType.Text, $"m{i}")));
            statuses.Add(response.StatusCode);
            if (i == 3)
            {
                Assert.Equal("rate_limited", await response.ProblemCodeAsync());
            }
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task An_admin_kick_disconnects_every_device_of_the_user_who_can_log_in_again()
    {
        var alice = await fixture.NewUserAsync("alice");
        var login = await fixture.LoginAsync(alice);
        using var http = fixture.Http();
        using (var kick = await fixture.AdminCallAsync(HttpMethod.Post, $"/api/admin/accounts/{alice}/kick"))
        {
            Assert.Equal(HttpStatusCode.NoContent, kick.StatusCode);
        }

        var status = await Eventually.ReturnsAsync(async () => (await http.CallAsync(HttpMethod.Get, "/api/sync", login.AccessToken)).StatusCode, s => s == HttpStatusCode.Unauthorized, BroadcastPatience);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        var again = await fixture.LoginAsync(alice);
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", again.AccessToken)).StatusCode);
    }

    [Fact]
    public async Task A_token_issued_over_a_long_connection_dies_with_that_connection()
    {
        var alice = await fixture.NewUserAsync("alice");
        var login = await fixture.LoginAsync(alice);
        using var http = fixture.Http();
        string connectionToken;
        var device = Phone(login);
        await using (device)
        {
            await device.ConnectAsync();
            var issued = await device.GetConnectionTokenAsync();
            Assert.True(issued.BoundToConnection);
            connectionToken = issued.AccessToken;
            Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", connectionToken)).StatusCode);
            Assert.True(await Verify(connectionToken));
        }

        var status = await Eventually.ReturnsAsync(async () => (await http.CallAsync(HttpMethod.Get, "/api/sync", connectionToken)).StatusCode, s => s == HttpStatusCode.Unauthorized, BroadcastPatience);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.False(await Verify(connectionToken));

        // The login itself lives on.
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", login.AccessToken)).StatusCode);
    }

    [Fact]
    public async Task A_connection_keeps_only_its_newest_connection_tokens_alive()
    {
        var alice = await fixture.NewUserAsync("alice");
        var login = await fixture.LoginAsync(alice);
        using var http = fixture.Http();
        var device = Phone(login);
        await using (device)
        {
            await device.ConnectAsync();
            var issued = new List<string>();
            for (var i = 0; i <= EdgeHost.Sessions.SessionHub.MaxBoundSessions; i++)
            {
                issued.Add((await device.GetConnectionTokenAsync()).AccessToken);
            }

            // One more than the connection keeps: the first is ended, everywhere; the newest ones and the login live on.
            var first = await Eventually.ReturnsAsync(async () => (await http.CallAsync(HttpMethod.Get, "/api/sync", issued[0])).StatusCode, s => s == HttpStatusCode.Unauthorized, BroadcastPatience);
            Assert.Equal(HttpStatusCode.Unauthorized, first);
            Assert.False(await Verify(issued[0]));
            foreach (var kept in issued.Skip(1))
            {
                Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", kept)).StatusCode);
            }

            Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", login.AccessToken)).StatusCode);
        }
    }

    [Fact]
    public async Task Admin_stats_report_silos_edges_connections_and_messages_per_minute()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        await using var phone = await fixture.ConnectAsync(alice);
        for (var i = 0; i < 5; i++)
        {
            await phone.SendTextAsync(GrainKeys.P2P(alice, bob), $"m{i}");
        }

        using var http = fixture.Http();
        var stats = await Eventually.ReturnsAsync(async () =>
        {
            using var response = await fixture.AdminCallAsync(HttpMethod.Get, "/api/admin/stats");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<Stats.ClusterStats>(ApiCalls.Json))!;
        }, s => s.MessagesPerMinute >= 5 && s.Connections >= 1 && s.OnlineUsers >= 1, TimeSpan.FromSeconds(10));

        Assert.True(stats.Silos >= 1 && stats.EdgeHosts >= 1, $"{stats}");
        Assert.True(stats.Connections >= 1 && stats.OnlineUsers >= 1, $"{stats}");
        Assert.True(stats.MessagesPerMinute >= 5, $"{stats}");
    }

    [Fact]
    public async Task The_admin_api_creates_a_shop_with_its_agents_and_refuses_agents_that_are_not_agent_accounts()
    {
        var agent = Ids.User("agent");
        await fixture.CreateAccountAsync(agent, Accounts.AccountRole.Agent);
        var notAnAgent = await fixture.NewUserAsync("user");
        var shop = Ids.User("shop");
        using var http = fixture.Http();

        Assert.Equal(HttpStatusCode.Created, await Admin(HttpMethod.Post, "/api/admin/shops", new CreateShopBody(shop, "Shop", [agent])));
        Assert.Equal(HttpStatusCode.BadRequest, await Admin(HttpMethod.Put, $"/api/admin/shops/{shop}/agents", new AgentsBody([agent, notAnAgent])));
        Assert.Equal(HttpStatusCode.NotFound, await Admin(HttpMethod.Put, $"/api/admin/shops/{notAnAgent}/agents", new AgentsBody([agent])));
        using var agents = await fixture.AdminCallAsync(HttpMethod.Get, $"/api/admin/shops/{shop}/agents");
        Assert.Equal([agent], await agents.Content.ReadFromJsonAsync<List<string>>(ApiCalls.Json));

        async Task<HttpStatusCode> Admin(HttpMethod method, string path, object body)
        {
            using var answer = await fixture.AdminCallAsync(method, path, body);
            return answer.StatusCode;
        }
    }

    /// <summary>An SDK client of this edge ("phone") signed in with the login's access token; not yet connected.</summary>
    private Client.ImClient Phone(TokenResponse login) => new(new Client.ImClientOptions
    {
        Port = fixture.TcpPort,
        TokenProvider = _ => Task.FromResult(login.AccessToken),
        DeviceId = "phone",
    });

    private async Task<bool> Verify(string token)
    {
        using var response = await fixture.AdminCallAsync(HttpMethod.Post, "/api/auth/verify", new VerifyBody(token));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<VerifyResponse>(ApiCalls.Json))!.Valid;
    }
}
