using Orleans.Im.Protocol.V1;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// The edge host renews each connected device with its user grain (<c>IM__Edge__DeviceRenewInterval</c>, 1 s on an edge
/// of this test's own): a device its grain forgot while the connection stayed open (a collected or lost activation) is
/// registered again at the next renewal, and pushes reach it again.
/// </summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class DeviceLeaseRenewalTests(EdgeFixture fixture)
{
    /// <summary>What the edge's renewal logs when a grain registered a device it had forgotten (DeviceLeaseRenewal).</summary>
    private const string RestoredByRenewal = "; 1 registered again by a grain that had forgotten them";

    [Fact]
    public async Task A_device_its_user_grain_forgot_is_registered_again_at_the_next_renewal_and_pushed_to()
    {
        await using var edge = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Edge__DeviceRenewInterval"] = "00:00:01",
        });
        try
        {
            var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
            await using var alicePhone = fixture.NewClient(alice, port: edge.Endpoints.TcpPort);
            await alicePhone.ConnectAsync();
            await using var bobPhone = await fixture.ConnectAsync(bob);
            var user = fixture.Orleans.GetGrain<IUserGrain>(alice);
            var registered = Assert.Single(await user.GetDevicesAsync());

            // The grain forgets the device while its connection stays open, as a new activation would, and it comes
            // back. Any time may also be the sweep a new edge host's first gateway report sets off (DeviceReRegistration,
            // which a loaded machine can deliver seconds late, after a renewal); a renewal brings it back as well, and
            // the edge says so. Forgotten again until one did, a few times at most.
            var restoredBefore = Occurrences(edge.Process.Output);
            var output = "";
            for (var forgotten = 0; forgotten < 3 && Occurrences(output) <= restoredBefore; forgotten++)
            {
                restoredBefore = Occurrences(edge.Process.Output);
                await ForgetUntilBackAsync(user, registered);
                output = await Eventually.ReturnsAsync(() => Task.FromResult(edge.Process.Output),
                    o => Occurrences(o) > restoredBefore, TimeSpan.FromSeconds(10));
            }

            Assert.True(Occurrences(output) > restoredBefore, output[Math.Max(0, output.Length - 4000)..]);

            // Pushed to again: within seconds, where a device nobody pushes to would wait for its one-minute catch-up.
            var sent = await bobPhone.SendTextAsync(GrainKeys.P2P(alice, bob), "after the renewal");
            Assert.Equal(SendStatus.Sent, sent.Status);
            Assert.Equal("after the renewal", Assert.Single(await alicePhone.TakeAsync(1, TimeSpan.FromSeconds(10))).Content.Text);
        }
        finally
        {
            await edge.Process.KillAsync();
        }
    }

    [Fact]
    public async Task A_device_registered_again_keeps_the_presence_it_last_set_so_a_phone_in_the_background_is_still_notified()
    {
        await using var edge = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Edge__DeviceRenewInterval"] = "00:00:01",
        });
        try
        {
            var alice = Ids.User("alice");
            await using var alicePhone = fixture.NewClient(alice, port: edge.Endpoints.TcpPort);
            await alicePhone.ConnectAsync();
            await alicePhone.SetPresenceAsync(away: true, networkType: "cellular");
            var user = fixture.Orleans.GetGrain<IUserGrain>(alice);
            var registered = Assert.Single(await Eventually.ReturnsAsync(user.GetDevicesAsync, d => d.Count == 1 && d[0].Away));
            Assert.True(registered.Away);

            await ForgetUntilBackAsync(user, registered);

            var back = Assert.Single(await user.GetDevicesAsync());
            Assert.Equal((true, "cellular"), (back.Away, back.NetworkType));
        }
        finally
        {
            await edge.Process.KillAsync();
        }
    }

    private static async Task ForgetUntilBackAsync(IUserGrain user, DeviceSession registered)
    {
        await user.DisconnectDeviceAsync(registered.DeviceId, registered.ConnectionId);
        var back = Assert.Single(await Eventually.ReturnsAsync(user.GetDevicesAsync, devices => devices.Count == 1, TimeSpan.FromSeconds(10)));
        Assert.Equal((registered.DeviceId, registered.ConnectionId), (back.DeviceId, back.ConnectionId));
    }

    private static int Occurrences(string output) => output.Split(RestoredByRenewal).Length - 1;
}
