using Orleans.Im.Messages;

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>
/// A message as history returns it. <c>SenderName</c>: a name to show instead of the sender's (customer service: the
/// agent's, when the shop shows names); <c>ActingSenderId</c>: to a shop's agents only, the agent who wrote a shop's reply;
/// <c>Mentions</c>: in groups, the members @-mentioned, or <c>"all"</c>; <c>RevisedAt</c>: when its latest edit or recall
/// was made (null: never).
/// </summary>
public sealed record MessageView(string ConversationId, long Seq, string ClientMsgId, string SenderId, string? SenderDeviceId, DateTimeOffset ServerTime, MessageClass Class, MessageState State, int Revision, ContentBody? Content, string? CollapseKey, string? SenderName = null, string? ActingSenderId = null, string[]? Mentions = null, DateTimeOffset? RevisedAt = null);
