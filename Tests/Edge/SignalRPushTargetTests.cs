using System.Security.Claims;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.SignalR;
using Orleans.Im.EdgeHost;
using Orleans.Im.EdgeHost.Hubs;
using Orleans.Im.EdgeHost.Metrics;
using Orleans.Im.Push;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// A web connection's push queue when the client does not keep up: with its writer held in a send that does not
/// complete, the queue fills, and what must not be lost (a kick, a resync) still takes effect.
/// </summary>
[Trait("Category", "Unit")]
public sealed class SignalRPushTargetTests : IDisposable
{
    private readonly TestMeterFactory _meters = new();

    public void Dispose() => _meters.Dispose();

    private const int Capacity = 4;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_kick_that_finds_the_queue_full_aborts_the_connection()
    {
        var (target, hub, context) = await FullAsync();

        target.Kick("revoked");

        Assert.True(context.Aborted.Task.IsCompleted, "the kicked connection stays open");
        hub.Release();
        await target.DisposeAsync();
    }

    [Fact]
    public async Task A_kicked_client_that_does_not_read_its_last_event_is_cut_off_after_the_deadline()
    {
        // The writer is held in a send (the client stopped reading); the queue has room, so the kick is queued behind it.
        var (target, hub, context) = await HeldInFirstSendAsync();

        target.Kick("session ended");

        Assert.True(target.ClosedByServer);
        Assert.False(context.Aborted.Task.IsCompleted, "aborted before the client had a chance to read the kick");
        await context.Aborted.Task.WaitAsync(SignalRPushTarget.LastEventDeadline + Patience);
        hub.Release();
        await target.DisposeAsync();
    }

    [Fact]
    public async Task A_kick_heard_twice_leaves_the_first_on_its_way_instead_of_cutting_the_connection_before_it()
    {
        // A revocation reaches the edge twice (the API call that made it applies it, then the cluster's broadcast): the
        // second finds the queue completed behind the first kick, still waiting for the writer.
        var (target, hub, context) = await HeldInFirstSendAsync();

        target.Kick("session ended");
        target.Kick("session ended");

        Assert.False(context.Aborted.Task.IsCompleted, "cut off before the client could read why");
        hub.Release();
        await target.DisposeAsync();
        Assert.Single(hub.Sent.SelectMany(batch => batch), e => e.Type == "kick");
    }

    [Fact]
    public async Task A_resync_asked_while_the_queue_is_full_is_sent_once_it_drains()
    {
        var (target, hub, _) = await FullAsync();

        target.RequestResync();
        hub.Release();
        await target.DisposeAsync();

        Assert.Contains(hub.Sent.SelectMany(batch => batch), e => e.Type == "resync");
    }

    /// <summary>A target whose writer is held in its first send; its queue is empty.</summary>
    private async Task<(SignalRPushTarget, HeldHub, FakeCallerContext)> HeldInFirstSendAsync()
    {
        var hub = new HeldHub();
        var context = new FakeCallerContext();
        var target = new SignalRPushTarget(hub, context, "browser", new EdgeOptions { OutboundQueueCapacity = Capacity }, TimeProvider.System, new EdgeMetrics(_meters, null!, null!, null!, null!), "websockets");
        target.Push(Batch(1));
        await hub.FirstSend.Task.WaitAsync(Patience);
        return (target, hub, context);
    }

    /// <summary>A target whose writer is held in its first send, with its queue then filled up to its capacity.</summary>
    private async Task<(SignalRPushTarget, HeldHub, FakeCallerContext)> FullAsync()
    {
        var (target, hub, context) = await HeldInFirstSendAsync();
        target.Push(Batch(Capacity));
        Assert.Equal(Capacity, target.QueuedPushes);
        return (target, hub, context);
    }

    private static UserEventBatch Batch(int events) =>
        new("u", [.. Enumerable.Range(0, events).Select(_ => new PresenceEvent("friend", PresenceStatus.Online, null))]);

    /// <summary>
    /// Meters under a name no exporter takes (not <c>Orleans.Im…</c>), disposed after the test: their gauges read a session
    /// table this test does not have, and a metrics test scraping every product meter in the process meanwhile would
    /// call them.
    /// </summary>
    private sealed class TestMeterFactory : System.Diagnostics.Metrics.IMeterFactory
    {
        private readonly List<System.Diagnostics.Metrics.Meter> _created = [];

        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options)
        {
            var meter = new System.Diagnostics.Metrics.Meter($"Tests.Unexported.{options.Name}", options.Version);
            lock (_created)
            {
                _created.Add(meter);
            }

            return meter;
        }

        public void Dispose()
        {
            lock (_created)
            {
                _created.ForEach(m => m.Dispose());
                _created.Clear();
            }
        }
    }

    /// <summary>A hub context whose first <c>Events</c> call does not complete until released; records every batch.</summary>
    private sealed class HeldHub : IHubContext<ChatHub, IChatClient>, IHubClients<IChatClient>, IChatClient
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource FirstSend { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<IReadOnlyList<HubEvent>> Sent { get; } = [];

        public IHubClients<IChatClient> Clients => this;

        public IGroupManager Groups => throw new NotSupportedException();

        public IChatClient All => this;

        public void Release() => _release.TrySetResult();

        public IChatClient Client(string connectionId) => this;

        public async Task Events(IReadOnlyList<HubEvent> events)
        {
            lock (Sent)
            {
                Sent.Add(events);
            }

            FirstSend.TrySetResult();
            await _release.Task;
        }

        public IChatClient AllExcept(IReadOnlyList<string> excludedConnectionIds) => this;

        IChatClient IHubClients<IChatClient>.Clients(IReadOnlyList<string> connectionIds) => this;

        public IChatClient Group(string groupName) => this;

        public IChatClient GroupExcept(string groupName, IReadOnlyList<string> excludedConnectionIds) => this;

        IChatClient IHubClients<IChatClient>.Groups(IReadOnlyList<string> groupNames) => this;

        public IChatClient User(string userId) => this;

        public IChatClient Users(IReadOnlyList<string> userIds) => this;
    }

    private sealed class FakeCallerContext : HubCallerContext
    {
        public TaskCompletionSource Aborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override string ConnectionId => "c1";

        public override string? UserIdentifier => "u";

        public override ClaimsPrincipal? User => null;

        public override IDictionary<object, object?> Items { get; } = new Dictionary<object, object?>();

        public override IFeatureCollection Features { get; } = new FeatureCollection();

        public override CancellationToken ConnectionAborted => CancellationToken.None;

        public override void Abort() => Aborted.TrySetResult();
    }
}
