namespace Orleans.Im.Events;

/// <summary>
/// The body of customer-service events (<c>cs.queued</c>, <c>cs.assigned</c>, <c>cs.transferred</c>, <c>cs.closed</c>,
/// <c>cs.rated</c>, <c>cs.requeued</c>): the shop, the user and the agent(s) involved.
/// </summary>
public sealed record CustomerServiceEventData(
    string SessionId,
    string ShopId,
    string CustomerId,
    string? AgentId,
    string? FromAgentId = null,
    string? Reason = null,
    int? Position = null,
    int? Score = null,
    string? Comment = null);
