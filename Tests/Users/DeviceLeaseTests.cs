using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Im.Edges;
using Orleans.Im.Push;
using Orleans.Im.Silo;
using Orleans.Im.Streams;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;
using Orleans.Streams;
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
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan PresenceGrace = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan EdgeReportInterval = TimeSpan.FromMilliseconds(300);
    private static readonly TimeSpan LostEdgeCheckInterval = TimeSpan.FromMilliseconds(200);

    private readonly IClusterClient _client;

    public DeviceLeaseTests(LeaseCluster cluster) => _client = cluster.Cluster.Client;

    [Fact]
    public async Task A_quiet_online_users_grain_outlives_the_idle_collection_while_the_lease_runs()
    {
        var (user, device) = await ConnectAsync();

        // Nothing calls the grain for well over the collection age and its sweeps (and well under the lease): without the
        // lease it would be collected, and its next activation would know no device to push to.
        var quiet = CollectionAge + CollectionQuantum + CollectionQuantum + TimeSpan.FromSeconds(2);
        Assert.True(quiet + TimeSpan.FromSeconds(4) <= Lease);
        await Task.Delay(quiet);

        Assert.Equal([device.DeviceId], (await user.GetDevicesAsync()).Select(d => d.DeviceId));
        Assert.Equal(PresenceStatus.Online, (await user.GetPresenceAsync()).Status);
    }

    [Fact]
    public async Task Renewals_keep_a_device_registered_past_its_first_lease()
    {
        var (user, device) = await ConnectAsync();
        var until = DateTimeOffset.UtcNow + Lease + Lease / 2 + TimeSpan.FromSeconds(1);
        while (DateTimeOffset.UtcNow < until)
        {
            Assert.Equal(DeviceRenewal.Renewed, await user.RenewDeviceAsync(device, null));
            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        Assert.Equal([device.DeviceId], (await user.GetDevicesAsync()).Select(d => d.DeviceId));
    }

    [Fact]
    public async Task A_device_its_edge_stops_renewing_is_dropped_and_the_user_goes_offline()
    {
        var connectedAt = DateTimeOffset.UtcNow;
        var (user, device) = await ConnectAsync();
        // A device that moved from an edge host that renews to one from before leases: nobody renews it now, and it is
        // never dropped for that.
        var (movedUser, moved) = await ConnectAsync();
        await movedUser.ConnectDeviceAsync(moved with { ConnectionId = NewConnectionId(), EdgeRenewsLease = false }, null);

        // Its edge host died without a word: no renewal, no disconnect. Within a lease and a half, and the grace, the
        // user has gone offline (last seen is written then); asking does not renew.
        var movedStatuses = new List<PresenceStatus>();
        var presence = await Eventually.ReturnsAsync(async () =>
        {
            movedStatuses.Add((await movedUser.GetPresenceAsync()).Status);
            return await user.GetPresenceAsync();
        }, p => p.Status == PresenceStatus.Offline && p.LastSeen is not null, Lease + Lease + PresenceGrace + TimeSpan.FromSeconds(5));

        Assert.Empty(presence.Devices);
        Assert.NotNull(presence.LastSeen);
        Assert.True(presence.LastSeen >= connectedAt, $"last seen {presence.LastSeen}, connected at {connectedAt}");
        Assert.All(movedStatuses, status => Assert.Equal(PresenceStatus.Online, status));
        Assert.Equal(PresenceStatus.Online, (await movedUser.GetPresenceAsync()).Status);

        // Its edge comes back (a partition healed): the grain registers it again.
        Assert.Equal(DeviceRenewal.Restored, await user.RenewDeviceAsync(device, null));
        Assert.Equal(PresenceStatus.Online, (await user.GetPresenceAsync()).Status);
    }

    [Fact]
    public async Task The_devices_of_an_edge_that_stops_reporting_are_dropped_long_before_their_lease_and_it_is_told_when_back()
    {
        var directory = _client.GetGrain<IEdgeDirectoryGrain>(IEdgeDirectoryGrain.DefaultKey);
        var lost = EdgeReport("lost");
        var alive = EdgeReport("alive");
        Assert.False(await directory.CheckInAsync(lost));
        Assert.False(await directory.CheckInAsync(alive));
        var (user, device) = await ConnectAsync(edgeId: lost.EdgeId);
        var (otherUser, _) = await ConnectAsync(edgeId: alive.EdgeId);

        // One edge host crashes (no disconnect, no more reports); the other goes on reporting.
        using var stop = new CancellationTokenSource();
        var reporting = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await directory.CheckInAsync(alive);
                await Task.Delay(EdgeReportInterval / 2);
            }
        });
        var silentFrom = DateTimeOffset.UtcNow;
        var presence = await Eventually.ReturnsAsync(user.GetPresenceAsync, p => p.Status == PresenceStatus.Offline, Lease);
        var tookFor = DateTimeOffset.UtcNow - silentFrom;
        await stop.CancelAsync();
        await reporting;

        // Three report intervals and a half, the silo's next check and the grace: well within the lease (whose check comes
        // only at half of it, and finds the device unexpired until a whole lease has passed).
        Assert.True(tookFor < Lease / 2, $"offline after {tookFor}");
        Assert.Empty(presence.Devices);
        Assert.Equal(PresenceStatus.Online, (await otherUser.GetPresenceAsync()).Status);

        // It was only cut off: at its next report it hears it was dropped (once), and registers its devices again.
        Assert.True(await directory.CheckInAsync(lost));
        Assert.False(await directory.CheckInAsync(lost));
        Assert.Equal(DeviceRenewal.Restored, await user.RenewDeviceAsync(device, null));
        Assert.Equal(PresenceStatus.Online, (await user.GetPresenceAsync()).Status);
    }

    [Fact]
    public async Task An_edge_host_restarted_before_it_was_found_silent_has_the_devices_of_its_previous_run_dropped()
    {
        var directory = _client.GetGrain<IEdgeDirectoryGrain>(IEdgeDirectoryGrain.DefaultKey);
        var firstRun = EdgeReport("restarted") with { Incarnation = NewConnectionId() };
        Assert.False(await directory.CheckInAsync(firstRun));
        var (user, _) = await ConnectAsync(edgeId: firstRun.EdgeId);

        // The process restarts under its configured id and reports at once, well within the allowed misses.
        var secondRun = firstRun with { Incarnation = NewConnectionId() };
        Assert.True(await directory.CheckInAsync(secondRun));
        Assert.False(await directory.CheckInAsync(secondRun));

        var presence = await Eventually.ReturnsAsync(user.GetPresenceAsync, p => p.Status == PresenceStatus.Offline, Lease / 2);
        Assert.Empty(presence.Devices);
    }

    [Fact]
    public async Task A_device_left_registered_by_an_edge_host_that_stopped_is_dropped_and_its_next_runs_stay()
    {
        var directory = _client.GetGrain<IEdgeDirectoryGrain>(IEdgeDirectoryGrain.DefaultKey);
        var run = EdgeReport("leaving") with { Incarnation = NewConnectionId() };
        Assert.False(await directory.CheckInAsync(run));
        var (user, _) = await ConnectAsync(edgeId: run.EdgeId);

        // The edge stops; the disconnect of this device failed on the way out (a silo failing over). Before, the user
        // stayed online, pushed to a dead edge, until the lease lapsed (most of 15 minutes by default).
        await directory.LeaveAsync(run.EdgeId, run.Incarnation);
        var presence = await Eventually.ReturnsAsync(user.GetPresenceAsync, p => p.Status == PresenceStatus.Offline, Lease / 2);
        Assert.Empty(presence.Devices);

        // The next run, under the same id, registers its own devices: they stay.
        var nextRun = run with { Incarnation = NewConnectionId() };
        Assert.False(await directory.CheckInAsync(nextRun));
        var (again, _) = await ConnectAsync(edgeId: nextRun.EdgeId);
        await Task.Delay(LostEdgeCheckInterval * 5);
        Assert.Equal(PresenceStatus.Online, (await again.GetPresenceAsync()).Status);
    }

    [Fact]
    public async Task A_device_registered_or_renewed_after_its_edge_was_dropped_as_lost_stays()
    {
        var (user, device) = await ConnectAsync(edgeId: "edge-" + NewConnectionId());
        var (otherUser, other) = await ConnectAsync(edgeId: "edge-" + NewConnectionId());
        var now = DateTimeOffset.UtcNow;

        // A late word of a loss from before this device's renewal (the edge came back and registered it again meanwhile),
        // and a loss of another edge: neither drops it.
        await user.OnEdgeLostAsync(device.EdgeId, now.AddMinutes(-2), now.AddMinutes(-1));
        await user.OnEdgeLostAsync(other.EdgeId, now, now.AddSeconds(1));
        Assert.Equal([device.DeviceId], (await user.GetDevicesAsync()).Select(d => d.DeviceId));

        // The loss of its own edge after its last renewal does.
        await otherUser.OnEdgeLostAsync(other.EdgeId, now, now.AddSeconds(1));
        Assert.Empty(await otherUser.GetDevicesAsync());
    }

    [Fact]
    public async Task A_forgotten_device_is_registered_again_and_a_superseded_connection_is_not()
    {
        var user = _client.GetGrain<IUserGrain>(Ids.User("lease"));
        var phone = Device("phone", "ios", DateTimeOffset.UtcNow.AddMinutes(-10));

        // The grain never saw it (a new activation): registered again.
        Assert.Equal(DeviceRenewal.Restored, await user.RenewDeviceAsync(phone, null));
        Assert.Equal(DeviceRenewal.Renewed, await user.RenewDeviceAsync(phone, null));

        // The phone logged in again on a new connection: the old one's late renewal does not take its pushes back.
        var again = phone with { ConnectionId = NewConnectionId(), ConnectedAt = DateTimeOffset.UtcNow.AddMinutes(-5) };
        await user.ConnectDeviceAsync(again, null);
        Assert.Equal(DeviceRenewal.Superseded, await user.RenewDeviceAsync(phone, null));

        // Another mobile device made it leave (one mobile device at a time): its renewal does not make the newer one leave,
        // though the grain no longer lists it, and it is told again to leave.
        await using var kicks = await KickRecorder.SubscribeAsync(_client, user.GetPrimaryKeyString());
        var tablet = Device("tablet", "android", DateTimeOffset.UtcNow);
        await user.ConnectDeviceAsync(tablet, null);
        Assert.Equal(["tablet"], (await user.GetDevicesAsync()).Select(d => d.DeviceId));
        Assert.Equal("phone", (await kicks.NextAsync()).DeviceId);
        Assert.Equal(DeviceRenewal.Superseded, await user.RenewDeviceAsync(again, null));
        Assert.Equal(["tablet"], (await user.GetDevicesAsync()).Select(d => d.DeviceId));
        Assert.Equal("phone", (await kicks.NextAsync()).DeviceId);
    }

    [Fact]
    public async Task A_devices_newer_connection_takes_it_from_an_older_one_a_new_activation_registered_first()
    {
        // Both connections forgotten (a lost silo; the older one's kick lost with it), and the older renews first.
        var user = _client.GetGrain<IUserGrain>(Ids.User("lease"));
        var older = Device("phone", "ios", DateTimeOffset.UtcNow.AddMinutes(-10));
        var newer = older with { ConnectionId = NewConnectionId(), ConnectedAt = DateTimeOffset.UtcNow.AddMinutes(-1) };
        Assert.Equal(DeviceRenewal.Restored, await user.RenewDeviceAsync(older, null));
        await using var kicks = await KickRecorder.SubscribeAsync(_client, user.GetPrimaryKeyString());

        // The newer one's renewal takes the device (before: "superseded", and nothing was pushed to it until the older
        // one timed out), and the older is made to leave.
        Assert.Equal(DeviceRenewal.Restored, await user.RenewDeviceAsync(newer, null));
        Assert.Equal([newer.ConnectionId], (await user.GetDevicesAsync()).Select(d => d.ConnectionId));
        Assert.Equal(older.ConnectionId, (await kicks.NextAsync()).ConnectionId);
        Assert.Equal(DeviceRenewal.Superseded, await user.RenewDeviceAsync(older, null));
        Assert.Equal(DeviceRenewal.Renewed, await user.RenewDeviceAsync(newer, null));
    }

    [Fact]
    public async Task A_forgotten_device_that_a_newer_one_replaced_does_not_come_back_first()
    {
        // Both forgotten (a lost silo); the newer mobile device came back first. The older one would make it leave.
        var user = _client.GetGrain<IUserGrain>(Ids.User("lease"));
        var older = Device("phone", "ios", DateTimeOffset.UtcNow.AddMinutes(-10));
        var newer = Device("tablet", "android", DateTimeOffset.UtcNow.AddMinutes(-1));

        Assert.Equal(DeviceRenewal.Restored, await user.RenewDeviceAsync(newer, null));
        await using var kicks = await KickRecorder.SubscribeAsync(_client, user.GetPrimaryKeyString());
        Assert.Equal(DeviceRenewal.Superseded, await user.RenewDeviceAsync(older, null));
        Assert.Equal(["tablet"], (await user.GetDevicesAsync()).Select(d => d.DeviceId));

        // The older one is told to leave, so that its edge closes it instead of keeping a connection nobody pushes to.
        var kick = await kicks.NextAsync();
        Assert.Equal("phone", kick.DeviceId);
        Assert.Contains("android", kick.Reason, StringComparison.Ordinal);
    }

    private async Task<(IUserGrain User, DeviceSession Device)> ConnectAsync(bool renews = true, string edgeId = "lease-edge")
    {
        var user = _client.GetGrain<IUserGrain>(Ids.User("lease"));
        var device = Device("phone", "ios", DateTimeOffset.UtcNow) with { EdgeRenewsLease = renews, EdgeId = edgeId };
        await user.ConnectDeviceAsync(device, null);
        return (user, device);
    }

    private static DeviceSession Device(string deviceId, string platform, DateTimeOffset connectedAt) =>
        new(deviceId, platform, "lease-edge", connectedAt, NewConnectionId(), EdgeRenewsLease: true);

    private static string NewConnectionId() => Guid.NewGuid().ToString("N");

    private static EdgeReport EdgeReport(string name) =>
        new($"{name}-{NewConnectionId()}", ["127.0.0.1:1"], "ws://127.0.0.1:1/hub", Connections: 1, CpuPercent: 0, EdgeReportInterval, Draining: false);

    /// <summary>The kicks published on a user's stream (where pushes with no edge route go).</summary>
    private sealed class KickRecorder : IAsyncDisposable
    {
        private readonly Channel<DeviceKickedEvent> _kicks = Channel.CreateUnbounded<DeviceKickedEvent>();
        private StreamSubscriptionHandle<UserEventBatch>? _subscription;

        public static async Task<KickRecorder> SubscribeAsync(IClusterClient client, string userId)
        {
            var recorder = new KickRecorder();
            var stream = client.GetStreamProvider(StreamNames.Provider).GetStream<UserEventBatch>(StreamId.Create(StreamNames.UserNamespace, userId));
            recorder._subscription = await stream.SubscribeAsync((batch, _) =>
            {
                foreach (var kick in batch.Events.OfType<DeviceKickedEvent>())
                {
                    recorder._kicks.Writer.TryWrite(kick);
                }

                return Task.CompletedTask;
            });
            return recorder;
        }

        public async Task<DeviceKickedEvent> NextAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            return await _kicks.Reader.ReadAsync(timeout.Token);
        }

        public async ValueTask DisposeAsync()
        {
            if (_subscription is not null)
            {
                await _subscription.UnsubscribeAsync();
            }
        }
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
                    o.LostEdgeCheckInterval = LostEdgeCheckInterval;
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
