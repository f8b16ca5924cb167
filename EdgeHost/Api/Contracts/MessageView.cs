using Orleans.Im.Messages;

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A message as history returns it.</summary>
public sealed record MessageView(string ConversationId, long Seq, string ClientMsgId, string SenderId, string? SenderDeviceId, DateTimeOffset ServerTime, MessageClass Class, MessageState State, int Revision, ContentBody? Content, string? CollapseKey);
