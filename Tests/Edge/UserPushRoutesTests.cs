using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost;
using Orleans.Im.EdgeHost.Drain;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.Push;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// How the edge hands its users' pushes to their connections: kicks to the connection they name, and a resync wherever
/// pushes were lost on the way (a numbered call that never came, one device's failed push).
/// </summary>
[Trait("Category", "Unit")]
public sealed class UserPushRoutesTests
{
    private readonly ManualTimers _time = new();
    private readonly UserPushRoutes _routes;

    public UserPushRoutesTests() =>
        _routes = new UserPushRoutes(null!, Options.Create(new EdgeOptions { PushPath = PushPath.Observer }), _time, NullLogger<UserPushRoutes>.Instance);

    private IEdgePushObserver Observer => _routes;

    [Fact]
    public async Task A_kick_of_a_devices_old_connection_spares_its_newer_one_on_the_same_edge()
    {
        var (older, newer) = (new RecordingTarget("phone"), new RecordingTarget("phone"));
        await _routes.AttachAsync("alice", older, "c1");
        await _routes.AttachAsync("alice", newer, "c2");

        await Observer.PushAsync(new UserEventBatch("alice", [new DeviceKickedEvent("phone", "signed in on another phone", "c1")]));
        Assert.Equal(("signed in on another phone", null), (older.Kicked, newer.Kicked));

        // From a silo that names no connection: every connection of the device goes, as before.
        await Observer.PushAsync(new UserEventBatch("alice", [new DeviceKickedEvent("phone", "old silo")]));
        Assert.Equal("old silo", newer.Kicked);
    }

    [Fact]
    public async Task A_numbered_call_that_never_came_makes_every_device_here_sync_and_a_failed_push_its_own_device()
    {
        var (alice, bob, broken) = (new RecordingTarget("phone"), new RecordingTarget("phone"), new RecordingTarget("tablet") { Fails = true });
        await _routes.AttachAsync("alice", alice, "c1");
        await _routes.AttachAsync("bob", broken, "c2");
        await _routes.AttachAsync("bob", bob, "c3");

        // Call 2 of a silo is lost: once the window passes, call 3 goes on, and nobody knows whose pushes call 2 carried.
        await Observer.PushInOrderAsync(7, 1, [Contacts("alice")]);
        await Observer.PushInOrderAsync(7, 3, [Contacts("bob")]);
        var brokenBefore = broken.Resyncs;
        _time.FireAll();
        Assert.Equal((1, 1), (alice.Resyncs, bob.Resyncs));
        Assert.Equal((1, 1), (alice.Pushed, bob.Pushed));

        // One device whose push fails syncs (it did at call 3 too); the user's other device, and the batches after it,
        // are still pushed.
        Assert.Equal(brokenBefore + 2, broken.Resyncs);
        await Observer.PushManyAsync([Contacts("bob"), Contacts("alice")]);
        Assert.Equal(brokenBefore + 3, broken.Resyncs);
        Assert.Equal((2, 2), (alice.Pushed, bob.Pushed));
        Assert.Equal((1, 1), (alice.Resyncs, bob.Resyncs));
    }

    private static UserEventBatch Contacts(string userId) => new(userId, [new ContactsChangedEvent(1)]);

    /// <summary>A connection that records what it was told; <see cref="Fails"/>: every push throws.</summary>
    private sealed class RecordingTarget(string deviceId) : IPushTarget
    {
        public string DeviceId { get; } = deviceId;

        public int QueuedPushes => 0;

        public bool Fails { get; init; }

        public int Pushed { get; private set; }

        public int Resyncs { get; private set; }

        public string? Kicked { get; private set; }

        public void Push(UserEventBatch batch)
        {
            if (Fails)
            {
                throw new InvalidOperationException("test: this connection cannot take pushes");
            }

            Pushed++;
        }

        public void RequestResync() => Resyncs++;

        public void Kick(string reason) => Kicked = reason;

        public void Redirect(EdgeRedirect redirect)
        {
        }
    }
}
