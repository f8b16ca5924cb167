using System.Collections.Concurrent;
using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Client;

// Chat rooms: join, leave; room messages arrive on Messages like others but are neither sequenced nor kept (they are
// not stored on the server either), and the client joins its rooms again after every reconnect.
public sealed partial class ImClient
{
    /// <summary>Conversation ids of chat rooms start with this.</summary>
    public const string RoomPrefix = "room:";

    // Each joined room, with the membership its last join was answered with.
    private readonly ConcurrentDictionary<string, long> _rooms = new(StringComparer.Ordinal);

    /// <summary>
    /// The rooms this client joined (and joins again after a reconnect). A room the user left from another device drops
    /// out when its removed conversation entry arrives on <see cref="Events"/>.
    /// </summary>
    public IReadOnlyCollection<string> Rooms => [.. _rooms.Keys];

    /// <summary>Joins a room (<c>room:{id}</c>): its messages come to <see cref="Messages"/> while connected. Answers the member count and the last messages.</summary>
    public async Task<RoomJoinResponse> JoinRoomAsync(string roomId, CancellationToken cancellationToken = default)
    {
        var response = RoomJoinResponse.Parser.ParseFrom(await RequestAsync(Op.RoomJoin, new RoomJoinRequest { RoomId = roomId }, Op.RoomJoinOk, cancellationToken).ConfigureAwait(false));
        if (response.Error is not null)
        {
            throw new ImClientException(response.Error);
        }

        _rooms[roomId] = response.Membership;
        return response;
    }

    /// <summary>Leaves a room: the user leaves, with all their devices (each is sent the room's conversation entry, removed).</summary>
    public async Task LeaveRoomAsync(string roomId, CancellationToken cancellationToken = default)
    {
        _rooms.TryRemove(roomId, out _);
        await ResultAsync(Op.RoomLeave, new RoomLeaveRequest { RoomId = roomId }, cancellationToken).ConfigureAwait(false);
    }

    private static bool IsRoom(string conversationId) => conversationId.StartsWith(RoomPrefix, StringComparison.Ordinal);

    /// <summary>
    /// The user left the room, maybe from another device: do not join it again after a reconnect, unless this client
    /// joined it again since (a later membership than the one that ended).
    /// </summary>
    private void OnRoomLeft(ConversationEntry entry)
    {
        if (_rooms.TryGetValue(entry.ConversationId, out var membership) && membership <= entry.Version)
        {
            _rooms.TryRemove(new KeyValuePair<string, long>(entry.ConversationId, membership));
        }
    }

    /// <summary>After a reconnect: membership may have lapsed (offline past the grace) and the new edge host does not know the device is in the rooms.</summary>
    private void RejoinRooms()
    {
        foreach (var roomId in _rooms.Keys)
        {
            _ = RejoinAsync(roomId);
        }
    }

    private async Task RejoinAsync(string roomId)
    {
        try
        {
            var response = RoomJoinResponse.Parser.ParseFrom(
                await RequestAsync(Op.RoomJoin, new RoomJoinRequest { RoomId = roomId }, Op.RoomJoinOk, _disposing.Token).ConfigureAwait(false));
            if (response.Error is null && _rooms.TryGetValue(roomId, out var before))
            {
                _rooms.TryUpdate(roomId, response.Membership, before);
            }
        }
        catch (Exception ex) when (ex is ImClientException or OperationCanceledException)
        {
            // Lost the connection again: the next reconnect joins again.
        }
    }
}
