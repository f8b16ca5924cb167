using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Orleans.Im.Contacts;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Api;

[Collection(EdgeGroup.Name)]
[Trait("Category", "Integration")]
public sealed class FriendsTests(EdgeFixture fixture)
{
    [Fact]
    public async Task Requests_acceptance_and_removal_show_up_exactly_in_incremental_sync()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var carol = await fixture.NewUserAsync("carol");
        var aliceToken = (await fixture.LoginAsync(alice)).AccessToken;
        var bobToken = (await fixture.LoginAsync(bob)).AccessToken;
        using var http = fixture.Http();

        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Post, $"/api/friends/{bob}/request", aliceToken, new FriendRequestBody("hi, it's alice"))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Post, $"/api/friends/{carol}/request", aliceToken, new FriendRequestBody(null))).StatusCode);
        var bobView = await Changes(bobToken, 0);
        var incoming = Assert.Single(bobView.Changed);
        Assert.Equal((alice, ContactState.Incoming, "hi, it's alice"), (incoming.UserId, incoming.State, incoming.Message));

        var before = await Changes(aliceToken, 0);
        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Post, $"/api/friends/{alice}/accept", bobToken)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Delete, $"/api/friends/{carol}", aliceToken)).StatusCode);

        var changed = await Changes(aliceToken, before.Version);
        Assert.Equal([(bob, ContactState.Friend), (carol, ContactState.None)], changed.Changed.Select(c => (c.UserId, c.State)));
        Assert.Empty((await Changes(aliceToken, changed.Version)).Changed);
        Assert.Equal([(bob, ContactState.Friend)], (await Changes(aliceToken, 0)).Changed.Select(c => (c.UserId, c.State)));
    }

    [Fact]
    public async Task A_user_who_is_blocked_cannot_send_a_friend_request()
    {
        var alice = await fixture.NewUserAsync("alice");
        var mallory = await fixture.NewUserAsync("mallory");
        var aliceToken = (await fixture.LoginAsync(alice)).AccessToken;
        var malloryToken = (await fixture.LoginAsync(mallory)).AccessToken;
        using var http = fixture.Http();
        await http.CallAsync(HttpMethod.Put, $"/api/me/blocked/{mallory}", aliceToken);

        using var refused = await http.CallAsync(HttpMethod.Post, $"/api/friends/{alice}/request", malloryToken, new FriendRequestBody("let me in"));

        Assert.Equal((HttpStatusCode.Forbidden, "not_allowed"), (refused.StatusCode, await refused.ProblemCodeAsync()));
        Assert.Empty((await Changes(aliceToken, 0)).Changed);
    }

    [Fact]
    public async Task Two_users_asking_each_other_become_friends()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var aliceToken = (await fixture.LoginAsync(alice)).AccessToken;
        var bobToken = (await fixture.LoginAsync(bob)).AccessToken;
        using var http = fixture.Http();

        await Task.WhenAll(
            http.CallAsync(HttpMethod.Post, $"/api/friends/{bob}/request", aliceToken, new FriendRequestBody(null)),
            http.CallAsync(HttpMethod.Post, $"/api/friends/{alice}/request", bobToken, new FriendRequestBody(null)));

        Assert.Equal(ContactState.Friend, Assert.Single((await Changes(aliceToken, 0)).Changed).State);
        Assert.Equal(ContactState.Friend, Assert.Single((await Changes(bobToken, 0)).Changed).State);
    }

    [Fact]
    public async Task A_request_is_pushed_to_the_recipients_app_and_web_page_with_the_version_to_fetch_up_to()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var aliceToken = (await fixture.LoginAsync(alice)).AccessToken;
        var bobToken = (await fixture.LoginAsync(bob)).AccessToken;
        await using var bobPhone = await fixture.ConnectAsync(bob);
        await using var bobPage = await HubClient.ConnectAsync(fixture.Edge.Endpoints.HttpPort, bobToken, messagePack: false);
        // As a page does at its start: a hub call is served only once the connection's device is registered (the client's
        // start returns at the handshake, before), so nothing pushed from now on can miss it.
        await bobPage.Connection.InvokeAsync<SyncResponse>("Sync", 0L);
        using var http = fixture.Http();

        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Post, $"/api/friends/{bob}/request", aliceToken, new FriendRequestBody("hi"))).StatusCode);

        // Told at once, where before they learned of it only by asking; the version brings the request.
        var version = (await Changes(bobToken, 0)).Version;
        var pushed = await bobPage.WaitForAsync(e => e.Type == "contacts");
        Assert.Equal(version, pushed.Version);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var onPhone = await bobPhone.Events.ReadAllAsync(timeout.Token).FirstAsync(e => e.Contacts is not null, timeout.Token);
        Assert.Equal(version, onPhone.Contacts.Version);
        Assert.Equal(alice, Assert.Single((await Changes(bobToken, 0)).Changed).UserId);
    }

    private async Task<ContactChanges> Changes(string token, long updatedAfter)
    {
        using var http = fixture.Http();
        using var response = await http.CallAsync(HttpMethod.Get, $"/api/friends?updatedAfter={updatedAfter}", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<ContactChanges>(ApiCalls.Json))!;
    }
}
