namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>
/// What a targeted push did for one user: <c>sent</c>, <c>duplicate</c>, <c>not_subscribed</c> (nothing sent), or an
/// error code of the send (<c>blocked</c>, <c>rate_limited</c>, <c>unavailable</c>, …).
/// </summary>
public sealed record ReachResult(string UserId, string? ConversationId, string Status, long Seq);
