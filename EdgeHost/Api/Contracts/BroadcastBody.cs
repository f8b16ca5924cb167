namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A broadcast of an official account to all its subscribers; <c>ClientMsgId</c> makes retries safe.</summary>
public sealed record BroadcastBody(string ClientMsgId, ContentBody Content);
