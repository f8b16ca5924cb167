namespace Orleans.Im.CustomerService;

/// <summary>A user's last closed session, kept until the user rates it (or a later one closes).</summary>
[GenerateSerializer, Immutable, Alias("im.cs.ClosedSession")]
public sealed record ClosedSession(
    [property: Id(0)] string SessionId,
    [property: Id(1)] string? AgentId,
    [property: Id(2)] DateTimeOffset ClosedAt);
