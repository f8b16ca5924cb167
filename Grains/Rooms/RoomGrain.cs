using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Im.Conversations;
using Orleans.Im.Messages;
using Orleans.Im.Streams;
using Orleans.Im.Users;

namespace Orleans.Im.Rooms;

/// <summary>
/// A chat room (see <see cref="IRoomGrain"/>). Nothing here is stored: members, edges and the last messages live in
/// memory, which is what a room is for (many members, messages that matter now). Fan-out is per edge host, not per
/// member: each message goes once to each edge host with devices in the room, and messages that arrive while a
/// delivery is under way go out together in the next one.
/// </summary>
public sealed partial class RoomGrain(IOptions<RoomOptions> options, ImClock clock, ILogger<RoomGrain> logger) : Grain, IRoomGrain
{
    /// <summary>How long an occupied room is kept from idle collection; renewed by every join.</summary>
    private static readonly TimeSpan OccupiedKeepAlive = TimeSpan.FromDays(30);

    /// <summary>Lease sweeps per lease: a lapsed edge or member goes at most this fraction of a lease late.</summary>
    private const int SweepsPerLease = 4;

    /// <summary>The longest between two sweeps, whatever the lease: the timer of a room whose edges all died.</summary>
    private static readonly TimeSpan MaxSweepInterval = TimeSpan.FromMinutes(5);

    /// <summary>Messages handed to the edges in one delivery at most (a round's message must stay well within the cluster's limits).</summary>
    private const int MaxMessagesPerDelivery = 256;

    private readonly RoomOptions _options = options.Value;
    // Each member's membership number (see RoomJoinResult.Membership).
    private readonly Dictionary<string, long> _members = new(StringComparer.Ordinal);
    // When each member was last reported by an edge host (or joined): one no edge holds a device of any more leaves once
    // its lease lapses (see RoomOptions.EdgeLease).
    private readonly Dictionary<string, DateTimeOffset> _reported = new(StringComparer.Ordinal);
    private readonly HashSet<string> _edges = new(StringComparer.Ordinal);
    // The edges among _edges that renew (RenewAsync), with when their lease lapses. The others are from before renewals:
    // never dropped, and while one is attached no member lapses (it may hold their devices without saying).
    private readonly Dictionary<string, DateTimeOffset> _edgeLeases = new(StringComparer.Ordinal);
    private DateTimeOffset _nextSweep;
    private readonly Queue<ChatMessage> _recent = new();
    private readonly List<ChatMessage> _outbox = [];
    private readonly List<RoomMembership> _leftOutbox = [];

    private readonly RememberedLeaves _leaves = new(options.Value.RememberedLeaves);
    private readonly Dictionary<string, SendRateLimiter> _rates = new(StringComparer.Ordinal);

    private readonly TypingThrottle _typing = new();
    private readonly SendRateLimiter _roomRate = new(options.Value.RoomSendRatePerSecond, options.Value.RoomSendBurst);
    private readonly ClientMsgIdCache _clientMsgIds = new(options.Value.DedupWindowSize);
    private Task? _delivering;
    private long _lastSeq;

    // Memberships are numbered from the activation's start in Unix microseconds, so that a reactivated room numbers above
    // any membership an edge host may still hold from before (it would take a thousand joins a millisecond to catch up):
    // a membership at most _firstMembership, or above _lastMembership (from a silo whose clock was ahead), is one this
    // activation never knew. Microseconds, not ticks: browsers read these numbers as doubles, exact only below 2^53.
    private readonly long _firstMembership = clock.UtcNow.ToUnixTimeMilliseconds() * 1000;
    private long _lastMembership;

