using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Conversations;
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

    /// <summary>Joins the device's user to the room and routes the room's messages to the device.</summary>
    public async Task<RoomJoinResult> JoinAsync(string roomId, string userId, IPushTarget target)
    {
        await EnsureSubscribedAsync();
        // Listed before the grain hears of it, so no message sent right after the join can pass this device by.
        Joining(roomId, new RoomDevice(userId, target));
        RoomJoinResult result;
        try
        {
            result = await Room(roomId).JoinAsync(userId, EdgeId);
        }
        catch
        {
            JoinFailed(roomId, userId, target);
            throw;
        }

        if (result.Status != AccessStatus.Ok)
        {
            JoinFailed(roomId, userId, target);
            return result;
        }

        // The user grain makes the user leave the room when they go offline.
        _client.For<IUserGrain>(userId).OnRoomJoinedAsync(roomId, true).Ignore();
        if (!Joined(roomId, userId, target, result.Membership))
        {
            // The user left from another device after this join reached the room, and that notice got here first: the
            // join happened, and so did the leave.
            TellLeft(roomId, userId, [target], result.Membership);
        }

        return result;
    }

    /// <summary>
    /// The user leaves the room, with all their devices: those here at once, and those on other edge hosts when the room's
    /// notice reaches them (<see cref="RoomMembership"/>). Each device is told with its conversation entry, removed.
    /// </summary>
    public async Task<AccessStatus> LeaveAsync(string roomId, string userId)
    {
        var status = await Room(roomId).LeaveAsync(userId);
        // At once for the devices here, rather than when the room's notice comes; a device of the user that is joining
        // meanwhile waits for the notice, which tells whether its join came before the leave or after.
        foreach (var device in Forget(roomId, room => room.RemoveUser(userId)))
        {
            TellLeft(roomId, userId, [device.Target], device.Membership);
        }

        _client.For<IUserGrain>(userId).OnRoomJoinedAsync(roomId, false).Ignore();
        return status;
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
            RoomMembership[] held;
            lock (_lock)
            {
                if (!_rooms.TryGetValue(roomId, out var room))
                {
                    return;
                }

                held = room.Held();
            }

            if (held.Length == 0)
            {
                return;
            }

            RoomMembership[] members;
            try
            {
                members = await Room(roomId).ReattachAsync(EdgeId, held);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failed.Add(roomId);
                return;
            }

            var current = members.ToDictionary(m => m.UserId, m => m.Membership, StringComparer.Ordinal);
            foreach (var (userId, membership) in held)
            {
                if (current.TryGetValue(userId, out var now))
                {
                    lock (_lock)
                    {
                        if (_rooms.TryGetValue(roomId, out var room))
                        {
                            room.Renumbered(userId, membership, now);
                        }
                    }

                    // The user grain may have been lost too: it makes the user leave the room when they go offline.
                    _client.For<IUserGrain>(userId).OnRoomJoinedAsync(roomId, true).Ignore();
                }
                else
                {
                    // The user left while this edge did not hear of it.
                    var gone = Forget(roomId, room => room.Left(new RoomMembership(userId, membership)));
                    if (gone.Length > 0)
                    {
                        TellLeft(roomId, userId, Array.ConvertAll(gone, d => d.Target), membership);
                    }
                }
            }
        });
        return [.. failed];
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
            Forget(roomId, userId, target);
        }
    }

    /// <summary>Lists the device in the room (if it is not yet), as waiting for the room's answer to a join.</summary>
    private void Joining(string roomId, RoomDevice device)
    {
        lock (_lock)
        {
            if (!_rooms.TryGetValue(roomId, out var room))
            {
                _rooms[roomId] = room = new RoomDevices();
            }

            if (room.Joining(device))
            {
                ref var joined = ref CollectionsMarshal.GetValueRefOrAddDefault(_roomsOf, device.Target, out _);
                (joined ??= new JoinedRooms(device.UserId)).Rooms.Add(roomId);
            }
        }
    }

    /// <summary>The room refused the join, or could not be asked: a device that had joined before stays.</summary>
    private void JoinFailed(string roomId, string userId, IPushTarget target) =>
        Forget(roomId, room => room.JoinFailed(userId, target) is { } device ? [device] : []);

    /// <summary>The room answered a join with the membership; false when a notice that it ended came first.</summary>
    private bool Joined(string roomId, string userId, IPushTarget target, long membership)
    {
        bool stays;
        lock (_lock)
        {
            if (!_rooms.TryGetValue(roomId, out var room))
            {
                return true;
            }

            stays = room.Joined(userId, target, membership);
        }

        if (!stays)
        {
            Forget(roomId, userId, target);
        }

        return stays;
    }

    private void Forget(string roomId, string userId, IPushTarget target) =>
        Forget(roomId, room => room.Remove(userId, target) is { } device ? [device] : []);

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
    /// Tells the devices that their user left the room: its conversation entry, removed, whose version is the membership
    /// that ended (a device that joined again since, with a later membership, keeps the room).
    /// </summary>
    private static void TellLeft(string roomId, string userId, IPushTarget[] targets, long membership)
    {
        var left = new UserEventBatch(userId, [new ConversationUpdatedEvent(new ConversationEntry(
            roomId, ConversationKind.Room, LastSeq: 0, LastMessage: null, ReadSeq: 0, UnreadCount: 0, Muted: false,
            Pinned: false, Hidden: false, Draft: null, Mentioned: false, Removed: true, Version: membership))]);
        foreach (var target in targets)
        {
            target.Push(left);
        }
    }

    private async Task DetachAsync(string roomId)
    {
        await Room(roomId).DetachEdgeAsync(EdgeId);

        // A device here may have joined while the detach was on its way, and its join reached the room first: the room
        // would then send this edge nothing although a device here is in it. Attach again for it.
        string? member;
        lock (_lock)
        {
            member = _rooms.TryGetValue(roomId, out var room) ? room.AnyUser() : null;
        }

        if (member is not null)
        {
            await Room(roomId).JoinAsync(member, EdgeId);
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
            var gone = Forget(delivery.RoomId, room => room.Left(left));
            if (gone.Length > 0)
            {
                TellLeft(delivery.RoomId, left.UserId, Array.ConvertAll(gone, d => d.Target), left.Membership);
            }
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

    /// <summary>A device here in a room (its counts change under the fan-out's lock).</summary>
    private sealed class RoomDevice(string userId, IPushTarget target)
    {
        public string UserId { get; } = userId;

        public IPushTarget Target { get; } = target;

        /// <summary>The latest membership the room answered this device's joins with; 0 until the first answer.</summary>
        public long Membership { get; set; }

        /// <summary>Joins of this device still waiting for the room's answer.</summary>
        public int Joins { get; set; }
    }

    /// <summary>The rooms a device here joined (under the fan-out's lock).</summary>
    private sealed class JoinedRooms(string userId)
    {
        public string UserId { get; } = userId;

        public List<string> Rooms { get; } = [];
    }

    /// <summary>A room's devices here (under the fan-out's lock), and the array deliveries walk, made once per change.</summary>
    private sealed class RoomDevices
    {
        // By user: a leave, asked here or noticed from the room, takes out the user's devices without a walk over the room.
        private readonly Dictionary<string, RoomDevice[]> _byUser = new(StringComparer.Ordinal);

        // Memberships that ended while a device of the user was still waiting for the room's answer to its join: when the
        // answer names one of them, the join came before the leave and the device goes too. Kept only while such a join
        // is under way.
        private Dictionary<string, long>? _endedWhileJoining;
        private RoomDevice[]? _snapshot;

        public bool IsEmpty => _byUser.Count == 0;

        /// <summary>A join of the device is under way; true when the device was not here before.</summary>
        public bool Joining(RoomDevice device)
        {
            ref var ofUser = ref CollectionsMarshal.GetValueRefOrAddDefault(_byUser, device.UserId, out _);
            ofUser ??= [];
            if (Find(ofUser, device.Target) is { } here)
            {
                here.Joins++;
                return false;
            }

            device.Joins = 1;
            ofUser = [.. ofUser, device];
            _snapshot = null;
            return true;
        }

        /// <summary>A join failed: the device goes unless an earlier join of it stands or another is under way.</summary>
        public RoomDevice? JoinFailed(string userId, IPushTarget target)
        {
            if (!_byUser.TryGetValue(userId, out var ofUser) || Find(ofUser, target) is not { } device)
            {
                return null;
            }

            device.Joins--;
            if (device.Joins > 0 || device.Membership != 0)
            {
                ForgetEndedUnlessJoining(userId);
                return null;
            }

            return Remove(userId, target);
        }

        /// <summary>Takes the device out; null when it was not here.</summary>
        public RoomDevice? Remove(string userId, IPushTarget target)
        {
            if (!_byUser.TryGetValue(userId, out var ofUser) || Find(ofUser, target) is not { } device)
            {
                return null;
            }

            if (ofUser.Length == 1)
            {
                _byUser.Remove(userId);
            }
            else
            {
                _byUser[userId] = Array.FindAll(ofUser, d => d != device);
            }

            ForgetEndedUnlessJoining(userId);
            _snapshot = null;
            return device;
        }

        /// <summary>Takes out every device of the user but those waiting for the answer to a join.</summary>
        public RoomDevice[] RemoveUser(string userId)
        {
            if (!_byUser.TryGetValue(userId, out var ofUser))
            {
                return [];
            }

            return Take(userId, ofUser, Array.FindAll(ofUser, d => d.Joins == 0));
        }

        /// <summary>
        /// The room answered a join of the device with <paramref name="membership"/>. False when that membership has ended
        /// already (the caller takes the device out).
        /// </summary>
        public bool Joined(string userId, IPushTarget target, long membership)
        {
            if (_byUser.TryGetValue(userId, out var ofUser) && Find(ofUser, target) is { } device)
            {
                device.Joins--;
                device.Membership = Math.Max(device.Membership, membership);
            }

            var ended = _endedWhileJoining?.GetValueOrDefault(userId) ?? 0;
            ForgetEndedUnlessJoining(userId);
            return membership > ended;
        }

        /// <summary>
        /// A member left: takes out their devices whose membership ended, and remembers it for those still waiting for
        /// the room's answer to a join. A device whose membership is later (it joined again after the leave) stays.
        /// </summary>
        public RoomDevice[] Left(RoomMembership left)
        {
            if (!_byUser.TryGetValue(left.UserId, out var ofUser))
            {
                return [];
            }

            if (Array.Exists(ofUser, d => d.Joins > 0))
            {
                _endedWhileJoining ??= new(StringComparer.Ordinal);
                _endedWhileJoining[left.UserId] = Math.Max(left.Membership, _endedWhileJoining.GetValueOrDefault(left.UserId));
            }

            return Take(left.UserId, ofUser, Array.FindAll(ofUser, d => d.Joins == 0 && d.Membership <= left.Membership));
        }

        private RoomDevice[] Take(string userId, RoomDevice[] ofUser, RoomDevice[] gone)
        {
            if (gone.Length == 0)
            {
                return [];
            }

            if (gone.Length == ofUser.Length)
            {
                _byUser.Remove(userId);
            }
            else
            {
                _byUser[userId] = Array.FindAll(ofUser, d => Array.IndexOf(gone, d) < 0);
            }

            ForgetEndedUnlessJoining(userId);
            _snapshot = null;
            return gone;
        }

        /// <summary>An ended membership matters only while a device of the user waits for the room's answer.</summary>
        private void ForgetEndedUnlessJoining(string userId)
        {
            if (_endedWhileJoining is null
                || (_byUser.TryGetValue(userId, out var ofUser) && Array.Exists(ofUser, d => d.Joins > 0)))
            {
                return;
            }

            _endedWhileJoining.Remove(userId);
            if (_endedWhileJoining.Count == 0)
            {
                _endedWhileJoining = null;
            }
        }

        /// <summary>The latest membership each user's devices here hold (those whose joins were answered).</summary>
        public RoomMembership[] Held()
        {
            var held = new List<RoomMembership>(_byUser.Count);
            foreach (var (userId, ofUser) in _byUser)
            {
                var membership = 0L;
                foreach (var device in ofUser)
                {
                    membership = Math.Max(membership, device.Membership);
                }

                if (membership != 0)
                {
                    held.Add(new RoomMembership(userId, membership));
                }
            }

            return [.. held];
        }

        /// <summary>
        /// The room numbered the user's membership anew (it was activated again): devices that held <paramref name="before"/>
        /// hold <paramref name="now"/>, so that a notice that it ended takes them out.
        /// </summary>
        public void Renumbered(string userId, long before, long now)
        {
            if (!_byUser.TryGetValue(userId, out var ofUser))
            {
                return;
            }

            foreach (var device in ofUser)
            {
                if (device.Membership != 0 && device.Membership <= before)
                {
                    device.Membership = Math.Max(device.Membership, now);
                }
            }
        }

        public RoomDevice[] Snapshot() => _snapshot ??= [.. _byUser.Values.SelectMany(d => d)];

        public string? AnyUser() => _byUser.Keys.FirstOrDefault();

        private static RoomDevice? Find(RoomDevice[] devices, IPushTarget target)
        {
            foreach (var device in devices)
            {
                if (device.Target == target)
                {
                    return device;
                }
            }

            return null;
        }
    }
}
