namespace Orleans.Im.EdgeHost.Hubs;

/// <summary>The ack of a hub send: a seq and time, or a stable error code (as in the HTTP API).</summary>
public sealed record HubSendResult(string ClientMsgId, long Seq, DateTimeOffset? ServerTime, bool Duplicate, string? Error);
