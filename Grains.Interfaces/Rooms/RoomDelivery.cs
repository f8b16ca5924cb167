using Orleans.Im.Messages;

namespace Orleans.Im.Rooms;

/// <summary>
/// Room messages for one edge host, on that edge's stream (<see cref="Streams.StreamNames.EdgeNamespace"/>): the edge hands
/// them to its own devices that joined the room, so a message costs one call per edge, not one per member.
/// </summary>
[GenerateSerializer, Immutable, Alias("im.RoomDelivery")]
public sealed record RoomDelivery(
    [property: Id(0)] string RoomId,
    [property: Id(1)] ChatMessage[] Messages);
