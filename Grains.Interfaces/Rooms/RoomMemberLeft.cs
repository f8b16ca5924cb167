namespace Orleans.Im.Rooms;

/// <summary>
/// A user left a room, sent to every edge host the room sends to: their devices there get no more of the room, wherever
/// the leave was asked. <paramref name="Membership"/> names the membership that ended (see
/// <see cref="RoomJoinResult.Membership"/>), so that a late notice does not undo a join that came after it.
/// </summary>
[GenerateSerializer, Immutable, Alias("im.RoomMemberLeft")]
public sealed record RoomMemberLeft(
    [property: Id(0)] string UserId,
    [property: Id(1)] long Membership);
