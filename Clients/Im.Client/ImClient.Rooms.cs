using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Client;

// Chat rooms: join, leave; room messages arrive on Messages like others but are neither sequenced nor kept (they are
// not stored on the server either), and the client joins its rooms again after every reconnect.
public sealed partial class ImClient
{
    /// <summary>Conversation ids of chat rooms start with this.</summary>
    public const string RoomPrefix = "room:";

    /// <summary>Tries to join a room again after a reconnect, when the edge refuses for the moment (rate limited, failover).</summary>
    private const int MaxRejoinAttempts = 6;

    // Under _roomsLock: each joined room with the membership its last join was answered with, and the latest membership
    // of each room that this client heard had ended (a join answered before that news, but handled after it, is not
    // listed again).
    private readonly Lock _roomsLock = new();
    private readonly Dictionary<string, long> _rooms = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _roomsEnded = new(StringComparer.Ordinal);
    private readonly RoomSightings _roomSightings = new();

    /// <summary>
    /// The rooms this client joined (and joins again after a reconnect). A room the user left from another device drops
    /// out when its removed conversation entry arrives on <see cref="Events"/>, or when the server refuses to let this
    /// device join it again after a reconnect (the entry is then written to <see cref="Events"/> by the client).
    /// </summary>
    public IReadOnlyCollection<string> Rooms
    {
        get
        {
            lock (_roomsLock)
            {
                return [.. _rooms.Keys];
            }
        }
    }

    /// <summary>
    /// Joins a room (<c>room:{id}</c>): its messages come to <see cref="Messages"/> while connected. Answers the member
    /// count and the last messages, but those pushed to <see cref="Messages"/> meanwhile; those answered do not come there. After a reconnect the client joins
    /// again by itself, and what the room's history holds that this client did not show comes to <see cref="Messages"/>.
    /// </summary>
    public async Task<RoomJoinResponse> JoinRoomAsync(string roomId, CancellationToken cancellationToken = default)
    {
        var response = RoomJoinResponse.Parser.ParseFrom(await RequestAsync(Op.RoomJoin, new RoomJoinRequest { RoomId = roomId }, Op.RoomJoinOk, cancellationToken).ConfigureAwait(false));
        if (response.Error is not null)
        {
            throw new ImClientException(response.Error);
        }

        // The caller shows these; a push of one of them (sent while the join was answered) is not shown twice, whichever
        // comes first: those already written to Messages are left out of the answer.
        var unseen = response.Recent.Where(_roomSightings.FirstSight).ToList();
        if (unseen.Count != response.Recent.Count)
        {
            response.Recent.Clear();
            response.Recent.Add(unseen);
        }

        lock (_roomsLock)
        {
            // 0: a server that does not number memberships.
            if (response.Membership == 0 || response.Membership > _roomsEnded.GetValueOrDefault(roomId))
            {
                _rooms[roomId] = Math.Max(response.Membership, _rooms.GetValueOrDefault(roomId));
                // News of an earlier membership's end no longer matters: the listed one is later, and only grows.
                _roomsEnded.Remove(roomId);
            }
        }

        return response;
    }

    /// <summary>Leaves a room: the user leaves, with all their devices (each is sent the room's conversation entry, removed).</summary>
    public async Task LeaveRoomAsync(string roomId, CancellationToken cancellationToken = default)
    {
        lock (_roomsLock)
        {
            _rooms.Remove(roomId);
        }

        _roomSightings.Forget(roomId);
        await ResultAsync(Op.RoomLeave, new RoomLeaveRequest { RoomId = roomId }, cancellationToken).ConfigureAwait(false);
    }

    private static bool IsRoom(string conversationId) => conversationId.StartsWith(RoomPrefix, StringComparison.Ordinal);

