namespace Orleans.Im.CustomerService;

/// <summary>A shop's queue in grain state: small (agents, open sessions, the waiting line), written on each change.</summary>
[GenerateSerializer, Alias("im.cs.CustomerServiceQueueState")]
public sealed class CustomerServiceQueueState
{
    [Id(0)]
    public CustomerServiceSettings Settings { get; set; } = new();

    /// <summary>The shop's agents (from the shop's account), with their availability and presence.</summary>
    [Id(1)]
    public Dictionary<string, AgentRecord> Agents { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Open sessions by user id.</summary>
    [Id(2)]
    public Dictionary<string, SessionRecord> Sessions { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Queued user ids, head first.</summary>
    [Id(3)]
    public List<string> Waiting { get; set; } = [];

    /// <summary>
    /// Closed sessions the user may still rate, by user id: for <see cref="CustomerServiceOptions.RatingWindow"/>, at most
    /// <see cref="CustomerServiceLimits.UnratedKept"/> (the oldest go first).
    /// </summary>
    [Id(4)]
    public Dictionary<string, ClosedSession> Unrated { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Recent ratings, newest last, at most <see cref="CustomerServiceLimits.RecentRatingsKept"/>.</summary>
    [Id(5)]
    public List<SessionRating> Ratings { get; set; } = [];

    /// <summary>The agent list has been read from the shop's account at least once.</summary>
    [Id(6)]
    public bool AgentsLoaded { get; set; }

    /// <summary>The auto-reply robot whose presence this queue follows (the settings' robot, once watched).</summary>
    [Id(7)]
    public string? WatchedRobotId { get; set; }

    /// <summary>The watched robot has a connected device (as its user grain reports, after the offline grace).</summary>
    [Id(8)]
    public bool RobotOnline { get; set; }

    /// <summary>
    /// Users whose closed session's conversation may still name its answerer (the release failed or has not run): the
    /// timeout reminder retries it; a new session of the user drops it and hands the conversation over itself.
    /// </summary>
    [Id(9)]
    public HashSet<string> PendingReleases { get; set; } = new(StringComparer.Ordinal);
}
