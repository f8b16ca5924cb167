using Orleans.Im.Messages;

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A message from a system or robot account: into one conversation, or one-to-one to each listed user.</summary>
public sealed record SystemSendBody(string FromUserId, string ClientMsgId, ContentBody Content, string? ConversationId = null, IReadOnlyList<string>? ToUserIds = null, MessageClass? Class = null, string? CollapseKey = null);
