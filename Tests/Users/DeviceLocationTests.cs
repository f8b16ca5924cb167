using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Users;

[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class DeviceLocationTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_device_that_logs_in_again_before_its_old_connection_closes_stays_online_where_it_now_is()
    {
        var user = fixture.Client.GetGrain<IUserGrain>(Ids.User("roamer"));
        await user.ConnectDeviceAsync(new DeviceSession("phone", "ios", "edge-a", DateTimeOffset.UtcNow, "connection-1"), null);

        // The phone switches networks: it logs in on another edge before edge A sees the old connection close.
        await user.ConnectDeviceAsync(new DeviceSession("phone", "ios", "edge-b", DateTimeOffset.UtcNow, "connection-2"), null);
        await user.DisconnectDeviceAsync("phone", "connection-1");

        var device = Assert.Single(await user.GetDevicesAsync());
        Assert.Equal(("edge-b", "connection-2"), (device.EdgeId, device.ConnectionId));
        Assert.Equal(PresenceStatus.Online, (await user.GetPresenceAsync()).Status);

        await user.DisconnectDeviceAsync("phone", "connection-2");
        Assert.Empty(await user.GetDevicesAsync());
    }
}
