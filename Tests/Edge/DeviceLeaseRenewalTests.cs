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

            // A new edge host's cluster client reports its gateways soon after it starts, and the sweep that follows
            // (DeviceReRegistration) registers every session again: let it pass, so that only a renewal can bring the
            // device back below.
            await Task.Delay(TimeSpan.FromSeconds(4));

            // The grain forgets the device while its connection stays open, as a new activation would.
            await user.DisconnectDeviceAsync(registered.DeviceId, registered.ConnectionId);
            Assert.Empty(await user.GetDevicesAsync());

            var again = Assert.Single(await Eventually.ReturnsAsync(user.GetDevicesAsync, devices => devices.Count == 1, TimeSpan.FromSeconds(10)));
            Assert.Equal((registered.DeviceId, registered.ConnectionId), (again.DeviceId, again.ConnectionId));

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
}
