using Microsoft.Extensions.Options;
using Orleans.Im.Push;
using Orleans.Im.Streams;
using Orleans.Streams;

namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>
/// The edge side of the push path (DESIGN section 6): which devices here each user's pushes go to, and how they come
/// from the cluster. With <see cref="PushPath.Observer"/> user grains call this edge's one push observer and nothing is
/// registered per user; with <see cref="PushPath.Stream"/> the edge subscribes to a user's stream when the user's first
/// device connects here and unsubscribes when the last leaves. Either way each batch goes to every device of the user on
/// this edge. One seam, so the mechanism can be measured and swapped.
/// </summary>
public sealed partial class UserPushRoutes(IClusterClient client, IOptions<EdgeOptions> options, TimeProvider time, ILogger<UserPushRoutes> logger)
    : IEdgePushObserver
{
    private readonly Dictionary<string, UserEntry> _users = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly bool _viaStreams = options.Value.PushPath == PushPath.Stream;
    private PushCallSequencer? _sequencer;

    // The cluster client holds an observer only weakly: this field keeps the reference (and so the object) alive.
    private IEdgePushObserver? _observerReference;

    /// <summary>Users with at least one device here.</summary>
    public int UserCount
    {
        get
        {
            lock (_lock)
            {
                return _users.Count;
            }
        }
    }

    /// <summary>Numbered calls that came ahead of their turn and were put back in order.</summary>
    public long ReorderedPushCalls => _sequencer?.Reordered ?? 0;

    /// <summary>Users with a device here whose pushes come from their stream (all of them with <see cref="PushPath.Stream"/>, else none).</summary>
    public int StreamUserCount => _viaStreams ? UserCount : 0;

    /// <summary>
    /// What the user grain is told to call for pushes to this edge's devices: this edge's observer, or null when the edge
    /// takes them from the users' streams.
    /// </summary>
    public IEdgePushObserver? PushObserver
    {
        get
        {
            if (_viaStreams)
            {
                return null;
            }

            lock (_lock)
            {
                return _observerReference ??= client.CreateObjectReference<IEdgePushObserver>(this);
            }
        }
    }

    /// <summary>A user grain's batch, by direct call: to every device of the user here (none if all have left).</summary>
    Task IEdgePushObserver.PushAsync(UserEventBatch batch)
    {
        Route(batch);
        return Task.CompletedTask;
    }

    /// <summary>A silo's coalesced batches, by direct call: each as by <see cref="IEdgePushObserver.PushAsync"/>, in order.</summary>
    Task IEdgePushObserver.PushManyAsync(UserEventBatch[] batches)
    {
        RouteAll(batches);
        return Task.CompletedTask;
    }

    /// <summary>A silo's numbered batches, by direct call: handed on in the order the silo made its calls, each batch as by <see cref="IEdgePushObserver.PushAsync"/>.</summary>
    Task IEdgePushObserver.PushInOrderAsync(long sender, long number, UserEventBatch[] batches)
    {
        Sequencer.Accept(sender, number, batches);
        return Task.CompletedTask;
    }

    // Made at the first numbered call rather than with the routes: it hands calls on to this instance's RouteAll.
    private PushCallSequencer Sequencer => Volatile.Read(ref _sequencer) ?? CreateSequencer();

    private PushCallSequencer CreateSequencer()
    {
        lock (_lock)
        {
            return _sequencer ??= new PushCallSequencer(time, RouteAll, ex => LogPushNotHandedOn(logger, ex.Message), Resync);
        }
    }

    /// <summary>
    /// Pushes were lost on their way here: the devices of <paramref name="userIds"/> sync, or, when whose pushes were lost
    /// is unknown (numbered calls that never came), every device here does — at most once per
    /// <see cref="ResyncAllAtMostEvery"/>, a herd of syncs being the price of not knowing.
    /// </summary>
    private void Resync(string[]? userIds)
    {
        if (userIds is null)
        {
            var now = time.GetTimestamp();
            var last = Interlocked.Read(ref _resyncedAllAt);
            if (last != 0 && time.GetElapsedTime(last, now) < ResyncAllAtMostEvery || Interlocked.CompareExchange(ref _resyncedAllAt, now, last) != last)
            {
                return;
            }
        }

        UserEntry[] entries;
        lock (_lock)
        {
            entries = userIds is null ? [.. _users.Values] : [.. userIds.Select(id => _users.GetValueOrDefault(id)).OfType<UserEntry>()];
        }

        LogPushesLost(logger, userIds?.Length ?? -1, entries.Length);
        foreach (var target in entries.SelectMany(e => e.Targets))
        {
            target.RequestResync();
        }
    }

    /// <summary>The shortest time between two resyncs of every device here (see <see cref="Resync"/>).</summary>
    private static readonly TimeSpan ResyncAllAtMostEvery = TimeSpan.FromSeconds(10);

    private long _resyncedAllAt;

    private void RouteAll(UserEventBatch[] batches)
    {
        foreach (var batch in batches)
        {
            Route(batch);
        }
    }

    /// <summary>Routes the user's pushes to <paramref name="target"/> until the returned handle is disposed.</summary>
    public async Task<IAsyncDisposable> AttachAsync(string userId, IPushTarget target, string connectionId = "")
    {
        UserEntry entry;
        lock (_lock)
        {
            if (!_users.TryGetValue(userId, out entry!))
            {
                entry = new UserEntry(userId);
                _users[userId] = entry;
            }

            entry.Targets = entry.Targets.Add(target);
            entry.ConnectionIds = entry.ConnectionIds.SetItem(target, connectionId);
        }

        if (!_viaStreams)
        {
            return new Attachment(this, entry, target);
        }

        try
        {
            await entry.Gate.WaitAsync();
            try
            {
                if (entry.Handle is null && !entry.Targets.IsEmpty)
                {
                    var stream = client.GetStreamProvider(StreamNames.Provider)
                        .GetStream<UserEventBatch>(StreamId.Create(StreamNames.UserNamespace, userId));
                    entry.Handle = await stream.SubscribeAsync((batch, _) =>
                    {
                        Deliver(entry, batch);
                        return Task.CompletedTask;
                    });
                }
            }
            finally
            {
                entry.Gate.Release();
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The caller gets no handle to detach with: the target must not stay routed to for good (a login retried on
            // the same connection would be routed to twice, and a closed one never let go).
            await DetachAsync(entry, target);
            throw;
        }

        return new Attachment(this, entry, target);
    }

    /// <summary>A batch that came by direct call: to every device of the user here (none if all have left).</summary>
    private void Route(UserEventBatch batch)
    {
        UserEntry? entry;
        lock (_lock)
        {
            _users.TryGetValue(batch.UserId, out entry);
        }

        if (entry is not null)
        {
            Deliver(entry, batch);
        }
    }

    /// <summary>
    /// Routes a batch to each device of the user here, in one place for every transport: a device the login policy
    /// kicks is kicked; a device is not echoed the message it sent itself (its ack told it); the rest is pushed.
    /// </summary>
    private static void Deliver(UserEntry entry, UserEventBatch batch)
    {
        // A snapshot: devices come and go while we deliver. Push never blocks: each transport queues or drops.
        foreach (var target in entry.Targets)
        {
            try
            {
                DeliverTo(target, entry.ConnectionIds.GetValueOrDefault(target, ""), batch);
            }
            catch (Exception)
            {
                // Boundary: one device's failure (an odd event, a connection going away) must neither stop the others'
                // pushes nor the rest of the call's batches; that device syncs for what it was not pushed.
                target.RequestResync();
            }
        }
    }

    private static void DeliverTo(IPushTarget target, string connectionId, UserEventBatch batch)
    {
        if (batch.Events.OfType<DeviceKickedEvent>().FirstOrDefault(k => IsKicked(k, target, connectionId)) is { } kicked)
        {
            target.Kick(kicked.Reason);
            return;
        }

        var forDevice = batch.Events.Where(e => e is not DeviceKickedEvent && !IsOwnMessage(e, batch.UserId, target.DeviceId)).ToList();
        if (forDevice.Count == batch.Events.Count)
        {
            target.Push(batch);
        }
        else if (forDevice.Count > 0)
        {
            target.Push(batch with { Events = forDevice });
        }
    }

    /// <summary>
    /// Whether the kick is for this target: its device, and its connection when both are named (a kick from an older
    /// silo names none; one for the device's old connection must not close the newer one it logged in on meanwhile).
    /// </summary>
    private static bool IsKicked(DeviceKickedEvent kick, IPushTarget target, string connectionId) =>
        kick.DeviceId == target.DeviceId
        && (kick.ConnectionId.Length == 0 || connectionId.Length == 0 || kick.ConnectionId == connectionId);

    private static bool IsOwnMessage(UserEvent userEvent, string userId, string deviceId) =>
        userEvent is MessageEvent { Message: var m } && m.SenderId == userId && m.SenderDeviceId == deviceId;

    private async Task DetachAsync(UserEntry entry, IPushTarget target)
    {
        lock (_lock)
        {
            entry.Targets = entry.Targets.Remove(target);
            entry.ConnectionIds = entry.ConnectionIds.Remove(target);
        }

        await entry.Gate.WaitAsync();
        try
        {
            if (entry.Targets.IsEmpty && entry.Handle is not null)
            {
                try
                {
                    await entry.Handle.UnsubscribeAsync();
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The cluster may be unreachable; the subscription is then cleaned up by the stream runtime.
                    LogUnsubscribeFailed(logger, entry.UserId, ex.Message);
                }

                entry.Handle = null;
            }
        }
        finally
        {
            entry.Gate.Release();
        }

        lock (_lock)
        {
            if (entry.Targets.IsEmpty && entry.Handle is null && _users.TryGetValue(entry.UserId, out var current) && current == entry)
            {
                _users.Remove(entry.UserId);
            }
        }
    }

    [LoggerMessage(2, LogLevel.Warning, "A silo's push could not be handed on to the devices here (they find it at their next sync): {Reason}")]
    private static partial void LogPushNotHandedOn(ILogger logger, string reason);

    [LoggerMessage(3, LogLevel.Information, "Pushes were lost on their way here ({Users} users named; -1: unknown, so all): the devices of {Resynced} users here sync")]
    private static partial void LogPushesLost(ILogger logger, int users, int resynced);

    [LoggerMessage(1, LogLevel.Warning, "Unsubscribing the stream of {UserId} failed: {Reason}")]
    private static partial void LogUnsubscribeFailed(ILogger logger, string userId, string reason);

    private sealed class UserEntry(string userId)
    {
        public string UserId { get; } = userId;

        /// <summary>Serialises subscribe and unsubscribe of this user's stream.</summary>
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public System.Collections.Immutable.ImmutableList<IPushTarget> Targets { get; set; } = [];

        /// <summary>The device connection each target was attached for (a kick names the one that must go).</summary>
        public System.Collections.Immutable.ImmutableDictionary<IPushTarget, string> ConnectionIds { get; set; } =
            System.Collections.Immutable.ImmutableDictionary<IPushTarget, string>.Empty;

        public StreamSubscriptionHandle<UserEventBatch>? Handle { get; set; }
    }

    private sealed class Attachment(UserPushRoutes owner, UserEntry entry, IPushTarget target) : IAsyncDisposable
    {
        private int _disposed;

        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref _disposed, 1) == 0 ? new ValueTask(owner.DetachAsync(entry, target)) : ValueTask.CompletedTask;
    }
}
