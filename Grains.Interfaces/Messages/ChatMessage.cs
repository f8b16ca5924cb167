namespace Orleans.Im.Messages;

/// <summary>A message as stored in a conversation's log and as pushed and pulled.</summary>
/// <param name="ConversationId">The conversation (see <see cref="GrainKeys"/>).</param>
/// <param name="Seq">Dense per conversation from 1; 0 for instant messages, which are not logged.</param>
/// <param name="SenderId">Who sent it.</param>
/// <param name="SenderDeviceId">The sender's device, so that it is not echoed back to the device that sent it.</param>
/// <param name="ClientMsgId">The sender's id for the message; a retry with the same id is the same message.</param>
/// <param name="Class">Persistent, instant or notification.</param>
/// <param name="Content">The latest content; null when recalled, deleted for the reader, or collapsed.</param>
/// <param name="ServerTime">When the conversation accepted it.</param>
/// <param name="State">Normal, edited, recalled, deleted for the reader, collapsed.</param>
/// <param name="Revision">0 as sent; each edit or recall adds one.</param>
/// <param name="CollapseKey">Notifications: later ones with the same key supersede this one.</param>
/// <param name="ActingSenderId">
/// Customer service: the agent who wrote a reply the shop (<paramref name="SenderId"/>) sent: recorded for audit and
/// shown to the shop's agents, never to the user.
/// </param>
/// <param name="SenderName">A display name shown with this message instead of the sender's (an agent's name, by shop setting).</param>
/// <param name="Mentions">Groups: the members @-mentioned, or <see cref="MentionList.All"/>; stored with the message.</param>
/// <param name="RevisedAt">
/// When its latest revision (edit, recall) was made; null when never revised. A device that was away asks for the changes
/// after the last one it saw (<see cref="Conversations.IConversationGrain.PullChangesAsync"/>).
/// </param>
[GenerateSerializer, Immutable, Alias("im.ChatMessage")]
public sealed record ChatMessage(
    [property: Id(0)] string ConversationId,
    [property: Id(1)] long Seq,
    [property: Id(2)] string SenderId,
    [property: Id(3)] string? SenderDeviceId,
    [property: Id(4)] string ClientMsgId,
    [property: Id(5)] MessageClass Class,
    [property: Id(6)] MessageContent? Content,
    [property: Id(7)] DateTimeOffset ServerTime,
    [property: Id(8)] MessageState State = MessageState.Normal,
    [property: Id(9)] int Revision = 0,
    [property: Id(10)] string? CollapseKey = null,
    [property: Id(11)] string? ActingSenderId = null,
    [property: Id(12)] string? SenderName = null,
    [property: Id(13)] IReadOnlyList<string>? Mentions = null,
    [property: Id(14)] DateTimeOffset? RevisedAt = null);
