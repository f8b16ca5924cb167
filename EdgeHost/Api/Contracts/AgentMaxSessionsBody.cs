namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>One agent's own maximum of concurrent sessions; null: the shop's setting again.</summary>
public sealed record AgentMaxSessionsBody(int? MaxSessions);
