namespace Orleans.Im.CustomerService;

/// <summary>An agent as the queue sees them.</summary>
/// <param name="AgentId">The agent.</param>
/// <param name="Available">Chose to take sessions.</param>
/// <param name="PresenceOnline">Has a connected device (after the offline grace).</param>
/// <param name="Load">Sessions held now.</param>
/// <param name="IdleSince">When the agent last got a session (or came online): ties in load go to the longest idle.</param>
/// <param name="MaxSessions">Sessions the agent may hold at once (their own maximum, or the shop's).</param>
[GenerateSerializer, Immutable, Alias("im.AgentInfo")]
public sealed record AgentInfo(
    [property: Id(0)] string AgentId,
    [property: Id(1)] bool Available,
    [property: Id(2)] bool PresenceOnline,
    [property: Id(3)] int Load,
    [property: Id(4)] DateTimeOffset IdleSince,
    [property: Id(5)] int MaxSessions = CustomerServiceLimits.DefaultSessionsPerAgent);
