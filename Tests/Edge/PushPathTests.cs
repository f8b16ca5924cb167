using System.Net;
using Orleans.Im.Client;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Protocol.V1;
using Orleans.Im.Tests.Infrastructure;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// Both push paths in one cluster: the fixture's edge takes pushes by direct calls to its observer (the default), a
/// second edge subscribes to user streams (<c>IM__Edge__PushPath=Stream</c>), as during a rolling change of the setting.
/// A user with a device on each gets every push on both; kicks and own-device copies cross between the paths.
/// </summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class PushPathTests(EdgeFixture fixture)
{
    [Fact]
    public async Task Devices_on_an_observer_edge_and_a_stream_edge_get_every_push_and_kicks_cross_between_them()
    {
        await using var streamEdge = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Edge__PushPath"] = "Stream",
            ["IM__Edge__UserSendRatePerSecond"] = "100000",
            ["IM__Edge__UserSendBurst"] = "100000",
        });
        try
        {
            var (alice, bob, carol) = (Ids.User("alice"), Ids.User("bob"), Ids.User("carol"));
            await using var alicePhone = await ConnectAsync(alice, "phone", "ios", fixture.TcpPort);
            await using var aliceLaptop = await ConnectAsync(alice, "laptop", "linux", streamEdge.Endpoints.TcpPort);
            await using var bobPhone = await ConnectAsync(bob, "phone", "android", streamEdge.Endpoints.TcpPort);
            await using var carolPhone = await ConnectAsync(carol, "phone", "ios", fixture.TcpPort);

            // To alice from each path: both her devices get both messages, by push (a lost push would wait for the
            // one-minute catch-up, far past the wait here).
            var fromCarol = await carolPhone.SendTextAsync(GrainKeys.P2P(alice, carol), "from the observer edge");
            var fromBob = await bobPhone.SendTextAsync(GrainKeys.P2P(alice, bob), "from the stream edge");
            Assert.Equal((SendStatus.Sent, SendStatus.Sent), (fromCarol.Status, fromBob.Status));
            foreach (var device in new[] { alicePhone, aliceLaptop })
            {
                var texts = (await device.TakeAsync(2)).Select(m => m.Content.Text).Order(StringComparer.Ordinal);
                Assert.Equal(["from the observer edge", "from the stream edge"], texts);
            }

            // Alice's phone (observer edge) to bob (stream edge): bob gets it (after his own first message, known from
            // its ack), her laptop gets the copy, and her phone has it from its ack.
            var reply = await alicePhone.SendTextAsync(GrainKeys.P2P(alice, bob), "back to bob");
            Assert.Equal(2, reply.Seq);
            Assert.Equal(["from the stream edge", "back to bob"], (await bobPhone.TakeAsync(2)).Select(m => m.Content.Text));
            Assert.Equal("back to bob", Assert.Single(await aliceLaptop.TakeAsync(1)).Content.Text);
            Assert.Equal("back to bob", Assert.Single(await alicePhone.TakeAsync(1)).Content.Text);
            await alicePhone.AssertNoMoreAsync(TimeSpan.FromMilliseconds(500));
            await aliceLaptop.AssertNoMoreAsync(TimeSpan.FromMilliseconds(500));

            // Read diffusion (an official account): a broadcast goes from the account's conversation straight to both
            // edges, by the routes alice's user grain gave it (one per edge), not through her user grain.
            var account = Ids.User("pub");
            using (var setup = await fixture.AdminCallAsync(HttpMethod.Put, $"/api/admin/public-accounts/{account}", new PublicAccountBody("News", [carol])))
            {
                Assert.Equal(HttpStatusCode.OK, setup.StatusCode);
            }

            await aliceLaptop.SubscribeAsync(account);
            var broadcast = await carolPhone.SendTextAsync(GrainKeys.PublicAccount(account), "news for subscribers");
            Assert.Equal(SendStatus.Sent, broadcast.Status);
            foreach (var device in new[] { alicePhone, aliceLaptop })
            {
                var pushed = Assert.Single(await device.TakeAsync(1));
                Assert.Equal((GrainKeys.PublicAccount(account), "news for subscribers"), (pushed.ConversationId, pushed.Content.Text));
            }

            // A second mobile device on the stream edge kicks the phone on the observer edge, and the other way round.
            await using var aliceAndroid = await ConnectAsync(alice, "android", "android", streamEdge.Endpoints.TcpPort);
            await AssertKickedAsync(alicePhone);
            await using var aliceIpad = await ConnectAsync(alice, "ipad", "ios", fixture.TcpPort);
            await AssertKickedAsync(aliceAndroid);
        }
        finally
        {
            await streamEdge.Process.KillAsync();
        }
    }

    private static async Task AssertKickedAsync(ImClient device)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        V1.Event kick;
        do
        {
            kick = await device.Events.ReadAsync(cts.Token);
        }
        while (kick.KindCase != V1.Event.KindOneofCase.Kick);
        Assert.Contains("mobile", kick.Kick.Reason, StringComparison.Ordinal);
    }

    private async Task<ImClient> ConnectAsync(string userId, string deviceId, string platform, int port)
    {
        var client = fixture.NewClient(userId, deviceId, port, platform: platform);
        await client.ConnectAsync();
        return client;
    }
}