    /// <summary>
    /// The user left the room, maybe from another device: do not join it again after a reconnect, unless this client
    /// joined it again since (a later membership than the one that ended).
    /// </summary>
    /// <returns>Whether the room was listed here and is no longer.</returns>
    private bool OnRoomLeft(ConversationEntry entry)
    {
        lock (_roomsLock)
        {
            var roomId = entry.ConversationId;
            _roomsEnded[roomId] = Math.Max(entry.Version, _roomsEnded.GetValueOrDefault(roomId));
            return _rooms.TryGetValue(roomId, out var membership) && membership <= entry.Version && _rooms.Remove(roomId);
        }
    }

    /// <summary>After a reconnect: membership may have lapsed (offline past the grace) and the new edge host does not know the device is in the rooms.</summary>
    private void RejoinRooms()
    {
        KeyValuePair<string, long>[] rooms;
        lock (_roomsLock)
        {
            rooms = [.. _rooms];
        }

        foreach (var (roomId, membership) in rooms)
        {
            _ = RejoinAsync(roomId, membership);
        }
    }

    private async Task RejoinAsync(string roomId, long membership)
    {
        var connection = _connection;
        var backoff = TimeSpan.Zero;
        for (var attempt = 1; attempt <= MaxRejoinAttempts; attempt++)
        {
            if (await TryRejoinAsync(roomId, membership).ConfigureAwait(false))
            {
                return;
            }

            // Refused for the moment (rate limited after a reconnect's catch-up, or a failover): again after a pause that
            // doubles, jittered, while this connection lasts; a reconnect joins again by itself.
            backoff = NextBackoff(backoff);
            try
            {
                await Task.Delay(Jitter.Spread(backoff), _disposing.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (!ReferenceEquals(_connection, connection) || connection is not { IsOpen: true } || !StillIn(roomId, membership))
            {
                // Reconnected (that rejoins by itself), or the user left the room meanwhile: not joined again here.
                return;
            }
        }
    }

    private bool StillIn(string roomId, long membership)
    {
        lock (_roomsLock)
        {
            return _rooms.TryGetValue(roomId, out var held) && held == membership;
        }
    }

    /// <summary>One attempt to join a room again: false when it was refused for the moment and is worth another try.</summary>
    private async Task<bool> TryRejoinAsync(string roomId, long membership)
    {
        try
        {
            var response = RoomJoinResponse.Parser.ParseFrom(await RequestAsync(
                Op.RoomJoin, new RoomJoinRequest { RoomId = roomId, Rejoining = membership }, Op.RoomJoinOk, _disposing.Token).ConfigureAwait(false));
            if (response.Error is { Retryable: true })
            {
                return false;
            }

            if (response.Error is { Code: ErrorCode.NotFound })
            {
                // The user left the room from another device while this one was away (it missed the news). Said on the
                // events only if the room was still listed as that membership (not joined again meanwhile).
                var left = new ConversationEntry { ConversationId = roomId, Kind = ConversationKind.Room, Removed = true, Version = membership };
                if (OnRoomLeft(left))
                {
                    _events.Writer.TryWrite(new Event { Conversation = left });
                }
            }
            else if (response.Error is null)
            {
                lock (_roomsLock)
                {
                    if (_rooms.TryGetValue(roomId, out var held) && (response.Membership == 0 || response.Membership > _roomsEnded.GetValueOrDefault(roomId)))
                    {
                        _rooms[roomId] = Math.Max(response.Membership, held);
                    }
                }

                // What was said while this device was away (as much as the room keeps), and not shown here yet.
                foreach (var message in response.Recent)
                {
                    if (_roomSightings.FirstSight(message))
                    {
                        _messages.Writer.TryWrite(message);
                    }
                }
            }
        }
        catch (ImClientException ex) when (ex.Error is { Retryable: true })
        {
            return false;
        }
        catch (Exception ex) when (ex is ImClientException or OperationCanceledException or Google.Protobuf.InvalidProtocolBufferException)
        {
            // Lost the connection again (or a reply this client cannot read): the next reconnect joins again.
        }

        return true;
    }
}
