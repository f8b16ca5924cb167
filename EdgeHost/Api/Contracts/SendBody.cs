using Orleans.Im.Messages;

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A message to send; <c>ClientMsgId</c> makes retries safe.</summary>
public sealed record SendBody(string ClientMsgId, ContentBody Content, MessageClass? Class = null, string? CollapseKey = null);
