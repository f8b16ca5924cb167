using Orleans.Im.Client;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// Offline push end to end: an SDK client registers its device's push token over TCP, and once it is gone the real silo
/// tells the operator's push gateway (played by the fixture on a loopback port) of the messages it misses.
/// </summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class OfflinePushEdgeTests(EdgeFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_phone_that_registered_its_token_is_told_through_the_gateway_only_while_it_is_away()
    {
        // Bob signs in for real: a token is told of messages only while its login lives.
        var (alice, bob) = (Ids.User("alice"), await fixture.NewUserAsync("bob"));
        var login = await fixture.LoginAsync(bob, "phone");
        var conversation = GrainKeys.P2P(alice, bob);
        var token = "apns-" + Guid.NewGuid().ToString("N");
        var bobsUser = fixture.Orleans.GetGrain<IUserGrain>(bob);
        await using var alicesPhone = await fixture.ConnectAsync(alice);

        await using (var bobsPhone = Phone(login))
        {
            await bobsPhone.ConnectAsync();
            await Assert.ThrowsAsync<ImClientException>(() => bobsPhone.SetPushTokenAsync("APNs!", token));
            await bobsPhone.SetPushTokenAsync("apns", token);
            var registered = Assert.Single(await bobsUser.GetPushTokensAsync());
            Assert.Equal(("phone", "apns", token, login.SessionId), (registered.Key, registered.Value.Provider, registered.Value.Token, registered.Value.SessionId));

            // Connected: the message is pushed over the connection, not through the gateway.
            var online = await alicesPhone.SendTextAsync(conversation, "you are online");
            Assert.Equal(online.Seq, (await bobsPhone.NextAsync(m => m.ConversationId == conversation, Patience)).Seq);
        }

        await Eventually.UntilAsync(bobsUser.GetDevicesAsync, d => d.Count == 0, Patience);
        var away = await alicesPhone.SendTextAsync(conversation, "where are you?");

        // The user grain tells the gateway in order: the message sent while away is the first and only one.
        var told = await Eventually.ReturnsAsync(() => Task.FromResult(fixture.PushGateway.For(bob)), n => n.Count > 0, Patience);
        var notification = Assert.Single(told);
        Assert.Equal((away.Seq, "phone", token, "where are you?"), (notification.GetProperty("seq").GetInt64(),
            notification.GetProperty("deviceId").GetString(), notification.GetProperty("token").GetString(), notification.GetProperty("preview").GetString()));

        // Back, the phone turns notifications off.
        await using var again = Phone(login);
        await again.ConnectAsync();
        await again.ClearPushTokenAsync();
        Assert.Empty(await bobsUser.GetPushTokensAsync());
    }

    /// <summary>An SDK client of the phone on its own login's access token.</summary>
    private ImClient Phone(TokenResponse login) => new(new ImClientOptions
    {
        Port = fixture.TcpPort,
        TokenProvider = _ => Task.FromResult(login.AccessToken),
        DeviceId = "phone",
        Platform = "ios",
        HeartbeatInterval = TimeSpan.FromSeconds(1),
        RequestTimeout = TimeSpan.FromSeconds(10),
    });
}
