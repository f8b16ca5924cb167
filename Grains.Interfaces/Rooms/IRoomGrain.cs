using Orleans.Concurrency;
using Orleans.Im.Messages;

namespace Orleans.Im.Rooms;

/// <summary>
/// A chat room (key <c>room:{id}</c>): anyone may join; messages go to the members connected now and are never stored;
/// the last few are held in memory for those who join late. Members join through an edge host, which then receives the
/// room's messages once for all its devices in the room. A member whose user goes offline leaves after the presence grace.
/// </summary>
[Alias("im.IRoomGrain")]
public interface IRoomGrain : IGrainWithStringKey
{
    /// <summary>
    /// Adds the user (again: joining twice is fine) and, when <paramref name="edgeId"/> is given, makes sure that edge host
    /// receives the room's messages. Answers the member count, the recent messages and which membership of the user this is.
    /// </summary>
    /// <param name="userId">The user.</param>
    /// <param name="edgeId">The edge host of the device that joins, if any.</param>
    /// <param name="rejoining">
    /// A device joining again after a reconnect: the membership it held (0 for a join the user asked for). When the user
    /// left that membership since, the join is refused with <see cref="AccessStatus.NoAccess"/>.
    /// </param>
    [Alias("Join")]
    Task<RoomJoinResult> JoinAsync(string userId, string? edgeId, long rejoining = 0);

    /// <summary>
    /// The user leaves, with all their devices: every edge host the room sends to hears of it (<see cref="RoomMembership"/>)
    /// and stops handing the room to them. Answers the membership that ended; null when the user was not a member.
    /// </summary>
    [Alias("Leave")]
    Task<RoomMembership?> LeaveAsync(string userId);

    /// <summary>
    /// Sends to the room (members only). The ack carries a room-local seq that orders the room's messages; it is not
    /// durable and restarts when the room is reactivated.
    /// </summary>
    [Alias("Send")]
    Task<SendResult> SendAsync(SendRequest request);

    /// <summary>The member count and more.</summary>
    [Alias("GetInfo"), ReadOnly]
    Task<RoomInfo> GetInfoAsync();

    /// <summary>
    /// An edge host still has devices in the room, of the users and memberships given (after a silo was lost, this
    /// activation may know none of them): the room sends to that edge again, and takes back as members the users whose
    /// membership is older than this activation. A user whose membership ended in this activation left, and stays out.
    /// Answers the memberships of the given users who are members now; those not answered are out.
    /// </summary>
    [Alias("Reattach")]
    Task<RoomMembership[]> ReattachAsync(string edgeId, RoomMembership[] memberships);

    /// <summary>An edge host has no device in the room any more: stop sending it the room's messages.</summary>
    [Alias("DetachEdge"), OneWay]
    Task DetachEdgeAsync(string edgeId);

    /// <summary>The user went offline (after the presence grace): they leave the room.</summary>
    [Alias("OnMemberOffline"), OneWay]
    Task OnMemberOfflineAsync(string userId);
}
