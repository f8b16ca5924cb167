namespace Orleans.Im.CustomerService;

/// <summary>A shop's customer-service settings; they change at runtime and apply from the next decision on.</summary>
/// <param name="MaxSessionsPerAgent">Sessions one agent holds at once (1 to <see cref="CustomerServiceLimits.MaxSessionsPerAgent"/>).</param>
/// <param name="ShowAgentName">Whether users see the agent's display name beside the shop's replies.</param>
/// <param name="AutoReplyText">Told to a user who opens a session while no agent is online; null: a built-in text.</param>
/// <param name="UserIdleTimeout">A session whose user says nothing for this long after the agent's last answer is closed; null: the silo's default.</param>
/// <param name="AgentAnswerTimeout">A user's message unanswered for this long moves the session to another agent; null: the silo's default.</param>
/// <param name="AutoReplyRobotId">
/// A robot account that answers waiting users while no human agent is online (it replies as the shop); null: none,
/// only <paramref name="AutoReplyText"/>. When a human agent comes online the waiting sessions go to humans as before.
/// </param>
/// <param name="QueuedSessionTimeout">
/// A session no human agent holds is closed when its user has said nothing for this long since it was queued; null:
/// the silo's default.
/// </param>
[GenerateSerializer, Immutable, Alias("im.CustomerServiceSettings")]
public sealed record CustomerServiceSettings(
    [property: Id(0)] int MaxSessionsPerAgent = CustomerServiceLimits.DefaultSessionsPerAgent,
    [property: Id(1)] bool ShowAgentName = false,
    [property: Id(2)] string? AutoReplyText = null,
    [property: Id(3)] TimeSpan? UserIdleTimeout = null,
    [property: Id(4)] TimeSpan? AgentAnswerTimeout = null,
    [property: Id(5)] string? AutoReplyRobotId = null,
    [property: Id(6)] TimeSpan? QueuedSessionTimeout = null);
