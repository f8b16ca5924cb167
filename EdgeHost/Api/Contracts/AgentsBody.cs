namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A shop's agents (admin API).</summary>
public sealed record AgentsBody(IReadOnlyList<string> AgentIds);
