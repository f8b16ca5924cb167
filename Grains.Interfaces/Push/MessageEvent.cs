using Orleans.Im.Messages;

namespace Orleans.Im.Push;

/// <summary>A new message (persistent, notification or instant).</summary>
[GenerateSerializer, Immutable, Alias("im.MessageEvent")]
public sealed record MessageEvent([property: Id(0)] ChatMessage Message)
    : UserEvent(Message.ConversationId, Message.Seq);
