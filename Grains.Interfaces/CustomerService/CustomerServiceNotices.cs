namespace Orleans.Im.CustomerService;

/// <summary>
/// The custom types of the notices the shop posts into a user's conversation (content type custom, with a human text
/// and JSON data), so that apps can render them their own way. Queue positions are notifications under one collapse
/// key: an offline user keeps only the latest.
/// </summary>
public static class CustomerServiceNotices
{
    /// <summary>Queued; data: <c>{"position":N}</c>.</summary>
    public const string Queued = "cs.queued";

    /// <summary>No agent online: the shop's automatic reply; the user stays queued.</summary>
    public const string AutoReply = "cs.auto-reply";

    /// <summary>An agent took the session; data: <c>{"agentName":…}</c> when the shop shows names.</summary>
    public const string Assigned = "cs.assigned";

    /// <summary>
    /// The session ended: by the agent or for inactivity (data: <c>{"reason":"agent"|"idle","rate":true}</c>), or because
    /// it waited too long with nobody taking it (<c>{"reason":"unanswered","rate":false}</c>; rate is true only when an
    /// agent had answered before it went back to the queue).
    /// </summary>
    public const string Closed = "cs.closed";

    /// <summary>The user's rating was recorded; data: <c>{"score":N}</c>.</summary>
    public const string Rated = "cs.rated";

    /// <summary>The collapse key of queue-position notices.</summary>
    public const string QueueCollapseKey = "cs.queue";
}
