using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;
using Orleans.Im.Conversations;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Rooms;
using Orleans.Im.Streams;
using Orleans.Im.Users;
using Orleans.Streams;

namespace Orleans.Im.EdgeHost.Rooms;

/// <summary>
/// The edge side of chat rooms: which devices here joined which room, and one subscription to this edge's stream on
/// which rooms send their messages once for all of them (the room grain never calls per member).
/// </summary>
public sealed partial class RoomFanout : IDisposable
{
    /// <summary>The meter of the rooms' instruments (exported on <c>/metrics</c>).</summary>
    public const string MeterName = "Orleans.Im.Rooms";

    // The devices here of each room, and the rooms of each device: a closed connection and a leaving device cost what
    // they touch, not a walk over every room's devices (a reconnect storm of one room of thousands on this edge would
    // otherwise be quadratic, in time and in garbage).
    private const int DetachAttempts = 4;
    private static readonly TimeSpan DetachRetryDelay = TimeSpan.FromSeconds(5);

    private readonly Dictionary<string, RoomDevices> _rooms = new(StringComparer.Ordinal);
    private readonly Dictionary<IPushTarget, JoinedRooms> _roomsOf = new(ReferenceEqualityComparer.Instance);
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _subscribing = new(1, 1);
    private StreamSubscriptionHandle<RoomDelivery>? _subscription;
    private readonly IClusterClient _client;
    private readonly IOptions<EdgeOptions> _options;
    private readonly ILogger<RoomFanout> _logger;
    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _batches;
    private long _delivered;

    public RoomFanout(IClusterClient client, IOptions<EdgeOptions> options, IMeterFactory meters, ILogger<RoomFanout> logger)
    {
        _client = client;
        _options = options;
        _logger = logger;
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("im_edge_rooms", () => RoomCount, "{room}", "Chat rooms with at least one device on this edge host.");
        _deliveries = meter.CreateCounter<long>("im_edge_room_deliveries_total", "{message}", "Room messages handed to devices on this edge host.");
        _batches = meter.CreateCounter<long>("im_edge_room_batches_total", "{batch}", "Room deliveries received from room grains (one per room per round, for all devices here).");
    }

    /// <summary>Rooms with at least one device here.</summary>
    public int RoomCount
    {
        get
        {
            lock (_lock)
            {
                return _rooms.Count;
            }
        }
    }

    /// <summary>Room messages handed to devices here so far (one per device per message).</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    private string EdgeId => _options.Value.EdgeId;

    /// <summary>
    /// Joins the device's user to the room and routes the room's messages to the device. <paramref name="rejoining"/>: the
    /// membership the device held before its reconnect (0 for a join the user asked for); a membership the user left
    /// since is refused.
    /// </summary>
    public async Task<RoomJoinResult> JoinAsync(string roomId, string userId, IPushTarget target, long rejoining)
    {
        await EnsureSubscribedAsync();
        // Listed before the grain hears of it, so no message sent right after the join can pass this device by.
        RoomDevice device;
        bool attaching;
        lock (_lock)
        {
            if (_roomsOf.TryGetValue(target, out var already) && already.Rooms.Count >= _options.Value.MaxRoomsPerDevice
                && !already.Rooms.Contains(roomId))
            {
                return new RoomJoinResult(AccessStatus.NotAllowed, 0, []);
            }

            ref var room = ref CollectionsMarshal.GetValueRefOrAddDefault(_rooms, roomId, out var exists);
            attaching = !exists;
            room ??= new RoomDevices();

            device = room.Joining(userId, target, out var added);
            if (added)
            {
                ref var joined = ref CollectionsMarshal.GetValueRefOrAddDefault(_roomsOf, target, out _);
                (joined ??= new JoinedRooms(userId)).Rooms.Add(roomId);
            }
        }

        RoomJoinResult result;
        try
        {
            result = rejoining > 0
                ? await Room(roomId).RejoinAsync(userId, EdgeId, rejoining)
                : await Room(roomId).JoinFromEdgeAsync(userId, EdgeId);
        }
        catch
        {
            TakeOut(roomId, room => room.JoinFailed(device));
            throw;
        }

        // Refused: a device that had joined before stays, unless its membership ended meanwhile, or the refusal says so
        // (a rejoin of a membership the user left). Answered: the device goes at once if the room's notice that this
        // membership ended came first (the join happened, and so did the leave, from another device).
        TakeOut(roomId, room => result.Status switch
        {
            AccessStatus.Ok => room.Joined(device, result.Membership),
            AccessStatus.NoAccess when rejoining > 0 => [.. room.JoinFailed(device), .. room.Left(new RoomMembership(userId, rejoining))],
            _ => room.JoinFailed(device),
        });
        if (attaching && result.Status == AccessStatus.Ok)
        {
            // Renewed at once, not only at the next renewal: the room hears which memberships this edge holds (the join
            // started the edge's lease; a room reactivated since knows nothing of the others).
            RenewInBackgroundAsync(roomId).Ignore();
        }

        return result;
    }

