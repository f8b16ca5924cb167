using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Im.Silo;
using Orleans.Im.Streams;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;
using Orleans.TestingHost;

namespace Orleans.Im.Tests.Users;

/// <summary>
/// Device leases (<see cref="IUserGrain.RenewDeviceAsync"/>), on a cluster of its own that collects idle grains after
/// 2 s (Orleans' default is 15 minutes), so that a quiet online user's grain would be gone within the test.
/// </summary>
[Trait("Category", "Cluster")]
public sealed class DeviceLeaseTests : IClassFixture<DeviceLeaseTests.LeaseCluster>
{
    private static readonly TimeSpan CollectionAge = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan CollectionQuantum = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan PresenceGrace = TimeSpan.FromMilliseconds(300);

    private readonly IClusterClient _client;

    public DeviceLeaseTests(LeaseCluster cluster) => _client = cluster.Cluster.Client;

    [Fact]
    public async Task A_quiet_online_users_grain_outlives_the_idle_collection_while_the_lease_runs()
    {
        var (user, device) = await ConnectAsync();

        // Nothing calls the grain for longer than the collection age and its sweep (and less than the lease): without the
        // lease it would be collected, and its next activation would know no device to push to.
        await Task.Delay(CollectionAge + CollectionQuantum + CollectionQuantum);
        Assert.True(CollectionAge + CollectionQuantum + CollectionQuantum < Lease);

        Assert.Equal([device.DeviceId], (await user.GetDevicesAsync()).Select(d => d.DeviceId));
        Assert.Equal(PresenceStatus.Online, (await user.GetPresenceAsync()).Status);
    }

    [Fact]
    public async Task Renewals_keep_a_device_registered_past_its_first_lease()
    {
        var (user, device) = await ConnectAsync();
        var until = DateTimeOffset.UtcNow + Lease + Lease;
        while (DateTimeOffset.UtcNow < until)
        {
            Assert.Equal(DeviceRenewal.Renewed, await user.RenewDeviceAsync(device.DeviceId, device.ConnectionId));
            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        Assert.Equal([device.DeviceId], (await user.GetDevicesAsync()).Select(d => d.DeviceId));
    }

    [Fact]
    public async Task A_device_its_edge_stops_renewing_is_dropped_and_the_user_goes_offline()
    {
        var connectedAt = DateTimeOffset.UtcNow;
        var (user, device) = await ConnectAsync();

        // Its edge host died without a word: no renewal, no disconnect. Within a lease and a half, and the grace, the
        // user has gone offline (last seen is written then); asking does not renew.
        var presence = await Eventually.ReturnsAsync(user.GetPresenceAsync, p => p.Status == PresenceStatus.Offline && p.LastSeen is not null,
            Lease + Lease + PresenceGrace + TimeSpan.FromSeconds(5));

        Assert.Empty(presence.Devices);
        Assert.NotNull(presence.LastSeen);
        Assert.True(presence.LastSeen >= connectedAt, $"last seen {presence.LastSeen}, connected at {connectedAt}");
        Assert.Equal(DeviceRenewal.Unknown, await user.RenewDeviceAsync(device.DeviceId, device.ConnectionId));
    }

    [Fact]
    public async Task A_renewal_says_whether_the_grain_knows_the_connection()
    {
        var (user, first) = await ConnectAsync();
        var second = first with { ConnectionId = Guid.NewGuid().ToString("N") };
        await user.ConnectDeviceAsync(second, null);

        Assert.Equal(DeviceRenewal.Superseded, await user.RenewDeviceAsync(first.DeviceId, first.ConnectionId));
        Assert.Equal(DeviceRenewal.Renewed, await user.RenewDeviceAsync(second.DeviceId, second.ConnectionId));
        Assert.Equal(DeviceRenewal.Unknown, await user.RenewDeviceAsync("tablet", second.ConnectionId));

        await user.DisconnectDeviceAsync(second.DeviceId, second.ConnectionId);
        Assert.Equal(DeviceRenewal.Unknown, await user.RenewDeviceAsync(second.DeviceId, second.ConnectionId));
    }

    private async Task<(IUserGrain User, DeviceSession Device)> ConnectAsync()
    {
        var user = _client.GetGrain<IUserGrain>(Ids.User("lease"));
        var device = new DeviceSession("phone", "ios", "lease-edge", DateTimeOffset.UtcNow, Guid.NewGuid().ToString("N"));
        await user.ConnectDeviceAsync(device, null);
        return (user, device);
    }

    /// <summary>The cluster: production storage wiring, short collection age, lease and grace.</summary>
    public sealed class LeaseCluster : IAsyncLifetime
    {
        public InProcessTestCluster Cluster { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var dataSource = await TestServices.GetMigratedDataSourceAsync();
            var builder = new InProcessTestClusterBuilder(1);
            builder.Options.ServiceId = TestServices.NewClusterId("lease-svc");
            builder.ConfigureSilo((_, silo) =>
            {
                silo.Services.AddSingleton(dataSource);
                silo.Services.AddImGrains();
                silo.Services.AddImFirehose(o => o.Redis = TestServices.RedisConnectionString);
                silo.Services.Configure<UserOptions>(o =>
                {
                    o.DeviceLease = Lease;
                    o.PresenceGrace = PresenceGrace;
                });
                silo.Services.Configure<GrainCollectionOptions>(o =>
                {
                    o.CollectionQuantum = CollectionQuantum;
                    o.CollectionAge = CollectionAge;
                });
                silo.AddImStorage();
                silo.AddMemoryStreams(StreamNames.Provider);
            });
            builder.ConfigureClient(client => client.AddMemoryStreams(StreamNames.Provider));
            Cluster = builder.Build();
            await Cluster.DeployAsync();
        }

        public async Task DisposeAsync() => await Cluster.DisposeAsync();
    }
}
