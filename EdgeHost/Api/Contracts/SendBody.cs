using Orleans.Im.Messages;

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>
/// A message to send; <c>ClientMsgId</c> makes retries safe. <c>Mentions</c>: in groups, the members @-mentioned, or
/// <c>"all"</c> (owners and admins only).
/// </summary>
public sealed record SendBody(string ClientMsgId, ContentBody Content, MessageClass? Class = null, string? CollapseKey = null, string[]? Mentions = null);
