using System.Text.Json.Serialization;

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>
/// The agent to hand the session to; null or empty: back to the head of the queue. A misspelt field is refused (taken as
/// absent, it sent the session back to the queue instead of to the agent named).
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record TransferBody(string? ToAgentId);
