using Orleans.Im.Messages;

namespace Orleans.Im.Rooms;

/// <summary>
/// Room messages for one edge host, on that edge's stream (<see cref="Streams.StreamNames.EdgeNamespace"/>): the edge hands
/// them to its own devices that joined the room, so a message costs one call per edge, not one per member.
/// </summary>
/// <param name="RoomId">The room.</param>
/// <param name="Messages">New messages, in seq order.</param>
/// <param name="Left">
/// Members who left since the last delivery: the edge stops handing the room to their devices before it hands over
/// <paramref name="Messages"/>.
/// </param>
[GenerateSerializer, Immutable, Alias("im.RoomDelivery")]
public sealed record RoomDelivery(
    [property: Id(0)] string RoomId,
    [property: Id(1)] ChatMessage[] Messages,
    [property: Id(2)] RoomMembership[]? Left = null);
