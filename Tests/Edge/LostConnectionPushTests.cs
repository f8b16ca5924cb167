using System.Net.Sockets;
using Microsoft.AspNetCore.SignalR.Client;
using Orleans.Im.EdgeHost.Hubs;
using Orleans.Im.EdgeHost.Tcp;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// A phone that loses its connection without closing it (its network gone, the app killed with it) was pushed messages
/// into a connection that was dead already: nobody told it. Once the edge finds the connection lost (reset, given up by
/// its kernel, silent past the idle timeout), the phone is notified through offline push of what came since it was last
/// heard from. A connection the phone closes itself is not lost (see <see cref="OfflinePushEdgeTests"/>).
/// </summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class LostConnectionPushTests(EdgeFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_phone_whose_connection_is_reset_is_notified_of_what_was_pushed_since_it_was_last_heard_from()
    {
        var (alice, bob) = (Ids.User("alice"), await fixture.NewUserAsync("bob"));
        var phone = await SignInWithTokenAsync(fixture.TcpPort, bob);
        await using var alicesPhone = await fixture.ConnectAsync(alice);
        var conversation = GrainKeys.P2P(alice, bob);

        // Pushed to Bob's connection (which the test never reads: the phone has no network any more) and then reset.
        var first = await alicesPhone.SendTextAsync(conversation, "are you coming?");
        var second = await alicesPhone.SendTextAsync(conversation, "the train leaves at six");
        await Eventually.UntilAsync(() => fixture.Orleans.GetGrain<IUserGrain>(bob).GetConversationAsync(conversation), e => e?.LastSeq == second.Seq, Patience);
        // Closed at once with a reset (no shutdown first, which would send the edge an orderly close).
        phone.Socket.Close(timeout: 0);
        await phone.DisposeAsync();

        // One notification for the conversation (given a moment for any other): its newest message, both unread on the badge.
        await NotifiedAsync(bob);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var told = Assert.Single(fixture.PushGateway.For(bob));
        Assert.Equal((second.Seq, "phone", "the train leaves at six", 2L), (told.GetProperty("seq").GetInt64(), told.GetProperty("deviceId").GetString(),
            told.GetProperty("preview").GetString(), told.GetProperty("badge").GetInt64()));
        Assert.True(first.Seq < second.Seq);
    }

    [Fact]
    public async Task A_phone_that_takes_no_more_data_is_given_up_by_the_edge_within_the_timeout_and_notified()
    {
        // An edge of its own whose kernel gives a connection up after 5 s of data it cannot deliver (TCP_USER_TIMEOUT, which
        // on this kernel also counts a window that stays shut); its idle timeout and slow-consumer limit are far away, so
        // only the kernel can end the connection.
        await using var edge = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Edge__UnacknowledgedDataTimeout"] = "00:00:05",
            ["IM__Edge__IdleTimeout"] = "00:10:00",
            ["IM__Edge__SlowConsumerTimeout"] = "00:10:00",
        });
        var (alice, bob) = (Ids.User("alice"), await fixture.NewUserAsync("bob"));
        // A small window that nobody reads: the pushes below shut it, and the phone takes no more, as one out of coverage
        // takes nothing at all.
        await using var phone = await SignInWithTokenAsync(edge.Endpoints.TcpPort, bob, receiveBufferBytes: 4096);
        await using var alicesPhone = await fixture.ConnectAsync(alice);
        var conversation = GrainKeys.P2P(alice, bob);
        var bobsUser = fixture.Orleans.GetGrain<IUserGrain>(bob);

        // Text that does not compress (pushes are deflated): 20 × 6 KB is far more than the window, sent at once.
        var sent = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            alicesPhone.SendTextAsync(conversation, $"{i} {Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4500))}")));
        var newest = sent.Max(a => a.Seq);
        Assert.True((await bobsUser.GetDevicesAsync()).Count == 1, "the phone was still connected when the last message was pushed");

        // Given up: the device leaves, and is notified once, of the conversation's newest message.
        await Eventually.UntilAsync(bobsUser.GetDevicesAsync, d => d.Count == 0, Patience);
        Assert.Empty(await bobsUser.GetDevicesAsync());
        await NotifiedAsync(bob);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var told = Assert.Single(fixture.PushGateway.For(bob));
        Assert.Equal((newest, "phone"), (told.GetProperty("seq").GetInt64(), told.GetProperty("deviceId").GetString()));
    }

    [Fact]
    public async Task A_browser_gone_silent_is_notified_without_previews_if_it_asked_and_one_that_leaves_is_not()
    {
        var (alice, bob, carol) = (Ids.User("alice"), await fixture.NewUserAsync("bob"), await fixture.NewUserAsync("carol"));
        await using var alicesPhone = await fixture.ConnectAsync(alice);
        var conversation = GrainKeys.P2P(alice, bob);
        var bobsUser = fixture.Orleans.GetGrain<IUserGrain>(bob);

        // A page that leaves closes its connection: it is not notified of what it was shown just before.
        await using (var leaving = await SignInWebAsync(fixture.Edge.Endpoints.HttpPort, carol, "laptop"))
        {
            var seen = await alicesPhone.SendTextAsync(GrainKeys.P2P(alice, carol), "lunch?");
            await leaving.WaitForAsync(e => e.Type == "message" && e.Seq == seen.Seq, Patience);
            await leaving.Connection.StopAsync();
        }

        await Eventually.UntilAsync(fixture.Orleans.GetGrain<IUserGrain>(carol).GetDevicesAsync, d => d.Count == 0, Patience);
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Empty(fixture.PushGateway.For(carol));

        // A page whose network is gone: nothing from it reaches the edge any more (the proxy swallows it), so the hub's
        // client timeout ends the connection. An edge of its own whose timeout is the least a web client gets (30 s).
        await using var edge = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Edge__IdleTimeout"] = "00:00:30",
            ["IM__Edge__HeartbeatInterval"] = "00:00:10",
        });
        await using var network = new LoopbackProxy(edge.Endpoints.HttpPort);
        var page = await SignInWebAsync(network.Port, bob, "laptop", hidePreviews: true);
        var pushed = await alicesPhone.SendTextAsync(conversation, "the door code is 4711");
        await Eventually.UntilAsync(() => bobsUser.GetConversationAsync(conversation), e => e?.LastSeq == pushed.Seq, Patience);
        network.BlackholeUpstream = true;

        // Its newest unread message (both unread on the badge), without what it says.
        await NotifiedAsync(bob, TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromSeconds(1));
        var told = Assert.Single(fixture.PushGateway.For(bob));
        Assert.Equal((pushed.Seq, "laptop", (string?)null, 1L), (told.GetProperty("seq").GetInt64(), told.GetProperty("deviceId").GetString(),
            told.TryGetProperty("preview", out var preview) ? preview.GetString() : null, told.GetProperty("badge").GetInt64()));
        await page.DisposeAsync();
    }

    [Fact]
    public void The_unacknowledged_data_timeout_is_set_on_a_tcp_socket()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        client.Connect(System.Net.IPAddress.Loopback, ((System.Net.IPEndPoint)listener.LocalEndpoint).Port);
        using var accepted = listener.AcceptSocket();

        if (!OperatingSystem.IsLinux())
        {
            // Linux's option: elsewhere nothing is set, and the idle timeout finds a dead connection.
            Assert.False(TcpUserTimeout.TryApply(accepted, TimeSpan.FromSeconds(30)));
            return;
        }

        Assert.True(TcpUserTimeout.TryApply(accepted, TimeSpan.FromSeconds(30)));
        Assert.Equal(TimeSpan.FromSeconds(30), TcpUserTimeout.Read(accepted));
        Assert.False(TcpUserTimeout.TryApply(accepted, TimeSpan.Zero));
        Assert.False(TcpUserTimeout.TryApply(null, TimeSpan.FromSeconds(30)));
    }
    /// <summary>Bob's phone signed in for real (a token is told only while its login lives), its push token registered
    /// over the connection, which is then never read again.</summary>
    private async Task<RawConnection> SignInWithTokenAsync(int tcpPort, string userId, int? receiveBufferBytes = null)
    {
        var login = await fixture.LoginAsync(userId, "phone");
        var phone = await RawConnection.OpenAsync(tcpPort, receiveBufferBytes);
        await phone.LoginAsync(login.AccessToken, "phone");
        await phone.SendAsync(V1.Op.SetPushToken, 2, new V1.SetPushTokenRequest { Provider = "apns", Token = "apns-" + Guid.NewGuid().ToString("N") });
        Assert.Equal(V1.Op.Result, (await phone.ReadAnswerAsync(TimeSpan.FromSeconds(10)))?.Op);
        Assert.Single(await fixture.Orleans.GetGrain<IUserGrain>(userId).GetPushTokensAsync());
        return phone;
    }

    /// <summary>Bob's web page signed in for real on its own login, its web push subscription registered over the hub.</summary>
    private async Task<HubClient> SignInWebAsync(int httpPort, string userId, string deviceId, bool hidePreviews = false)
    {
        var login = await fixture.LoginAsync(userId, deviceId);
        var page = await HubClient.ConnectAsync(httpPort, login.AccessToken, messagePack: false, deviceId);
        var result = await page.Connection.InvokeAsync<HubResult>(nameof(ChatHub.SetPushTokenWithPrivacy), "webpush", "https://push.example/" + Guid.NewGuid().ToString("N"), hidePreviews);
        Assert.Null(result.Error);
        Assert.Equal(hidePreviews, (await fixture.Orleans.GetGrain<IUserGrain>(userId).GetPushTokensAsync())[deviceId].HidePreviews);
        return page;
    }

    private async Task<IReadOnlyList<System.Text.Json.JsonElement>> NotifiedAsync(string userId, TimeSpan? patience = null)
    {
        var told = await Eventually.ReturnsAsync(() => Task.FromResult(fixture.PushGateway.For(userId)), n => n.Count > 0, patience ?? Patience);
        Assert.NotEmpty(told);
        return told;
    }
}
