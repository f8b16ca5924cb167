using System.Net;
using System.Net.Http.Json;
using Orleans.Im.Accounts;
using Orleans.Im.Messages;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Tests.Infrastructure;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Api;

/// <summary>A user's own devices and password, and an administrator's password reset, over the HTTP API.</summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Integration")]
public sealed class AccountSelfServiceTests(EdgeFixture fixture)
{
    [Fact]
    public async Task A_user_sees_their_devices_and_signs_out_one_of_them_or_all_the_others()
    {
        var alice = await fixture.NewUserAsync("alice");
        var web = await fixture.LoginAsync(alice, "web");
        var phone = await fixture.LoginAsync(alice, "phone");
        var tablet = await fixture.LoginAsync(alice, "tablet");
        var bob = await fixture.LoginAsync(await fixture.NewUserAsync("bob"));
        using var http = fixture.Http();
        await using var phoneConnection = await ConnectAsync(phone, "phone");

        var devices = await SessionsAsync(http, web.AccessToken);
        Assert.Equal(["web", "phone", "tablet"], devices.Select(d => d.DeviceId));
        Assert.Equal([true, false, false], devices.Select(d => d.Current));
        Assert.Equal([web.SessionId, phone.SessionId, tablet.SessionId], devices.Select(d => d.SessionId));
        // Only the phone holds a long connection now.
        Assert.Equal([false, true, false], devices.Select(d => d.ConnectedSince is not null));

        // Somebody else's session is not one of alice's: not found, and not announced.
        using (var other = await http.CallAsync(HttpMethod.Delete, $"/api/me/sessions/{bob.SessionId}", web.AccessToken))
        {
            Assert.Equal((HttpStatusCode.NotFound, "not_found"), (other.StatusCode, await other.ProblemCodeAsync()));
        }

        // One device signed out: its tokens are refused and its connection is closed with a kick.
        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Delete, $"/api/me/sessions/{phone.SessionId}", web.AccessToken)).StatusCode);
        await RefusedAsync(http, phone.AccessToken);

        // Revocations are heard in order: the phone's was, so any about bob's session would have been too.
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", bob.AccessToken)).StatusCode);
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            V1.Event kick;
            do
            {
                kick = await phoneConnection.Events.ReadAsync(cts.Token);
            }
            while (kick.KindCase != V1.Event.KindOneofCase.Kick);
        }

        Assert.Equal(["web", "tablet"], (await SessionsAsync(http, web.AccessToken)).Select(d => d.DeviceId));

        // All the others: only the caller's device is left.
        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Delete, "/api/me/sessions", web.AccessToken)).StatusCode);
        await RefusedAsync(http, tablet.AccessToken);
        Assert.Equal([web.SessionId], (await SessionsAsync(http, web.AccessToken)).Select(d => d.SessionId));
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", web.AccessToken)).StatusCode);
    }

    [Fact]
    public async Task A_connections_own_token_speaks_for_its_devices_login()
    {
        var alice = await fixture.NewUserAsync("alice");
        var web = await fixture.LoginAsync(alice, "web");
        var phone = await fixture.LoginAsync(alice, "phone");
        using var http = fixture.Http();
        await using var phoneConnection = await ConnectAsync(phone, "phone");
        var issued = await phoneConnection.GetConnectionTokenAsync();
        Assert.True(issued.BoundToConnection);

        // The connection's session is part of the phone's login, not a device of its own.
        var devices = await SessionsAsync(http, issued.AccessToken);
        Assert.Equal([(web.SessionId, false), (phone.SessionId, true)], devices.Select(d => (d.SessionId, d.Current)));

        // "Sign out the others" from the connection keeps the whole phone: its login and the connection's token.
        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Delete, "/api/me/sessions", issued.AccessToken)).StatusCode);
        await RefusedAsync(http, web.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", issued.AccessToken)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", phone.AccessToken)).StatusCode);
    }

    [Fact]
    public async Task Logging_out_with_a_connections_token_signs_out_its_devices_login()
    {
        var alice = await fixture.NewUserAsync("alice");
        var web = await fixture.LoginAsync(alice, "web");
        var phone = await fixture.LoginAsync(alice, "phone");
        using var http = fixture.Http();
        await using var phoneConnection = await ConnectAsync(phone, "phone");
        var issued = await phoneConnection.GetConnectionTokenAsync();

        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Post, "/api/auth/logout", issued.AccessToken)).StatusCode);

        // The whole phone is signed out: the connection's token, the login's access token and its refresh token.
        await RefusedAsync(http, issued.AccessToken);
        await RefusedAsync(http, phone.AccessToken);
        using (var refresh = await http.PostAsJsonAsync("/api/auth/refresh", new RefreshBody(alice, phone.SessionId, phone.RefreshToken), ApiCalls.Json))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refresh.StatusCode);
        }

        // The web page is another device.
        Assert.Equal([web.SessionId], (await SessionsAsync(http, web.AccessToken)).Select(d => d.SessionId));
    }

    [Fact]
    public async Task A_password_change_that_raced_a_reset_does_not_overwrite_it()
    {
        var alice = await fixture.NewUserAsync("alice");
        var account = fixture.Orleans.GetGrain<IAccountGrain>(alice);
        var checkedHash = (await account.GetCredentialsAsync())!.PasswordHash!;
        Assert.True(await account.SetPasswordAsync("the admin's reset", keepSessionId: null));

        Assert.Equal(AccessStatus.Conflict, await account.SetPasswordAsync("the user's change", null, checkedHash));
        Assert.Equal("the admin's reset", (await account.GetCredentialsAsync())!.PasswordHash);
        Assert.Equal(AccessStatus.Ok, await account.SetPasswordAsync("the user's change", null, "the admin's reset"));
        Assert.Equal("the user's change", (await account.GetCredentialsAsync())!.PasswordHash);
    }

    [Fact]
    public async Task A_user_changes_their_password_and_their_other_devices_are_signed_out()
    {
        var alice = await fixture.NewUserAsync("alice");
        var web = await fixture.LoginAsync(alice, "web");
        var phone = await fixture.LoginAsync(alice, "phone");
        using var http = fixture.Http();
        const string NewPassword = "battery staple";

        // A borrowed token is not enough: the current password must be right (a wrong one is not "unauthenticated",
        // which would sign a web page out).
        using (var wrong = await http.CallAsync(HttpMethod.Put, "/api/me/password", web.AccessToken, new PasswordChangeBody("guess", NewPassword)))
        {
            Assert.Equal((HttpStatusCode.Forbidden, "wrong_password"), (wrong.StatusCode, await wrong.ProblemCodeAsync()));
        }

        using (var tooShort = await http.CallAsync(HttpMethod.Put, "/api/me/password", web.AccessToken, new PasswordChangeBody(ApiCalls.Password, "abc")))
        {
            Assert.Equal((HttpStatusCode.BadRequest, "invalid_request"), (tooShort.StatusCode, await tooShort.ProblemCodeAsync()));
        }

        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", phone.AccessToken)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent,
            (await http.CallAsync(HttpMethod.Put, "/api/me/password", web.AccessToken, new PasswordChangeBody(ApiCalls.Password, NewPassword))).StatusCode);

        await RefusedAsync(http, phone.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Get, "/api/sync", web.AccessToken)).StatusCode);
        using (var refreshed = await http.PostAsJsonAsync("/api/auth/refresh", new RefreshBody(alice, web.SessionId, web.RefreshToken), ApiCalls.Json))
        {
            Assert.Equal(HttpStatusCode.OK, refreshed.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await LoginStatusAsync(http, alice, ApiCalls.Password));
        Assert.Equal(HttpStatusCode.OK, await LoginStatusAsync(http, alice, NewPassword));
    }

    [Fact]
    public async Task An_admin_sets_a_forgotten_password_and_every_session_ends()
    {
        var alice = await fixture.NewUserAsync("alice");
        var web = await fixture.LoginAsync(alice, "web");
        using var http = fixture.Http();
        const string NewPassword = "reset by the helpdesk";

        using (var tooShort = await fixture.AdminCallAsync(HttpMethod.Put, $"/api/admin/accounts/{alice}/password", new PasswordResetBody("abc")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, tooShort.StatusCode);
        }

        using (var unknown = await fixture.AdminCallAsync(HttpMethod.Put, $"/api/admin/accounts/{Ids.User("nobody")}/password", new PasswordResetBody(NewPassword)))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        using (var anonymous = await http.CallAsync(HttpMethod.Put, $"/api/admin/accounts/{alice}/password", web.AccessToken, new PasswordResetBody(NewPassword)))
        {
            // A user's token is not the admin key.
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        using (var reset = await fixture.AdminCallAsync(HttpMethod.Put, $"/api/admin/accounts/{alice}/password", new PasswordResetBody(NewPassword)))
        {
            Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);
        }

        await RefusedAsync(http, web.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginStatusAsync(http, alice, ApiCalls.Password));
        Assert.Equal(HttpStatusCode.OK, await LoginStatusAsync(http, alice, NewPassword));
    }

    [Fact]
    public async Task A_login_whose_password_check_raced_a_password_change_does_not_start()
    {
        var alice = await fixture.NewUserAsync("alice");
        var account = fixture.Orleans.GetGrain<IAccountGrain>(alice);
        var checkedHash = (await account.GetCredentialsAsync())!.PasswordHash;
        Assert.True(await account.SetPasswordAsync("another hash", keepSessionId: null));

        var now = DateTimeOffset.UtcNow;
        Assert.False(await account.StartSessionAsync(NewSession("late", now), checkedHash));
        Assert.True(await account.StartSessionAsync(NewSession("fresh", now), "another hash"));
        Assert.Equal(["fresh"], (await account.GetSessionsAsync()).Select(s => s.SessionId));

        // Nor does a connection's session whose login ended meanwhile (its kick still on the way).
        Assert.True(await account.StartSessionAsync(NewSession("c-of-fresh", now, parent: "fresh")));
        await account.EndSessionAsync("fresh");
        Assert.False(await account.StartSessionAsync(NewSession("c-late", now, parent: "fresh")));
        Assert.Empty(await account.GetSessionsAsync());
    }

    [Fact]
    public async Task Beyond_the_session_cap_connection_sessions_give_way_first_and_a_new_sessions_own_login_never()
    {
        var alice = await fixture.NewUserAsync("alice");
        var account = fixture.Orleans.GetGrain<IAccountGrain>(alice);
        var start = DateTimeOffset.UtcNow;
        Assert.True(await account.StartSessionAsync(NewSession("oldest", start)));
        for (var i = 1; i < AccountGrain.MaxSessions - 1; i++)
        {
            Assert.True(await account.StartSessionAsync(NewSession($"login-{i}", start.AddSeconds(i))));
        }

        Assert.True(await account.StartSessionAsync(NewSession("c-of-login-1", start.AddSeconds(60), parent: "login-1")));
        Assert.Equal(AccountGrain.MaxSessions, (await account.GetSessionsAsync()).Count);

        // Full: a connection of the oldest login pushes out the other connection session, not a login.
        Assert.True(await account.StartSessionAsync(NewSession("c-of-oldest", start.AddSeconds(61), parent: "oldest")));
        var ids = (await account.GetSessionsAsync()).Select(s => s.SessionId).ToList();
        Assert.Contains("oldest", ids);
        Assert.Contains("login-1", ids);
        Assert.DoesNotContain("c-of-login-1", ids);

        // A new login: the remaining connection session gives way, every login stays.
        Assert.True(await account.StartSessionAsync(NewSession("newest", start.AddSeconds(62))));
        ids = [.. (await account.GetSessionsAsync()).Select(s => s.SessionId)];
        Assert.Equal((true, false, true), (ids.Contains("oldest"), ids.Contains("c-of-oldest"), ids.Contains("newest")));

        // Only logins left: a connection of the oldest login pushes out the oldest other one, never its own.
        Assert.True(await account.StartSessionAsync(NewSession("c2-of-oldest", start.AddSeconds(63), parent: "oldest")));
        ids = [.. (await account.GetSessionsAsync()).Select(s => s.SessionId)];
        Assert.Equal((true, false, true), (ids.Contains("oldest"), ids.Contains("login-1"), ids.Contains("c2-of-oldest")));
        Assert.Equal(AccountGrain.MaxSessions, ids.Count);
    }

    [Fact]
    public async Task Beyond_the_session_cap_the_login_used_least_recently_gives_way_not_the_oldest_one_still_renewed()
    {
        var alice = await fixture.NewUserAsync("alice");
        var account = fixture.Orleans.GetGrain<IAccountGrain>(alice);
        // The phone signed in first and renews; browser tabs signed in since and were closed. (Within a day: the test
        // sessions' refresh tokens last one.)
        var start = DateTimeOffset.UtcNow.AddHours(-10);
        Assert.True(await account.StartSessionAsync(NewSession("phone", start)));
        for (var i = 1; i < AccountGrain.MaxSessions; i++)
        {
            Assert.True(await account.StartSessionAsync(NewSession($"tab-{i}", start.AddMinutes(i))));
        }

        Assert.NotNull(await account.RefreshSessionAsync("phone", "not a token's hash", "renewed", DateTimeOffset.UtcNow.AddDays(30)));

        Assert.True(await account.StartSessionAsync(NewSession("new-tab", DateTimeOffset.UtcNow)));
        var ids = (await account.GetSessionsAsync()).Select(s => s.SessionId).ToList();
        Assert.Equal((true, false, true), (ids.Contains("phone"), ids.Contains("tab-1"), ids.Contains("new-tab")));
        Assert.Equal(AccountGrain.MaxSessions, ids.Count);
    }

    [Fact]
    public async Task A_connection_session_issued_under_another_connections_session_ends_with_their_login()
    {
        var alice = await fixture.NewUserAsync("alice");
        var account = fixture.Orleans.GetGrain<IAccountGrain>(alice);
        var start = DateTimeOffset.UtcNow;
        Assert.True(await account.StartSessionAsync(NewSession("login", start)));
        Assert.True(await account.StartSessionAsync(NewSession("c1", start.AddSeconds(1), parent: "login")));
        // A connection that logged in with c1's token asks for a session of its own: it hangs from the login too.
        Assert.True(await account.StartSessionAsync(NewSession("c2", start.AddSeconds(2), parent: "c1")));
        Assert.Equal("login", (await account.GetSessionsAsync()).Single(s => s.SessionId == "c2").ParentSessionId);

        var ended = await account.EndLoginAsync("login");
        Assert.Equal(["c1", "c2", "login"], ended.Order());
        Assert.False(await account.IsSessionLiveAsync("c2"));
    }

    private static LoginSession NewSession(string id, DateTimeOffset createdAt, string? parent = null) =>
        new(id, "device-" + id, "test", "not a token's hash", createdAt.AddDays(1), createdAt, ParentSessionId: parent);

    /// <summary>A long connection of a login (it does not reconnect by itself within a test).</summary>
    private async Task<Client.ImClient> ConnectAsync(TokenResponse login, string deviceId)
    {
        var client = new Client.ImClient(new Client.ImClientOptions
        {
            Port = fixture.TcpPort,
            TokenProvider = _ => Task.FromResult(login.AccessToken),
            DeviceId = deviceId,
            ReconnectBaseDelay = TimeSpan.FromSeconds(30),
        });
        await client.ConnectAsync();
        return client;
    }

    [Fact]
    public async Task A_device_registers_its_push_token_for_itself_only_and_loses_it_when_signed_out()
    {
        var alice = await fixture.NewUserAsync("alice");
        var web = await fixture.LoginAsync(alice, "web");
        var phone = await fixture.LoginAsync(alice, "phone");
        using var http = fixture.Http();

        // Not a token a gateway could use: refused.
        using (var bad = await http.CallAsync(HttpMethod.Put, "/api/me/push-token", phone.AccessToken, new PushTokenBody("APNs", "x")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        // The token is the calling device's: the phone's login names the device, not the body.
        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Put, "/api/me/push-token", phone.AccessToken, new PushTokenBody("apns", "phone-token-1"))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Put, "/api/me/push-token", phone.AccessToken, new PushTokenBody("apns", "phone-token-2", HidePreviews: true))).StatusCode);
        var listed = await PushTokensAsync(http, web.AccessToken);
        Assert.Equal([("phone", "apns", false, true)], listed.Select(t => (t.DeviceId, t.Provider, t.CallersDevice, t.HidePreviews)));
        var stored = Assert.Single(await fixture.Orleans.GetGrain<Orleans.Im.Users.IUserGrain>(alice).GetPushTokensAsync());
        Assert.Equal(("phone", "phone-token-2", phone.SessionId, true), (stored.Key, stored.Value.Token, stored.Value.SessionId, stored.Value.HidePreviews));

        // The web page turns notifications off for itself: the phone's stays.
        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Delete, "/api/me/push-token", web.AccessToken)).StatusCode);
        Assert.Single(await PushTokensAsync(http, web.AccessToken));

        // The phone signed out from the web page: it is told of nothing more.
        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Delete, $"/api/me/sessions/{phone.SessionId}", web.AccessToken)).StatusCode);
        var left = await Eventually.ReturnsAsync(() => PushTokensAsync(http, web.AccessToken), t => t.Count == 0, TimeSpan.FromSeconds(20));
        Assert.Empty(left);
    }

    private static async Task<List<PushTokenView>> PushTokensAsync(HttpClient http, string token)
    {
        using var response = await http.CallAsync(HttpMethod.Get, "/api/me/push-tokens", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<List<PushTokenView>>(ApiCalls.Json))!;
    }

    private static async Task<List<SessionView>> SessionsAsync(HttpClient http, string token)
    {
        using var response = await http.CallAsync(HttpMethod.Get, "/api/me/sessions", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<List<SessionView>>(ApiCalls.Json))!;
    }

    /// <summary>Waits for the revocation broadcast to reach the edge (about a second; generous on a loaded machine).</summary>
    private static async Task RefusedAsync(HttpClient http, string token)
    {
        var status = await Eventually.ReturnsAsync(
            async () => (await http.CallAsync(HttpMethod.Get, "/api/sync", token)).StatusCode,
            s => s == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    private static async Task<HttpStatusCode> LoginStatusAsync(HttpClient http, string userId, string password)
    {
        using var response = await http.PostAsJsonAsync("/api/auth/login", new LoginBody(userId, password, "web", "test"), ApiCalls.Json);
        return response.StatusCode;
    }
}
