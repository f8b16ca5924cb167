using System.Net;
using Orleans.Im.Client;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Edge;

/// <summary>The SDK's sign-in (<see cref="ImSession"/>) against a real edge host: renewal, resuming, and an ended session.</summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Integration")]
public sealed class SdkSessionTests(EdgeFixture fixture)
{
    [Fact]
    public async Task A_session_renews_its_token_before_it_expires_and_a_client_connects_on_the_new_one()
    {
        // Access tokens that live seconds.
        await using var edge = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Auth__AccessTokenLifetime"] = "00:00:05",
        });
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        using var http = fixture.Http(edge.Endpoints.HttpPort);
        using var session = await ImSession.SignInAsync(http, alice, ApiCalls.Password, "phone", "test");
        var renewals = new List<ImSessionTokens>();
        session.TokensChanged += renewals.Add;
        var first = session.Tokens;
        Assert.Equal(first.AccessToken, await session.GetAccessTokenAsync());

        // Past four fifths of its life the next ask renews it; the first token then expires and is refused.
        await Task.Delay(TimeSpan.FromSeconds(4.5));
        var renewed = await session.GetAccessTokenAsync();
        Assert.NotEqual(first.AccessToken, renewed);
        // Each set of tokens was announced once, the sign-in's at the first ask.
        Assert.Equal([first.AccessToken, renewed], renewals.Select(t => t.AccessToken));
        Assert.NotEqual(first.RefreshToken, session.Tokens.RefreshToken);
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.CallAsync(HttpMethod.Get, "/api/sync", first.AccessToken)).StatusCode);

        // A client that connects now asks the session, which gives the renewed token, and receives.
        await using var phone = new ImClient(new ImClientOptions
        {
            Port = edge.Endpoints.TcpPort,
            TokenProvider = session.GetAccessTokenAsync,
            DeviceId = "phone",
        });
        await phone.ConnectAsync();
        await using var bobPhone = await fixture.ConnectAsync(bob);
        await bobPhone.SendTextAsync(GrainKeys.P2P(alice, bob), "after the renewal");
        Assert.Equal("after the renewal", Assert.Single(await phone.TakeAsync(1)).Content.Text);
    }

    [Fact]
    public async Task A_resumed_session_renews_at_once_and_an_ended_one_says_so()
    {
        var alice = await fixture.NewUserAsync("alice");
        using var http = fixture.Http();
        using var first = await ImSession.SignInAsync(http, alice, ApiCalls.Password, "phone", "test");

        // The app restarts with the kept tokens: its first ask renews them, and they work.
        using var resumed = ImSession.Resume(http, first.Tokens);
        var token = await resumed.GetAccessTokenAsync();
        Assert.NotEqual(first.Tokens.RefreshToken, resumed.Tokens.RefreshToken);
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", token)).StatusCode);

        // Signed out from another device: a later renewal is refused, and the session says it has ended.
        var web = await fixture.LoginAsync(alice, "web");
        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Delete, $"/api/me/sessions/{resumed.Tokens.SessionId}", web.AccessToken)).StatusCode);
        using var again = ImSession.Resume(http, resumed.Tokens);
        var ended = await Assert.ThrowsAsync<ImAuthException>(() => again.GetAccessTokenAsync());
        Assert.Equal((HttpStatusCode.Unauthorized, ImSession.SessionEndedCode), (ended.Status, ended.Code));
        Assert.True(again.Ended);
        await Assert.ThrowsAsync<ImAuthException>(() => again.GetAccessTokenAsync());
    }

    [Fact]
    public async Task Signing_out_with_a_token_an_edge_refuses_though_unexpired_renews_and_ends_the_login()
    {
        // An edge that signs with another key (a rotation half done): it refuses the token the first edge issued, which
        // by the device's clock is well within its life.
        await using var rotated = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Auth__SigningKey"] = EdgeHost.Auth.AccessTokens.NewSigningKey(),
        });
        var alice = await fixture.NewUserAsync("alice");
        var phone = await fixture.LoginAsync(alice, "phone");
        using var http = fixture.Http(rotated.Endpoints.HttpPort);
        using var session = ImSession.Resume(http, new ImSessionTokens(alice, phone.SessionId, phone.AccessToken, phone.RefreshToken, phone.ExpiresAt));

        // Its text names the session, never its tokens (it ends up in logs and test failures).
        Assert.Contains(phone.SessionId, session.Tokens.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(phone.RefreshToken, session.Tokens.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(phone.AccessToken, session.Tokens.ToString(), StringComparison.Ordinal);

        await session.SignOutAsync();

        // Before, any 401 counted as "ended": the login lived on at the server (and its push token with it).
        Assert.True(session.Ended);
        var web = await fixture.LoginAsync(alice, "web");
        using var first = fixture.Http();
        using var sessions = await first.CallAsync(HttpMethod.Get, "/api/me/sessions", web.AccessToken);
        Assert.Equal(HttpStatusCode.OK, sessions.StatusCode);
        Assert.DoesNotContain(phone.SessionId, await sessions.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_renewal_whose_answer_is_lost_is_asked_again_and_the_server_answers_alike()
    {
        var alice = await fixture.NewUserAsync("alice");
        var login = await fixture.LoginAsync(alice, "phone");
        var network = new LosingAnswers { InnerHandler = new HttpClientHandler(), RefreshAnswersToLose = 1 };
        using var http = new HttpClient(network) { BaseAddress = new Uri($"http://127.0.0.1:{fixture.Edge.Endpoints.HttpPort}") };
        using var session = ImSession.Resume(http, new ImSessionTokens(alice, login.SessionId, login.AccessToken, login.RefreshToken, login.ExpiresAt));

        // The renewal reaches the server, which swaps the refresh token; its answer is lost. The kept token serves meanwhile.
        var announced = new TaskCompletionSource<ImSessionTokens>(TaskCreationOptions.RunContinuationsAsynchronously);
        session.TokensChanged += tokens => announced.TrySetResult(tokens);
        Assert.Equal(login.AccessToken, await session.GetAccessTokenAsync());
        Assert.Equal(1, network.Lost);
        Assert.False(session.Ended);

        // Asked again within seconds by the session itself (nothing else asks a connected client's token), with the same
        // refresh token: the server repeats the swap, and the session goes on from there.
        var renewedTokens = await announced.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var renewed = await session.GetAccessTokenAsync();
        Assert.Equal(renewedTokens.AccessToken, renewed);
        Assert.NotEqual(login.AccessToken, renewed);
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", renewed)).StatusCode);
        using var next = ImSession.Resume(http, session.Tokens);
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", await next.GetAccessTokenAsync())).StatusCode);
    }

    [Fact]
    public async Task A_token_an_edge_refused_is_renewed_at_the_next_ask_and_a_revoked_session_says_it_ended()
    {
        var alice = await fixture.NewUserAsync("alice");
        using var http = fixture.Http();
        using var session = await ImSession.SignInAsync(http, alice, ApiCalls.Password, "phone", "test");
        var first = await session.GetAccessTokenAsync();

        // A token that is no longer the current one changes nothing; the current one refused is renewed, not given again.
        await session.TokenRefusedAsync("some older token");
        Assert.Equal(first, await session.GetAccessTokenAsync());
        await session.TokenRefusedAsync(first);
        var renewed = await session.GetAccessTokenAsync();
        Assert.NotEqual(first, renewed);
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", renewed)).StatusCode);

        // Signed out from another device while this one was away: its refused token's renewal says the session ended.
        using var web = await ImSession.SignInAsync(http, alice, ApiCalls.Password, "web", "test");
        Assert.Equal(HttpStatusCode.NoContent,
            (await http.CallAsync(HttpMethod.Delete, $"/api/me/sessions/{session.Tokens.SessionId}", await web.GetAccessTokenAsync())).StatusCode);
        await session.TokenRefusedAsync(renewed);
        var ended = await Assert.ThrowsAsync<ImAuthException>(() => session.GetAccessTokenAsync());
        Assert.Equal((HttpStatusCode.Unauthorized, true), (ended.Status, session.Ended));
    }

    [Fact]
    public async Task A_wrong_password_is_refused_with_the_servers_code()
    {
        var alice = await fixture.NewUserAsync("alice");
        using var http = fixture.Http();

        var refused = await Assert.ThrowsAsync<ImAuthException>(() => ImSession.SignInAsync(http, alice, "not the password", "phone"));

        Assert.Equal((HttpStatusCode.Unauthorized, "invalid_credentials"), (refused.Status, refused.Code));
    }

    /// <summary>A network that delivers refresh requests but loses their answers, as a dropped connection would.</summary>
    private sealed class LosingAnswers : DelegatingHandler
    {
        public int RefreshAnswersToLose { get; set; }

        public int Lost { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (request.RequestUri?.AbsolutePath == "/api/auth/refresh" && RefreshAnswersToLose > 0)
            {
                RefreshAnswersToLose--;
                Lost++;
                response.Dispose();
                throw new HttpRequestException("the answer was lost");
            }

            return response;
        }
    }
}
