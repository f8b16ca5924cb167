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
    [Alias("Join")]
    Task<RoomJoinResult> JoinAsync(string userId, string? edgeId);

    /// <summary>
    /// <see cref="JoinAsync"/> from an edge host that renews its rooms (<see cref="RenewAsync"/>): the join starts the
    /// edge's lease, so an edge that dies before its first renewal is dropped when the lease lapses instead of being kept
    /// for good as an edge from before renewals (which joins through <see cref="JoinAsync"/>).
    /// </summary>
    /// <param name="userId">The user.</param>
    /// <param name="edgeId">The edge host of the device that joins.</param>
    [Alias("JoinFromEdge")]
    Task<RoomJoinResult> JoinFromEdgeAsync(string userId, string edgeId);

    /// <summary>
    /// A device joins again after a reconnect, as <paramref name="membership"/>, the membership it held: like
    /// <see cref="JoinFromEdgeAsync"/> (only edges that renew rejoin), but refused with <see cref="AccessStatus.NoAccess"/> when the user left that membership
    /// since (from another device, while this one was away). A membership that lapsed (offline past the grace) is not a
    /// leave: the user is back.
    /// </summary>
    /// <param name="userId">The user.</param>
    /// <param name="edgeId">The edge host of the device.</param>
    /// <param name="membership">The membership the device held.</param>
    [Alias("Rejoin")]
    Task<RoomJoinResult> RejoinAsync(string userId, string edgeId, long membership);

    /// <summary>The user leaves (see <see cref="EndMembershipAsync"/>); <see cref="AccessStatus.NotFound"/> when not a member.</summary>
    /// <remarks>Kept for edge hosts from before <see cref="EndMembershipAsync"/>.</remarks>
    [Alias("Leave")]
    Task<AccessStatus> LeaveAsync(string userId);

    /// <summary>
    /// The user leaves, with all their devices: every edge host the room sends to hears of it (<see cref="RoomMembership"/>)
    /// and stops handing the room to them. A user who is not a member (an edge host still lists their devices after a
    /// notice it missed, or a room that was lost with its silo) is answered NotFound, and their memberships up to now are
    /// ended all the same, so that no device of theirs brings them back.
    /// </summary>
    /// <param name="userId">The user.</param>
    [Alias("EndMembership")]
    Task<RoomLeaveResult> EndMembershipAsync(string userId);

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
    /// membership is older than this activation and who did not leave since. A membership that ended in this activation
    /// stays ended. Answers the memberships of the given users who hold one now that replaces theirs; the edge takes out
    /// the devices of the others.
    /// </summary>
    /// <param name="edgeId">The edge host.</param>
    /// <param name="memberships">The latest membership its devices hold, per user (may be empty: the edge is attached all the same).</param>
    /// <remarks>Kept for edge hosts from before <see cref="RenewAsync"/>, which the room never drops.</remarks>
    [Alias("Reattach")]
    Task<RoomMembership[]> ReattachAsync(string edgeId, RoomMembership[] memberships);

    /// <summary>
    /// Like <see cref="ReattachAsync"/>, and renews the edge host's lease: an edge host that renewed once is dropped when
    /// it stops renewing (it died without detaching), and members that no edge host reports for as long leave as if
    /// offline. Edge hosts call it when they attach to a room, every few minutes after, and when a silo may have been lost.
    /// </summary>
    /// <param name="edgeId">The edge host.</param>
    /// <param name="memberships">The latest membership its devices hold, per user (may be empty: the edge is attached all the same).</param>
    [Alias("Renew")]
    Task<RoomMembership[]> RenewAsync(string edgeId, RoomMembership[] memberships);

    /// <summary>An edge host has no device in the room any more: stop sending it the room's messages.</summary>
    /// <remarks>Kept for edge hosts from before <see cref="DetachAsync"/>.</remarks>
    [Alias("DetachEdge"), OneWay]
    Task DetachEdgeAsync(string edgeId);

    /// <summary>
    /// An edge host has no device in the room any more: stop sending it the room's messages. Answered once done, so that
    /// the edge can attach again for a device that joined meanwhile (whose join the room may have taken before this).
    /// </summary>
    /// <param name="edgeId">The edge host.</param>
    [Alias("Detach")]
    Task DetachAsync(string edgeId);

    /// <summary>The user went offline (after the presence grace): they leave the room.</summary>
    [Alias("OnMemberOffline"), OneWay]
    Task OnMemberOfflineAsync(string userId);
}
