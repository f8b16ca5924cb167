namespace Orleans.Im.Rooms;

/// <summary>A room now: its members and how many edge hosts carry its messages.</summary>
[GenerateSerializer, Immutable, Alias("im.RoomInfo")]
public sealed record RoomInfo(
    [property: Id(0)] string RoomId,
    [property: Id(1)] int MemberCount,
    [property: Id(2)] int EdgeCount,
    [property: Id(3)] long LastSeq);