    /// <summary>
    /// The user leaves the room, with all their devices: those here at once, and those on other edge hosts when the room's
    /// notice reaches them (<see cref="RoomMembership"/>). Each device is told with its conversation entry, removed.
    /// </summary>
    public async Task<AccessStatus> LeaveAsync(string roomId, string userId)
    {
        var result = await Room(roomId).EndMembershipAsync(userId);
        if (result.Status == AccessStatus.Invalid)
        {
            return AccessStatus.NotFound;
        }

        // At once for the devices here, rather than when the room's notice comes; by the membership that ended, so that a
        // device that joined again since stays. Also when the room says the user was not a member: devices here may
        // still be listed from a notice this edge missed.
        TakeOut(roomId, room => room.Left(result.Ended));
        return result.Status;
    }

    /// <summary>The rooms the device is in here (to tell a user grain that forgot them).</summary>
    public string[] RoomsOf(IPushTarget target)
    {
        lock (_lock)
        {
            return _roomsOf.TryGetValue(target, out var joined) ? [.. joined.Rooms] : [];
        }
    }

    /// <summary>
    /// Tells every room with devices here (or those of <paramref name="only"/>) which of its members have devices here, at
    /// most <paramref name="parallelism"/> rooms at once, and returns the rooms that could not be told (to try again
    /// later). A room that was on a silo that died comes back elsewhere knowing neither its members nor this edge: it
    /// would refuse their sends and send this edge nothing. Users who left meanwhile stay out, and their devices here are
    /// taken out and told.
    /// </summary>
    public async Task<IReadOnlyList<string>> ReattachAsync(IEnumerable<string>? only, int parallelism, CancellationToken cancellationToken)
    {
        string[] roomIds;
        lock (_lock)
        {
            roomIds = [.. only ?? _rooms.Keys];
        }

        var failed = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(roomIds, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken }, async (roomId, _) =>
        {
            try
            {
                await ReattachAsync(roomId);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Boundary: the caller tries the room again later.
                LogReattachFailed(_logger, roomId, ex.Message);
                failed.Add(roomId);
            }
        });
        return [.. failed];
    }

    /// <summary>
    /// The room refused <paramref name="userId"/>'s send as not a member while a device of theirs here holds a membership:
    /// the room came back on another silo (its silo lost, a deploy) and has not heard from this edge yet. Tells it the
    /// memberships held here at once, rather than at the sweep, and answers whether the send is worth trying again.
    /// </summary>
    public async Task<bool> ReattachForSendAsync(string roomId, string userId)
    {
        lock (_lock)
        {
            if (!_rooms.TryGetValue(roomId, out var room) || !room.Holds(userId))
            {
                return false;
            }
        }

        await ReattachAsync(roomId);
        lock (_lock)
        {
            // The room may have said the membership had ended meanwhile (a leave elsewhere): then the refusal stands.
            return _rooms.TryGetValue(roomId, out var room) && room.Holds(userId);
        }
    }

    /// <summary>A device's connection ended: it gets no more room messages (its user stays a member until offline).</summary>
    public void Forget(IPushTarget target)
    {
        string userId;
        string[] rooms;
        lock (_lock)
        {
            if (!_roomsOf.TryGetValue(target, out var joined))
            {
                return;
            }

            (userId, rooms) = (joined.UserId, [.. joined.Rooms]);
        }

        foreach (var roomId in rooms)
        {
            Forget(roomId, room => room.Remove(userId, target) is { } device ? [device] : []);
        }
    }

    private async Task RenewInBackgroundAsync(string roomId)
    {
        try
        {
            await ReattachAsync(roomId);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Boundary: the periodic renewal tries again.
            LogReattachFailed(_logger, roomId, ex.Message);
        }
    }

    /// <summary>
    /// Tells the room the memberships its devices here hold, and applies its answer (see the public overload). Also this
    /// edge's lease with the room (<see cref="IRoomGrain.RenewAsync"/>): it is renewed every few minutes
    /// (<see cref="RoomLeaseRenewal"/>), and the room drops an edge that stopped, and members no edge reports.
    /// </summary>
    private async Task ReattachAsync(string roomId)
    {
        RoomMembership[] held;
        lock (_lock)
        {
            if (!_rooms.TryGetValue(roomId, out var room))
            {
                return;
            }

            // Possibly none, when every device here is still joining: the room attaches this edge all the same.
            held = room.Held();
        }

        var current = (await Room(roomId).RenewAsync(EdgeId, held)).ToDictionary(m => m.UserId, m => m.Membership, StringComparer.Ordinal);
        TakeOut(roomId, room => room.Reattached(held, current));
    }

    /// <summary>Takes out the devices <paramref name="take"/> removes (see <see cref="Forget(string, Func{RoomDevices, RoomDevice[]})"/>), and tells them.</summary>
    private void TakeOut(string roomId, Func<RoomDevices, RoomDevice[]> take) => TellLeft(roomId, Forget(roomId, take));

    /// <summary>
    /// Takes out of the room the devices <paramref name="take"/> removes from it, and detaches this edge from the room when
    /// they were its last devices here. Answers the devices taken out.
    /// </summary>
    private RoomDevice[] Forget(string roomId, Func<RoomDevices, RoomDevice[]> take)
    {
        RoomDevice[] gone;
        var lastLeft = false;
        lock (_lock)
        {
            if (!_rooms.TryGetValue(roomId, out var room))
            {
                return [];
            }

            gone = take(room);
            foreach (var device in gone)
            {
                if (_roomsOf.TryGetValue(device.Target, out var joined))
                {
                    joined.Rooms.Remove(roomId);
                    if (joined.Rooms.Count == 0)
                    {
                        _roomsOf.Remove(device.Target);
                    }
                }
            }

            if (room.IsEmpty)
            {
                _rooms.Remove(roomId);
                lastLeft = true;
            }
        }

        if (lastLeft)
        {
            // The last device here left: the room stops sending to this edge.
            DetachAsync(roomId).Ignore();
        }

        return gone;
    }

    /// <summary>
    /// Tells the devices taken out that held a membership that their user left the room: its conversation entry, removed,
    /// whose version is the membership that ended (the SDK keeps a room it joined again since, with a later membership).
    /// </summary>
    private static void TellLeft(string roomId, RoomDevice[] gone)
    {
        foreach (var device in gone)
        {
            if (device.Membership == 0)
            {
                // Never joined: its join failed, and the caller hears of that.
                continue;
            }

            device.Target.Push(new UserEventBatch(device.UserId, [new ConversationUpdatedEvent(new ConversationEntry(
                roomId, ConversationKind.Room, LastSeq: 0, LastMessage: null, ReadSeq: 0, UnreadCount: 0, Muted: false,
                Pinned: false, Hidden: false, Draft: null, Mentioned: false, Removed: true, Version: device.Membership))]));
        }
    }

    private async Task DetachAsync(string roomId)
    {
        // A device here may have joined while the detach was on its way, and its join reached the room first: the room
        // would then send this edge nothing although a device here is in it. The detach is answered once done, so then
        // attach again if any device is here, answered or still joining (the room takes back only memberships it lost
        // with an activation before, never one that ended by a leave).
        // Tried a few times: a failure here would leave such a device getting nothing until the next sweep.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await Room(roomId).DetachAsync(EdgeId);
                bool joinedMeanwhile;
                lock (_lock)
                {
                    joinedMeanwhile = _rooms.ContainsKey(roomId);
                }

                if (joinedMeanwhile)
                {
                    await ReattachAsync(roomId);
                }

                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Boundary: tried again shortly, a few times; after that the next sweep or join here attaches again.
                LogDetachFailed(_logger, roomId, attempt, ex.Message);
                if (attempt == DetachAttempts)
                {
                    return;
                }

                await Task.Delay(DetachRetryDelay);
            }
        }
    }

    private async Task EnsureSubscribedAsync()
    {
        if (_subscription is not null)
        {
            return;
        }

        await _subscribing.WaitAsync();
        try
        {
            _subscription ??= await _client.GetStreamProvider(StreamNames.Provider)
                .GetStream<RoomDelivery>(StreamId.Create(StreamNames.EdgeNamespace, EdgeId))
                .SubscribeAsync((delivery, _) => Deliver(delivery));
        }
        finally
        {
            _subscribing.Release();
        }
    }

    private Task Deliver(RoomDelivery delivery)
    {
        foreach (var left in delivery.Left ?? [])
        {
            // Before the messages: they may have been sent after the user left.
            TakeOut(delivery.RoomId, room => room.Left(left));
        }

        if (delivery.Messages.Length == 0)
        {
            return Task.CompletedTask;
        }

        RoomDevice[] devices;
        lock (_lock)
        {
            if (!_rooms.TryGetValue(delivery.RoomId, out var room))
            {
                return Task.CompletedTask;
            }

            devices = room.Snapshot();
        }

        // One array of events for every device here (they are immutable): in a room of thousands a copy per device was
        // thousands of arrays and events per message. Only a device that sent one of the messages gets its own.
        UserEvent[] all = Array.ConvertAll(delivery.Messages, m => (UserEvent)new MessageEvent(m));
        long handed = 0;
        foreach (var device in devices)
        {
            var events = SentAny(delivery.Messages, device) ? WithoutOwn(all, device) : all;
            if (events.Length > 0)
            {
                device.Target.Push(new UserEventBatch(device.UserId, events));
                handed += events.Length;
            }
        }

        Interlocked.Add(ref _delivered, handed);
        _deliveries.Add(handed);
        _batches.Add(1);
        LogDelivered(_logger, delivery.RoomId, delivery.Messages.Length, devices.Length);
        return Task.CompletedTask;
    }

    public void Dispose() => _subscribing.Dispose();

    // A device is not echoed what it sent itself: its ack told it.
    private static bool SentBy(ChatMessage message, RoomDevice device) =>
        message.SenderId == device.UserId && message.SenderDeviceId == device.Target.DeviceId;

    // A loop rather than a lambda: this runs for every device of every delivery, and a capturing lambda allocates.
    private static bool SentAny(ChatMessage[] messages, RoomDevice device)
    {
        foreach (var message in messages)
        {
            if (SentBy(message, device))
            {
                return true;
            }
        }

        return false;
    }

    private static UserEvent[] WithoutOwn(UserEvent[] events, RoomDevice device) =>
        Array.FindAll(events, e => !SentBy(((MessageEvent)e).Message, device));

    private IRoomGrain Room(string roomId) => _client.For<IRoomGrain>(roomId);

    [LoggerMessage(1, LogLevel.Debug, "Room {RoomId}: {Messages} messages to {Devices} devices")]
    private static partial void LogDelivered(ILogger logger, string roomId, int messages, int devices);

    [LoggerMessage(2, LogLevel.Warning, "Room {RoomId}: telling it this edge's members failed: {Reason}")]
    private static partial void LogReattachFailed(ILogger logger, string roomId, string reason);

    [LoggerMessage(3, LogLevel.Warning, "Room {RoomId}: detaching this edge failed (attempt {Attempt}): {Reason}")]
    private static partial void LogDetachFailed(ILogger logger, string roomId, int attempt, string reason);

    /// <summary>The rooms a device here joined (under the fan-out's lock).</summary>
    private sealed class JoinedRooms(string userId)
    {
        public string UserId { get; } = userId;

        public List<string> Rooms { get; } = [];
    }
}
