using System.Net;
using System.Net.Http.Json;
using Orleans.Im.Contacts;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class PresenceTests(EdgeFixture fixture)
{
    [Fact]
    public async Task A_reconnect_within_the_grace_is_invisible_and_leaving_gives_friends_exactly_one_offline_event()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        Assert.Equal(Messages.AccessStatus.Ok, await fixture.Orleans.GetGrain<IContactsGrain>(alice).RequestAsync(bob, null));
        Assert.Equal(Messages.AccessStatus.Ok, await fixture.Orleans.GetGrain<IContactsGrain>(bob).AcceptAsync(alice));
        await fixture.Orleans.GetGrain<IUserGrain>(alice).SetSharePresenceAsync(true);
        await using var bobPhone = await fixture.ConnectAsync(bob);

        var alicePhone = await fixture.ConnectAsync(alice);
        Assert.Equal("online", (await NextPresenceAsync(bobPhone, TimeSpan.FromSeconds(10)))?.Status);

        // A network switch: the connection drops and comes back well within the grace. Nobody notices.
        alicePhone.DropConnection();
        var reconnected = await Eventually.ReturnsAsync(() => Task.FromResult(alicePhone.ConnectionCount), c => c == 2);
        Assert.Equal(2, reconnected);
        Assert.Null(await NextPresenceAsync(bobPhone, EdgeFixture.PresenceGrace * 2));

        // Leaving for good: after the grace, exactly one offline event.
        await alicePhone.DisposeAsync();
        var offline = await NextPresenceAsync(bobPhone, EdgeFixture.PresenceGrace * 4);
        Assert.Equal("offline", offline?.Status);
        Assert.True(offline!.LastSeenMs > 0);
        Assert.Null(await NextPresenceAsync(bobPhone, EdgeFixture.PresenceGrace * 2));

        // A friend may ask for a list of users' presence (a user's own, or a sharing friend's); devices stay private.
        using var http = fixture.Http();
        var presences = await AskAsync(http, (await fixture.LoginAsync(bob)).AccessToken, alice, bob);
        Assert.Equal([(alice, PresenceStatus.Offline), (bob, PresenceStatus.Online)], presences.Select(p => (p.UserId, p.Status)));
        Assert.All(presences, p => Assert.Empty(p.Devices));
    }

    [Fact]
    public async Task A_user_is_away_when_every_device_is_and_group_peers_who_are_not_friends_hear_it_with_device_details_kept()
    {
        var alice = await fixture.NewUserAsync("alice");
        var carol = await fixture.NewUserAsync("carol");
        var group = GrainKeys.Group(Ids.User("grp"));
        Assert.True((await fixture.Orleans.GetGrain<Orleans.Im.Conversations.IConversationGrain>(group).CreateGroupAsync(
            new Orleans.Im.Groups.CreateGroupRequest(carol, "team", [alice, carol]))).Status == Messages.AccessStatus.Ok);
        await fixture.Orleans.GetGrain<IUserGrain>(alice).SetSharePresenceAsync(true);
        await using var carolPhone = await fixture.ConnectAsync(carol);

        await using var alicePhone = fixture.NewClient(alice, "phone");
        await alicePhone.ConnectAsync();
        await using var aliceDesktop = await fixture.ConnectAsync(alice, "desktop");
        Assert.Equal("online", (await NextPresenceAsync(carolPhone, TimeSpan.FromSeconds(10)))?.Status);

        // One device away is not the user away; all of them is, at once (no grace for this), and back is back.
        await alicePhone.SetPresenceAsync(away: true, networkType: "cellular");
        Assert.Null(await NextPresenceAsync(carolPhone, TimeSpan.FromMilliseconds(500)));
        await aliceDesktop.SetPresenceAsync(away: true);
        Assert.Equal("away", (await NextPresenceAsync(carolPhone, TimeSpan.FromSeconds(10)))?.Status);
        Assert.Equal(PresenceStatus.Away, (await fixture.Orleans.GetGrain<IUserGrain>(alice).GetPresenceAsync()).Status);
        await aliceDesktop.SetPresenceAsync(away: false);
        Assert.Equal("online", (await NextPresenceAsync(carolPhone, TimeSpan.FromSeconds(10)))?.Status);

        // The user grain knows each device's version and network (from login, then as the device says).
        var devices = await fixture.Orleans.GetGrain<IUserGrain>(alice).GetDevicesAsync();
        var phone = Assert.Single(devices, d => d.DeviceId == "phone");
        Assert.Equal(("1.0", "cellular", true), (phone.ClientVersion, phone.NetworkType, phone.Away));
        Assert.False(Assert.Single(devices, d => d.DeviceId == "desktop").Away);
    }

    [Fact]
    public async Task Asking_for_presence_shows_a_sharing_user_to_friends_and_small_group_peers_only_and_never_to_one_they_blocked()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var carol = await fixture.NewUserAsync("carol");
        var dave = await fixture.NewUserAsync("dave");
        var erin = await fixture.NewUserAsync("erin");
        await BefriendAsync(alice, bob);
        await BefriendAsync(erin, bob);
        var group = GrainKeys.Group(Ids.User("grp"));
        Assert.Equal(Messages.AccessStatus.Ok, (await fixture.Orleans.GetGrain<Orleans.Im.Conversations.IConversationGrain>(group).CreateGroupAsync(
            new Orleans.Im.Groups.CreateGroupRequest(carol, "team", [alice, carol]))).Status);
        await fixture.Orleans.GetGrain<IUserGrain>(alice).SetSharePresenceAsync(true);
        await using var alicePhone = await fixture.ConnectAsync(alice);

        // Erin does not share hers: she was online and left, and her friend bob is told neither (nor when).
        await (await fixture.ConnectAsync(erin)).DisposeAsync();
        var erinGone = await Eventually.ReturnsAsync(() => fixture.Orleans.GetGrain<IUserGrain>(erin).GetPresenceAsync(), p => p.LastSeen is not null, TimeSpan.FromSeconds(30));
        Assert.Equal(PresenceStatus.Offline, erinGone.Status);
        using var http = fixture.Http();
        var tokens = new Dictionary<string, string>();
        foreach (var user in new[] { bob, carol, dave, erin })
        {
            tokens[user] = (await fixture.LoginAsync(user)).AccessToken;
        }

        var hidden = Assert.Single(await AskAsync(http, tokens[bob], erin));
        Assert.Equal((PresenceStatus.Hidden, null), (hidden.Status, hidden.LastSeen));
        // Her own she sees, whether or not she shares it.
        Assert.Equal(erinGone.LastSeen, Assert.Single(await AskAsync(http, tokens[erin], erin)).LastSeen);

        // Alice shares hers, with those the pushes tell: a friend and a small group's member, not a stranger.
        Assert.Equal(PresenceStatus.Online, Assert.Single(await AskAsync(http, tokens[bob], alice)).Status);
        Assert.Equal(PresenceStatus.Online, Assert.Single(await AskAsync(http, tokens[carol], alice)).Status);
        Assert.Equal(PresenceStatus.Hidden, Assert.Single(await AskAsync(http, tokens[dave], alice)).Status);

        // Alice blocks bob: her friend though he is, he no longer sees hers; carol still does.
        Assert.True(await fixture.Orleans.GetGrain<Accounts.IAccountGrain>(alice).BlockAsync(bob));
        Assert.Equal(PresenceStatus.Hidden, Assert.Single(await AskAsync(http, tokens[bob], alice)).Status);
        var seenByCarol = await AskAsync(http, tokens[carol], alice, carol);
        Assert.Equal([(alice, PresenceStatus.Online), (carol, PresenceStatus.Offline)], seenByCarol.Select(p => (p.UserId, p.Status)));
        Assert.All(seenByCarol, p => Assert.Empty(p.Devices));
    }

    private async Task BefriendAsync(string user, string friend)
    {
        Assert.Equal(Messages.AccessStatus.Ok, await fixture.Orleans.GetGrain<IContactsGrain>(user).RequestAsync(friend, null));
        Assert.Equal(Messages.AccessStatus.Ok, await fixture.Orleans.GetGrain<IContactsGrain>(friend).AcceptAsync(user));
    }

    private static async Task<List<UserPresence>> AskAsync(HttpClient http, string token, params string[] userIds)
    {
        using var response = await http.CallAsync(HttpMethod.Get, $"/api/presence?userIds={string.Join(',', userIds)}", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<List<UserPresence>>(ApiCalls.Json))!;
    }

    /// <summary>The next presence event, or null when none comes within the wait.</summary>
    private static async Task<V1.Presence?> NextPresenceAsync(Client.ImClient client, TimeSpan wait)
    {
        using var cts = new CancellationTokenSource(wait);
        try
        {
            while (true)
            {
                var pushed = await client.Events.ReadAsync(cts.Token);
                if (pushed.KindCase == V1.Event.KindOneofCase.Presence)
                {
                    return pushed.Presence;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }
}
