namespace Orleans.Im.Conversations;

/// <summary>Customer service: the agent who writes a message the shop sends, and the name shown with it (or null).</summary>
internal sealed record ActingAgent(string AgentId, string? Name);
