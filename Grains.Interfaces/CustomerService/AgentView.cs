namespace Orleans.Im.CustomerService;

/// <summary>What an agent's console shows.</summary>
/// <param name="AgentId">The agent.</param>
/// <param name="Available">The agent chose to take sessions.</param>
/// <param name="Online">Available and connected: the agent gets sessions.</param>
/// <param name="MaxSessions">Sessions the agent may hold at once.</param>
/// <param name="QueueLength">Users waiting in the shop's queue.</param>
/// <param name="Sessions">The agent's own open sessions, oldest first.</param>
[GenerateSerializer, Immutable, Alias("im.AgentView")]
public sealed record AgentView(
    [property: Id(0)] string AgentId,
    [property: Id(1)] bool Available,
    [property: Id(2)] bool Online,
    [property: Id(3)] int MaxSessions,
    [property: Id(4)] int QueueLength,
    [property: Id(5)] IReadOnlyList<SessionView> Sessions);
