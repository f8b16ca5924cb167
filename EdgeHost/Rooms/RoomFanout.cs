using System.Runtime.InteropServices;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
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
    private readonly Dictionary<string, RoomDevices> _rooms = new(StringComparer.Ordinal);
    private readonly Dictionary<IPushTarget, List<string>> _roomsOf = new(ReferenceEqualityComparer.Instance);
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
        // A device that had joined already stays when asking again fails: its first join stands.
        var added = Add(roomId, new RoomDevice(userId, target));
        RoomJoinResult result;
        try
        {
            result = await Room(roomId).JoinAsync(userId, EdgeId);
        }
        catch
        {
            if (added)
            {
                Forget(roomId, [target]);
            }

            throw;
        }

        if (result.Status != AccessStatus.Ok)
        {
            if (added)
            {
                Forget(roomId, [target]);
            }

            return result;
        }

        // The user grain makes the user leave the room when they go offline.
        _client.For<IUserGrain>(userId).OnRoomJoinedAsync(roomId, true).Ignore();
        return result;
    }

    /// <summary>
    /// The user leaves the room: the room's members no longer list them, and their devices here get no more of it. Their
    /// devices on other edges keep getting it until they disconnect (the room does not tell other edges).
    /// </summary>
    public async Task<AccessStatus> LeaveAsync(string roomId, string userId)
    {
        var status = await Room(roomId).LeaveAsync(userId);
        IPushTarget[] ofUser;
        lock (_lock)
        {
            ofUser = _rooms.TryGetValue(roomId, out var room) ? room.TargetsOf(userId) : [];
        }

        Forget(roomId, ofUser);
        _client.For<IUserGrain>(userId).OnRoomJoinedAsync(roomId, false).Ignore();
        return status;
    }

    /// <summary>A device's connection ended: it gets no more room messages (its user stays a member until offline).</summary>
    public void Forget(IPushTarget target)
    {
        string[] rooms;
        lock (_lock)
        {
            rooms = _roomsOf.TryGetValue(target, out var joined) ? [.. joined] : [];
        }

        foreach (var roomId in rooms)
        {
            Forget(roomId, [target]);
        }
    }

    /// <summary>Lists the device in the room; false when it was listed already.</summary>
    private bool Add(string roomId, RoomDevice device)
    {
        lock (_lock)
        {
            if (!_rooms.TryGetValue(roomId, out var room))
            {
                _rooms[roomId] = room = new RoomDevices();
            }

            if (!room.Add(device))
            {
                return false;
            }

            ref var joined = ref CollectionsMarshal.GetValueRefOrAddDefault(_roomsOf, device.Target, out _);
            (joined ??= []).Add(roomId);
            return true;
        }
    }

    private void Forget(string roomId, IReadOnlyList<IPushTarget> targets)
    {
        var lastLeft = false;
        lock (_lock)
        {
            if (!_rooms.TryGetValue(roomId, out var room))
            {
                return;
            }

            foreach (var target in targets)
            {
                if (room.Remove(target) && _roomsOf.TryGetValue(target, out var joined))
                {
                    joined.Remove(roomId);
                    if (joined.Count == 0)
                    {
                        _roomsOf.Remove(target);
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

    private sealed record RoomDevice(string UserId, IPushTarget Target);

    /// <summary>A room's devices here (under the fan-out's lock), and the array deliveries walk, made once per change.</summary>
    private sealed class RoomDevices
    {
        private readonly Dictionary<IPushTarget, RoomDevice> _byTarget = new(ReferenceEqualityComparer.Instance);
        private RoomDevice[]? _snapshot;

        public bool IsEmpty => _byTarget.Count == 0;

        /// <summary>False when the device was here already.</summary>
        public bool Add(RoomDevice device)
        {
            if (!_byTarget.TryAdd(device.Target, device))
            {
                return false;
            }

            _snapshot = null;
            return true;
        }

        public bool Remove(IPushTarget target)
        {
            if (!_byTarget.Remove(target))
            {
                return false;
            }

            _snapshot = null;
            return true;
        }

        public IPushTarget[] TargetsOf(string userId) =>
            [.. _byTarget.Values.Where(d => d.UserId == userId).Select(d => d.Target)];

        public RoomDevice[] Snapshot() => _snapshot ??= [.. _byTarget.Values];

        public string? AnyUser() => _byTarget.Values.FirstOrDefault()?.UserId;
    }
}
