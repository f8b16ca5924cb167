using Orleans.Im.Users;

namespace Orleans.Im.Push;

/// <summary>The user's own entry of a conversation changed (read on another device, settings, removed).</summary>
[GenerateSerializer, Immutable, Alias("im.ConversationUpdatedEvent")]
public sealed record ConversationUpdatedEvent([property: Id(0)] ConversationEntry Entry)
    : UserEvent(Entry.ConversationId, Entry.LastSeq);
