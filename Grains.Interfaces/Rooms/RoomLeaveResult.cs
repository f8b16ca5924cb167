namespace Orleans.Im.Rooms;

/// <summary>The outcome of a leave: whether the user was a member, and up to which membership theirs are ended.</summary>
/// <param name="Status">Ok, or <see cref="Messages.AccessStatus.NotFound"/> when the user was not a member.</param>
/// <param name="Ended">
/// Every membership of the user up to this one has ended, also one this activation of the room never knew (a device
/// that still holds it, on an edge host that missed a notice, goes too).
/// </param>
[GenerateSerializer, Immutable, Alias("im.RoomLeaveResult")]
public sealed record RoomLeaveResult(
    [property: Id(0)] Messages.AccessStatus Status,
    [property: Id(1)] RoomMembership Ended);
