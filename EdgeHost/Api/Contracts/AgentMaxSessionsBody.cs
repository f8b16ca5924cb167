using System.Text.Json.Serialization;

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>
/// One agent's own maximum of concurrent sessions; null: the shop's setting again. A misspelt field is refused (taken as
/// absent, it reset the agent to the shop's setting).
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record AgentMaxSessionsBody(int? MaxSessions);
