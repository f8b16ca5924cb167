namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>The agent to hand the session to; null or empty: back to the head of the queue.</summary>
public sealed record TransferBody(string? ToAgentId);
