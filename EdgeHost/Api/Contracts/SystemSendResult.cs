using Orleans.Im.Messages;

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>What happened to one target of a system send.</summary>
public sealed record SystemSendResult(string ConversationId, SendStatus Status, long Seq, string? Error);
