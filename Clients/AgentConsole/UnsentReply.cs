namespace Orleans.Im.AgentConsole;

/// <summary>
/// A reply that was not acknowledged (refused, timed out, or the connection gave up): kept so the agent can send it
/// again with Enter. Sent again unchanged, it reuses <paramref name="ClientMsgId"/>, so a first attempt the server did
/// store after all is not stored twice. It belongs to one session (<paramref name="SessionId"/>): a customer's next
/// session, in the same conversation, does not get it back.
/// </summary>
public sealed record UnsentReply(string ConversationId, string SessionId, string Text, string ClientMsgId);
