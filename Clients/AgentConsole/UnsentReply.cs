namespace Orleans.Im.AgentConsole;

/// <summary>
/// A reply that was not acknowledged (refused, timed out, or the connection gave up): kept so the agent can send it
/// again with Enter. Sent again unchanged, it reuses <paramref name="ClientMsgId"/>, so a first attempt the server did
/// store after all is not stored twice.
/// </summary>
public sealed record UnsentReply(string ConversationId, string Text, string ClientMsgId);
