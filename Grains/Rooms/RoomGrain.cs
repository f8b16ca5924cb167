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

    private readonly RoomOptions _options = options.Value;
    // Each member's membership number (see RoomJoinResult.Membership).
    private readonly Dictionary<string, long> _members = new(StringComparer.Ordinal);
    private readonly HashSet<string> _edges = new(StringComparer.Ordinal);
    private readonly Queue<ChatMessage> _recent = new();
    private readonly List<ChatMessage> _outbox = [];
    private readonly List<RoomMembership> _leftOutbox = [];

    // Users who left on their own (not by going offline), with the membership that ended: a device that was away then
    // and asks after its reconnect to join again as that membership is refused rather than bring the user back. The
    // oldest are forgotten first.
    private readonly Dictionary<string, long> _leaves = new(StringComparer.Ordinal);
    private readonly Queue<RoomMembership> _leaveOrder = new();
    private readonly Dictionary<string, SendRateLimiter> _rates = new(StringComparer.Ordinal);
    private readonly ClientMsgIdCache _clientMsgIds = new(options.Value.DedupWindowSize);
    private Task? _delivering;
    private long _lastSeq;

    // Memberships are numbered from the activation's start time in ticks, so that a reactivated room numbers above any
    // membership an edge host may still hold from before (it would take ten million joins a second to catch up): a
    // membership at most _firstMembership is one this activation never knew.
    private readonly long _firstMembership = clock.UtcNow.UtcTicks;
    private long _lastMembership;

    private string RoomId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _lastMembership = _firstMembership;
        return Task.CompletedTask;
    }

    public Task<RoomJoinResult> JoinAsync(string userId, string? edgeId, long rejoining = 0)
    {
        if (!GrainKeys.IsValidUserId(userId) || (edgeId is not null && edgeId.Length == 0) || rejoining < 0 || !IsRoom())
        {
            return Task.FromResult(new RoomJoinResult(AccessStatus.Invalid, _members.Count, []));
        }

        if (!_members.TryGetValue(userId, out var membership))
        {
            if (rejoining != 0 && _leaves.TryGetValue(userId, out var ended) && rejoining <= ended)
            {
                // The user left from another device while this one was away: it does not bring them back.
                return Task.FromResult(new RoomJoinResult(AccessStatus.NoAccess, _members.Count, []));
            }

            if (_members.Count >= _options.MaxMembers)
            {
                return Task.FromResult(new RoomJoinResult(AccessStatus.NotAllowed, _members.Count, []));
            }

            membership = ++_lastMembership;
            _members[userId] = membership;
            _leaves.Remove(userId);
            // The user grain makes the user leave the room when they go offline. Told here, not by the edge hosts, so
            // that a join and a leave reach it in the order the room took them.
            GrainFactory.For<IUserGrain>(userId).OnRoomJoinedAsync(RoomId, true).Ignore();
        }

        KeepWhileOccupied();
        if (edgeId is not null)
        {
            _edges.Add(edgeId);
        }

        return Task.FromResult(new RoomJoinResult(AccessStatus.Ok, _members.Count, [.. _recent], membership));
    }

    public Task<RoomMembership?> LeaveAsync(string userId)
    {
        if (!_members.Remove(userId, out var membership))
        {
            return Task.FromResult<RoomMembership?>(null);
        }

        KeepWhileOccupied();
        var left = new RoomMembership(userId, membership);
        RememberLeave(left);
        GrainFactory.For<IUserGrain>(userId).OnRoomJoinedAsync(RoomId, false).Ignore();
        // Their devices may be on any edge host here, not only the one that asked: each of them hears of it.
        _leftOutbox.Add(left);
        StartDelivering();
        return Task.FromResult<RoomMembership?>(left);
    }

    public Task OnMemberOfflineAsync(string userId)
    {
        // No notice to the edges: an offline user has no connected device left on any of them.
        if (_members.Remove(userId))
        {
            KeepWhileOccupied();
        }

        return Task.CompletedTask;
    }

    public Task<RoomMembership[]> ReattachAsync(string edgeId, RoomMembership[] memberships)
    {
        ArgumentNullException.ThrowIfNull(memberships);
        if (string.IsNullOrEmpty(edgeId) || !IsRoom())
        {
            return Task.FromResult<RoomMembership[]>([]);
        }

        var members = new List<RoomMembership>(memberships.Length);
        foreach (var (userId, held) in memberships)
        {
            if (!_members.TryGetValue(userId, out var membership))
            {
                // Ended in this activation: the user left. Older: lost with the activation before, so the user is back.
                if (held > _firstMembership || _members.Count >= _options.MaxMembers || !GrainKeys.IsValidUserId(userId))
                {
                    continue;
                }

                membership = ++_lastMembership;
                _members[userId] = membership;
            }

            members.Add(new RoomMembership(userId, membership));
            // Their user grain may have been lost too, and with it the rooms to leave when they go offline.
            GrainFactory.For<IUserGrain>(userId).OnRoomJoinedAsync(RoomId, true).Ignore();
        }

        if (members.Count > 0)
        {
            _edges.Add(edgeId);
        }

        KeepWhileOccupied();
        return Task.FromResult(members.ToArray());
    }

    public Task DetachEdgeAsync(string edgeId)
    {
        _edges.Remove(edgeId);
        return Task.CompletedTask;
    }

    public Task<RoomInfo> GetInfoAsync() => Task.FromResult(new RoomInfo(RoomId, _members.Count, _edges.Count, _lastSeq));

    public Task<SendResult> SendAsync(SendRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!_members.ContainsKey(request.SenderId))
        {
            return Refused(SendStatus.NoAccess, "join the room first");
        }

        if (string.IsNullOrEmpty(request.ClientMsgId) || request.ClientMsgId.Length > MessageLimits.MaxClientMsgIdLength)
        {
            return Refused(SendStatus.Invalid, $"clientMsgId must be 1-{MessageLimits.MaxClientMsgIdLength} characters");
        }

        if (MessageValidator.Validate(request.Content) is { } refusal)
        {
            return Refused(refusal.Status, refusal.Error);
        }

        if (_clientMsgIds.TryGet(request.SenderId, request.ClientMsgId, out var original))
        {
            return Task.FromResult(new SendResult(SendStatus.Duplicate, original.Seq, original.Time));
        }

        var now = clock.UtcNow;
        if (!RateLimiterFor(request.SenderId).TryAcquire(now))
        {
            return Refused(SendStatus.RateLimited, "sending too fast");
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

    private void RememberLeave(RoomMembership left)
    {
        _leaves[left.UserId] = left.Membership;
        _leaveOrder.Enqueue(left);
        while (_leaveOrder.Count > _options.RememberedLeaves)
        {
            var oldest = _leaveOrder.Dequeue();
            if (_leaves.TryGetValue(oldest.UserId, out var membership) && membership == oldest.Membership)
            {
                _leaves.Remove(oldest.UserId);
            }
        }
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
            var delivery = new RoomDelivery(RoomId, [.. _outbox], _leftOutbox.Count > 0 ? [.. _leftOutbox] : null);
            _outbox.Clear();
            _leftOutbox.Clear();
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
        else
        {
            DelayDeactivation(TimeSpan.FromTicks(-1));
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
}
