namespace Orleans.Im.Conversations;

/// <summary>A parsed conversation id (see <see cref="GrainKeys.TryParseConversation"/>).</summary>
/// <param name="Kind">The kind of conversation.</param>
/// <param name="Id">The whole conversation id.</param>
/// <param name="First">P2P: the first user (sorted); group, room, account: its id; customer service: the shop.</param>
/// <param name="Second">P2P: the second user; customer service: the user; otherwise null.</param>
[GenerateSerializer, Immutable, Alias("im.ConversationAddress")]
public sealed record ConversationAddress(
    [property: Id(0)] ConversationKind Kind,
    [property: Id(1)] string Id,
    [property: Id(2)] string First,
    [property: Id(3)] string? Second);