    private string RoomId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _lastMembership = _firstMembership;
        _nextSweep = clock.UtcNow + SweepInterval;
        // Also when no edge renews any more (all died): their leases lapse all the same. Not a keep-alive: the room lives
        // while occupied, and an empty one has nothing to sweep.
        this.RegisterGrainTimer(SweepTickAsync, new GrainTimerCreationOptions(SweepInterval, SweepInterval) { Interleave = false, KeepAlive = false });
        return Task.CompletedTask;
    }

    public Task<RoomJoinResult> JoinAsync(string userId, string? edgeId) =>
        Task.FromResult(Join(userId, edgeId, rejoining: 0, edgeRenews: false));

    public Task<RoomJoinResult> JoinFromEdgeAsync(string userId, string edgeId) =>
        Task.FromResult(string.IsNullOrEmpty(edgeId)
            ? new RoomJoinResult(AccessStatus.Invalid, _members.Count, [])
            : Join(userId, edgeId, rejoining: 0, edgeRenews: true));

    public Task<RoomJoinResult> RejoinAsync(string userId, string edgeId, long membership) =>
        Task.FromResult(membership <= 0 || string.IsNullOrEmpty(edgeId)
            ? new RoomJoinResult(AccessStatus.Invalid, _members.Count, [])
            : Join(userId, edgeId, membership, edgeRenews: true));

    public async Task<AccessStatus> LeaveAsync(string userId) => (await EndMembershipAsync(userId)).Status;

    public Task<RoomLeaveResult> EndMembershipAsync(string userId)
    {
        if (!GrainKeys.IsValidUserId(userId) || !IsRoom())
        {
            return Task.FromResult(new RoomLeaveResult(AccessStatus.Invalid, new RoomMembership(userId ?? "", 0)));
        }

        // Not a member: an edge host may still list their devices (a notice it missed, or this room was lost with its
        // silo and has not heard of them again), so every membership up to now ends all the same; once, not at every
        // repeat (leaves asked again and again must not flush the remembered leaves of others, nor flood the edges).
        var status = RemoveMember(userId, out var membership) ? AccessStatus.Ok : AccessStatus.NotFound;
        var ended = new RoomMembership(userId, status == AccessStatus.Ok ? membership : _lastMembership);
        if (status == AccessStatus.NotFound && _leaves.TryGet(userId, out var known) && known >= ended.Membership)
        {
            return Task.FromResult(new RoomLeaveResult(status, new RoomMembership(userId, known)));
        }

        // Remembered first: the leave that empties the room is one to keep it for (counted before, it was not).
        _leaves.Remember(ended);
        KeepWhileOccupied();
        GrainFactory.For<IUserGrain>(userId).OnRoomJoinedAsync(RoomId, false).Ignore();
        // Their devices may be on any edge host here, not only the one that asked: each of them hears of it.
        _leftOutbox.Add(ended);
        StartDelivering();
        return Task.FromResult(new RoomLeaveResult(status, ended));
    }

    public Task OnMemberOfflineAsync(string userId)
    {
        // No notice to the edges: an offline user has no connected device left on any of them.
        if (RemoveMember(userId, out _))
        {
            KeepWhileOccupied();
        }

        return Task.CompletedTask;
    }

    public Task<RoomMembership[]> ReattachAsync(string edgeId, RoomMembership[] memberships) =>
        Task.FromResult(Attach(edgeId, memberships, renews: false));

    public Task<RoomMembership[]> RenewAsync(string edgeId, RoomMembership[] memberships)
    {
        var members = Attach(edgeId, memberships, renews: true);
        if (clock.UtcNow >= _nextSweep)
        {
            // Here too, not only on the timer: the renewals tell when time has passed for the leases (and a test clock).
            Sweep();
        }

        return Task.FromResult(members);
    }

    private RoomMembership[] Attach(string edgeId, RoomMembership[] memberships, bool renews)
    {
        ArgumentNullException.ThrowIfNull(memberships);
        if (string.IsNullOrEmpty(edgeId) || !IsRoom())
        {
            return [];
        }

        // Attached even with no membership to tell: the edge has devices whose joins are still on their way.
        _edges.Add(edgeId);
        var now = clock.UtcNow;
        if (renews || _edgeLeases.ContainsKey(edgeId))
        {
            _edgeLeases[edgeId] = now + _options.EdgeLease;
        }

        var members = new List<RoomMembership>(memberships.Length);
        foreach (var (userId, held) in memberships)
        {
            if (!GrainKeys.IsValidUserId(userId) || held <= 0)
            {
                continue;
            }

            if (_leaves.TryGet(userId, out var ended) && held <= ended)
            {
                // They left since (maybe while this edge was not attached to hear of it).
                continue;
            }

            // Numbered by this activation: above its first number and at most its last. Above its last is from an
            // activation before, on a silo whose clock was ahead of this one's.
            var ours = held > _firstMembership && held <= _lastMembership;
            if (_members.TryGetValue(userId, out var membership))
            {
                // The same membership, or one from before this activation that another edge host brought back. A
                // membership of this activation other than the current one ended (the user left and joined again).
                if (held == membership || !ours)
                {
                    members.Add(new RoomMembership(userId, membership));
                    _reported[userId] = now;
                }

                continue;
            }

            if (ours)
            {
                // Ended in this activation: left, or offline past the grace.
                continue;
            }

            // Lost with the activation before: the user is back (a member then, so not held to the room's size now), with
            // a number after any the edges and devices hold, and their user grain (which may have been lost too) hears
            // of it.
            _lastMembership = Math.Max(_lastMembership, held);
            membership = ++_lastMembership;
            _members[userId] = membership;
            _reported[userId] = now;
            GrainFactory.For<IUserGrain>(userId).OnRoomJoinedAsync(RoomId, true).Ignore();
            members.Add(new RoomMembership(userId, membership));
        }

        KeepWhileOccupied();
        return [.. members];
    }

    public Task DetachEdgeAsync(string edgeId) => DetachAsync(edgeId);

    public Task DetachAsync(string edgeId)
    {
        _edges.Remove(edgeId);
        _edgeLeases.Remove(edgeId);
        return Task.CompletedTask;
    }

    public Task<RoomInfo> GetInfoAsync() => Task.FromResult(new RoomInfo(RoomId, _members.Count, _edges.Count, _lastSeq));

    public Task<SendResult> SendAsync(SendRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_clientMsgIds.TryGet(request.SenderId, request.ClientMsgId, out var original))
        {
            // Before membership: the retry of a send that went out, after the sender left, is still answered as sent.
            return Task.FromResult(new SendResult(SendStatus.Duplicate, original.Seq, original.Time));
        }

        if (!_members.ContainsKey(request.SenderId))
        {
            return Refused(SendStatus.NoAccess, "join the room first");
        }

        if (string.IsNullOrEmpty(request.ClientMsgId) || request.ClientMsgId.Length > MessageLimits.MaxClientMsgIdLength)
        {
            return Refused(SendStatus.Invalid, $"clientMsgId must be 1-{MessageLimits.MaxClientMsgIdLength} characters");
        }

        if (request.Mentions is { Count: > 0 })
        {
            // As in any conversation but a group (a room has no member list to mention from, nor entries to flag).
            return Refused(SendStatus.Invalid, "mentions are for groups");
        }

        if (MessageValidator.Validate(request.Content) is { } refusal)
        {
            return Refused(refusal.Status, refusal.Error);
        }

        if (request.Content!.ReplyToSeq > _lastSeq)
        {
            // Room seqs start again when the room does: only one this activation gave out names a message of it.
            return Refused(SendStatus.Invalid, "a reply names a message already in the room");
        }

        if (CallSignal.Is(request.Content))
        {
            return Refused(SendStatus.Invalid, "call signals go to one-to-one conversations");
        }

        var now = clock.UtcNow;
        if (TypingIndicator.Is(request.Content))
        {
            // Throttled, not refused, as in a conversation (a client may send one per keystroke). And not a message: it
            // takes no seq, no send-rate token (typing used up the sender's, and a room's worth of typists the room's, so
            // that real messages were refused), no place among the recent messages a late joiner is given, nor in the
            // retry memory.
            if (_typing.TryForward(request.SenderId, now))
            {
                _outbox.Add(new ChatMessage(RoomId, 0, request.SenderId, request.SenderDeviceId, request.ClientMsgId, MessageClass.Instant, request.Content, now));
                StartDelivering();
            }

            return Task.FromResult(new SendResult(SendStatus.Sent, 0, now));
        }

        if (!RateLimiterFor(request.SenderId).TryAcquire(now))
        {
            return Refused(SendStatus.RateLimited, "sending too fast");
        }

        // The member's own limit first: one member sending too fast must not use up the room's.
        if (!_roomRate.TryAcquire(now))
        {
            return Refused(SendStatus.RateLimited, "the room is busy; slow down");
        }

        // Room messages are instant: pushed to whoever is here, never logged; the seq only orders them.
        var message = new ChatMessage(RoomId, ++_lastSeq, request.SenderId, request.SenderDeviceId, request.ClientMsgId,
            MessageClass.Instant, request.Content, now);
        _clientMsgIds.Remember(request.SenderId, request.ClientMsgId, message.Seq, now);
        _recent.Enqueue(message);
        while (_recent.Count > _options.RecentMessages)
        {
            _recent.Dequeue();
        }

        _outbox.Add(message);
        StartDelivering();
        return Task.FromResult(new SendResult(SendStatus.Sent, message.Seq, now));
    }

    private RoomJoinResult Join(string userId, string? edgeId, long rejoining, bool edgeRenews)
    {
        if (!GrainKeys.IsValidUserId(userId) || (edgeId is not null && edgeId.Length == 0) || !IsRoom())
        {
            return new RoomJoinResult(AccessStatus.Invalid, _members.Count, []);
        }

        if (!_members.TryGetValue(userId, out var membership))
        {
            if (rejoining != 0 && _leaves.TryGet(userId, out var ended) && rejoining <= ended)
            {
                // The user left from another device while this one was away: it does not bring them back.
                return new RoomJoinResult(AccessStatus.NoAccess, _members.Count, []);
            }

            if (_members.Count >= _options.MaxMembers)
            {
                return new RoomJoinResult(AccessStatus.NotAllowed, _members.Count, []);
            }

            membership = ++_lastMembership;
            _members[userId] = membership;
        }

        _reported[userId] = clock.UtcNow;
        // The user grain makes the user leave the room when they go offline. Told on every join (it is idempotent), so
        // that a user grain activated again without its list of rooms learns it back.
        GrainFactory.For<IUserGrain>(userId).OnRoomJoinedAsync(RoomId, true).Ignore();
        KeepWhileOccupied();
        if (edgeId is not null)
        {
            _edges.Add(edgeId);
            if (edgeRenews || _edgeLeases.ContainsKey(edgeId))
            {
                // A join through it says it is alive as well as a renewal does; and an edge that renews is leased from
                // its first join, not its first renewal (which comes after the join's answer, and never if it dies first).
                _edgeLeases[edgeId] = clock.UtcNow + _options.EdgeLease;
            }
        }

        return new RoomJoinResult(AccessStatus.Ok, _members.Count, [.. _recent], membership);
    }

    /// <summary>
    /// The ack of a send (or a leave) does not wait for delivery: a delivery already under way takes what is new in its
    /// next round.
    /// </summary>
    private void StartDelivering()
    {
        if (_delivering is null || _delivering.IsCompleted)
        {
            _delivering = DeliverAsync();
        }
    }

    /// <summary>Hands the outboxes to every edge host in the room, round after round, until they stay empty.</summary>
    private async Task DeliverAsync()
    {
        // Sends already queued for this room run first and join this round.
        await Task.Yield();
        var provider = this.GetStreamProvider(StreamNames.Provider);
        while (_outbox.Count > 0 || _leftOutbox.Count > 0)
        {
            // At most so many messages a round: what piled up while an edge was slow would otherwise go as one message
            // larger than the cluster carries, and fail for every edge.
            var taken = Math.Min(_outbox.Count, MaxMessagesPerDelivery);
            // Leaves go with the last of the messages queued with them: edges take a leaver's devices out when a delivery
            // arrives, and messages sent before the leave must reach them first.
            var leaves = taken == _outbox.Count && _leftOutbox.Count > 0 ? _leftOutbox.ToArray() : null;
            var delivery = new RoomDelivery(RoomId, [.. _outbox.GetRange(0, taken)], leaves);
            _outbox.RemoveRange(0, taken);
            if (leaves is not null)
            {
                _leftOutbox.Clear();
            }
            await Task.WhenAll(_edges.ToArray().Select(async edgeId =>
            {
                try
                {
                    await provider.GetStream<RoomDelivery>(StreamId.Create(StreamNames.EdgeNamespace, edgeId)).OnNextAsync(delivery);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Boundary: rooms are best effort; one edge's trouble must not hold up the others.
                    LogDeliveryFailed(logger, RoomId, edgeId, ex.Message);
                }
            }));
        }
    }

    /// <summary>
    /// Members live only in this activation: keep it while anyone is in the room (idle collection would empty the room),
    /// and let it go once the room is empty.
    /// </summary>
    private void KeepWhileOccupied()
    {
        if (_members.Count > 0)
        {
            DelayDeactivation(OccupiedKeepAlive);
        }
        else if (_leaves.Count > 0 && _lastMembership > _firstMembership)
        {
            // Empty, but a device that was away when its user left may still come back and ask to rejoin: the room
            // remembers the leave for a while, rather than let the first idle collection forget it. Only a room that had
            // members in this activation: leaves asked of rooms nobody joined must not keep activations alive.
            DelayDeactivation(_options.EmptyRoomRemembersLeavesFor);
        }
        else
        {
            DelayDeactivation(TimeSpan.FromTicks(-1));
        }
    }

    private TimeSpan SweepInterval =>
        TimeSpan.FromTicks(Math.Clamp(_options.EdgeLease.Ticks / SweepsPerLease, TimeSpan.TicksPerSecond, MaxSweepInterval.Ticks));

    private Task SweepTickAsync(CancellationToken cancellationToken)
    {
        Sweep();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Drops the edges whose lease lapsed (they died without detaching: every message would still go to each), then ends
    /// the memberships no edge reported for a lease, as if the user went offline: their devices left every edge (a closed
    /// connection only leaves the room's edge), and the user grain that would have said so may have been activated again
    /// without its list of rooms. Not while an edge from before renewals is attached: it may hold their devices. A walk
    /// over the members, once per sweep interval, never per message.
    /// </summary>
    private void Sweep()
    {
        var now = clock.UtcNow;
        _nextSweep = now + SweepInterval;
        _typing.ForgetPast(now);

        if (_rates.Count > _members.Count)
        {
            // Send rates of those who left, kept until full again (RemoveMember).
            foreach (var userId in _rates.Keys.Where(u => !_members.ContainsKey(u)).ToList())
            {
                ForgetFullRate(userId, now);
            }
        }

        List<string>? lapsed = null;
        foreach (var (edgeId, until) in _edgeLeases)
        {
            if (until <= now)
            {
                (lapsed ??= []).Add(edgeId);
            }
        }

        foreach (var edgeId in lapsed ?? [])
        {
            _edgeLeases.Remove(edgeId);
            _edges.Remove(edgeId);
            LogEdgeLeaseLapsed(logger, RoomId, edgeId, _options.EdgeLease);
        }

        if (_edges.Count > _edgeLeases.Count || _members.Count == 0)
        {
            return;
        }

        var since = now - _options.EdgeLease;
        var unreported = _reported.Where(r => r.Value <= since).Select(r => r.Key).ToList();
        foreach (var userId in unreported)
        {
            RemoveMember(userId, out _);
            // A user grain that still lists the room (the user is online on a device not in it) forgets it.
            GrainFactory.For<IUserGrain>(userId).OnRoomJoinedAsync(RoomId, false).Ignore();
        }

        if (unreported.Count > 0)
        {
            LogMembersLapsed(logger, RoomId, unreported.Count, _options.EdgeLease);
            KeepWhileOccupied();
        }
    }

    /// <summary>
    /// Ends a membership: what the room held for the member goes with it, except a send rate that is not full again yet:
    /// leaving and joining again must not buy a fresh burst (a flooder would loop leave, join, burst). The sweep drops it
    /// once full.
    /// </summary>
    private bool RemoveMember(string userId, out long membership)
    {
        _reported.Remove(userId);
        ForgetFullRate(userId, clock.UtcNow);
        return _members.Remove(userId, out membership);
    }

    private void ForgetFullRate(string userId, DateTimeOffset now)
    {
        if (_rates.TryGetValue(userId, out var rate) && rate.IsFull(now))
        {
            _rates.Remove(userId);
        }
    }

    private bool IsRoom() => GrainKeys.TryParseConversation(RoomId, out var address) && address.Kind == ConversationKind.Room;

    private SendRateLimiter RateLimiterFor(string senderId)
    {
        if (!_rates.TryGetValue(senderId, out var limiter))
        {
            limiter = new SendRateLimiter(_options.SendRatePerSecond, _options.SendBurst);
            _rates[senderId] = limiter;
        }

        return limiter;
    }

    private static Task<SendResult> Refused(SendStatus status, string error) => Task.FromResult(SendResult.Refused(status, error));

    [LoggerMessage(1, LogLevel.Warning, "Room {RoomId}: delivery to edge {EdgeId} failed: {Reason}")]
    private static partial void LogDeliveryFailed(ILogger logger, string roomId, string edgeId, string reason);

    [LoggerMessage(2, LogLevel.Information, "Room {RoomId}: edge {EdgeId} did not renew within {Lease}; no longer sending to it")]
    private static partial void LogEdgeLeaseLapsed(ILogger logger, string roomId, string edgeId, TimeSpan lease);

    [LoggerMessage(3, LogLevel.Information, "Room {RoomId}: {Count} members no edge reported within {Lease} left as offline")]
    private static partial void LogMembersLapsed(ILogger logger, string roomId, int count, TimeSpan lease);
}
