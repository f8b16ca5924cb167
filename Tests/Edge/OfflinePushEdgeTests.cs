using Orleans.Im.Client;
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
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversation = GrainKeys.P2P(alice, bob);
        var token = "apns-" + Guid.NewGuid().ToString("N");
        var bobsUser = fixture.Orleans.GetGrain<IUserGrain>(bob);
        await using var alicesPhone = await fixture.ConnectAsync(alice);

        await using (var bobsPhone = await fixture.ConnectAsync(bob))
        {
            await Assert.ThrowsAsync<ImClientException>(() => bobsPhone.SetPushTokenAsync("APNs!", token));
            await bobsPhone.SetPushTokenAsync("apns", token);
            var registered = Assert.Single(await bobsUser.GetPushTokensAsync());
            Assert.Equal(("phone", "apns", token, "session-phone"), (registered.Key, registered.Value.Provider, registered.Value.Token, registered.Value.SessionId));

            // Connected: the message is pushed over the connection, not through the gateway.
            var online = await alicesPhone.SendTextAsync(conversation, "you are online");
            Assert.Equal(online.Seq, (await bobsPhone.NextAsync(m => m.ConversationId == conversation, Patience)).Seq);
        }

        await Eventually.ReturnsAsync(bobsUser.GetDevicesAsync, d => d.Count == 0, Patience);
        var away = await alicesPhone.SendTextAsync(conversation, "where are you?");

        // The user grain tells the gateway in order: the message sent while away is the first and only one.
        var told = await Eventually.ReturnsAsync(() => Task.FromResult(fixture.PushGateway.For(bob)), n => n.Count > 0, Patience);
        var notification = Assert.Single(told);
        Assert.Equal((away.Seq, "phone", token, "where are you?"), (notification.GetProperty("seq").GetInt64(),
            notification.GetProperty("deviceId").GetString(), notification.GetProperty("token").GetString(), notification.GetProperty("preview").GetString()));

        // Back, the phone turns notifications off.
        await using var again = await fixture.ConnectAsync(bob);
        await again.ClearPushTokenAsync();
        Assert.Empty(await bobsUser.GetPushTokensAsync());
    }
}
