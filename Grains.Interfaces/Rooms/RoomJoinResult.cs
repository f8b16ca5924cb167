using Orleans.Im.Messages;

namespace Orleans.Im.Rooms;

/// <summary>The outcome of joining a room: the member count and the last messages, for someone who joins late.</summary>
[GenerateSerializer, Immutable, Alias("im.RoomJoinResult")]
public sealed record RoomJoinResult(
    [property: Id(0)] AccessStatus Status,
    [property: Id(1)] int MemberCount,
    [property: Id(2)] ChatMessage[] Recent);
