namespace Orleans.Im.CustomerService;

/// <summary>A user's rating of a closed session.</summary>
[GenerateSerializer, Immutable, Alias("im.SessionRating")]
public sealed record SessionRating(
    [property: Id(0)] string SessionId,
    [property: Id(1)] string UserId,
    [property: Id(2)] string? AgentId,
    [property: Id(3)] int Score,
    [property: Id(4)] DateTimeOffset At);
