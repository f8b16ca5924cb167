using Orleans.Im.Messages;

namespace Orleans.Im.Push;

/// <summary>A message was recalled or edited: <see cref="Message"/> is its new state (no content when recalled).</summary>
[GenerateSerializer, Immutable, Alias("im.MessageChangedEvent")]
public sealed record MessageChangedEvent(
    [property: Id(0)] ChatMessage Message,
    [property: Id(1)] string ActorId)
    : UserEvent(Message.ConversationId, Message.Seq);
