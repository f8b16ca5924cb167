namespace Orleans.Im.CustomerService;

/// <summary>An open customer-service session.</summary>
/// <param name="SessionId">Unique per session (a user's later session has a new id).</param>
/// <param name="UserId">The user.</param>
/// <param name="ConversationId">The user's conversation with the shop, <c>cs:{shop}:{user}</c>.</param>
/// <param name="AgentId">The assigned agent; null while queued.</param>
/// <param name="OpenedAt">When the user's message opened it.</param>
/// <param name="QueuePosition">1-based position while queued; 0 when assigned.</param>
/// <param name="AwaitingAnswerSince">When the oldest unanswered user message arrived; null when all are answered.</param>
/// <param name="FirstSeq">The seq of the message that opened the session.</param>
/// <param name="RobotId">The shop's auto-reply robot answering while the session waits for a human agent; null otherwise.</param>
[GenerateSerializer, Immutable, Alias("im.SessionView")]
public sealed record SessionView(
    [property: Id(0)] string SessionId,
    [property: Id(1)] string UserId,
    [property: Id(2)] string ConversationId,
    [property: Id(3)] string? AgentId,
    [property: Id(4)] DateTimeOffset OpenedAt,
    [property: Id(5)] int QueuePosition,
    [property: Id(6)] DateTimeOffset? AwaitingAnswerSince,
    [property: Id(7)] long FirstSeq,
    [property: Id(8)] string? RobotId = null);
