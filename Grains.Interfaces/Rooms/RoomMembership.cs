namespace Orleans.Im.Rooms;

/// <summary>
/// A user's membership of a room, by its number (see <see cref="RoomJoinResult.Membership"/>): in a
/// <see cref="RoomDelivery"/>, one that ended (the user left), so that a late notice does not undo a join that came after
/// it; in <see cref="IRoomGrain.ReattachAsync"/>, one an edge host's devices hold; in a
/// <see cref="RoomLeaveResult"/>, the latest that ended.
/// </summary>
/// <param name="UserId">The user.</param>
/// <param name="Membership">The membership's number.</param>
[GenerateSerializer, Immutable, Alias("im.RoomMembership")]
public sealed record RoomMembership(
    [property: Id(0)] string UserId,
    [property: Id(1)] long Membership);
