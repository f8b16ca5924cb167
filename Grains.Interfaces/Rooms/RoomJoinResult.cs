using Orleans.Im.Messages;

namespace Orleans.Im.Rooms;

/// <summary>The outcome of joining a room: the member count and the last messages, for someone who joins late.</summary>
/// <param name="Status">Ok, or why the join was refused.</param>
/// <param name="MemberCount">Members now.</param>
/// <param name="Recent">The last messages, oldest first.</param>
/// <param name="Membership">
/// Which membership of the user this is: the same while they stay a member (joining again from another device), a larger
/// number after they left and joined again, also across reactivations of the room. A <see cref="RoomMembership"/> names
/// the membership that ended.
/// </param>
[GenerateSerializer, Immutable, Alias("im.RoomJoinResult")]
public sealed record RoomJoinResult(
    [property: Id(0)] AccessStatus Status,
    [property: Id(1)] int MemberCount,
    [property: Id(2)] ChatMessage[] Recent,
    [property: Id(3)] long Membership = 0);
