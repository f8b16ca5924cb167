namespace Orleans.Im.CustomerService;

/// <summary>Limits of customer service, checked where settings and ratings arrive.</summary>
public static class CustomerServiceLimits
{
    /// <summary>Concurrent sessions per agent when the shop has not set it.</summary>
    public const int DefaultSessionsPerAgent = 5;

    /// <summary>The most concurrent sessions a shop may give one agent.</summary>
    public const int MaxSessionsPerAgent = 100;

    /// <summary>The longest automatic reply, in characters.</summary>
    public const int MaxAutoReplyLength = 1000;

    /// <summary>Ratings go from 1 to this.</summary>
    public const int MaxRating = 5;

    /// <summary>Ratings kept in the queue's state (newest), for the snapshot; older ones live in the log's notices.</summary>
    public const int RecentRatingsKept = 200;

    /// <summary>
    /// Closed, unrated sessions a queue keeps (its state is written whole on each change): past this, the oldest can no
    /// longer be rated, even inside the rating window.
    /// </summary>
    public const int UnratedKept = 1000;

    /// <summary>The shortest user-idle, agent-answer or queued-session timeout a shop may set.</summary>
    public static readonly TimeSpan MinTimeout = TimeSpan.FromSeconds(1);

    /// <summary>The longest user-idle timeout a shop may set (as the silo's own setting).</summary>
    public static readonly TimeSpan MaxUserIdleTimeout = TimeSpan.FromDays(7);

    /// <summary>The longest agent-answer timeout a shop may set (as the silo's own setting).</summary>
    public static readonly TimeSpan MaxAgentAnswerTimeout = TimeSpan.FromDays(1);

    /// <summary>The longest queued-session timeout a shop may set (as the silo's own setting).</summary>
    public static readonly TimeSpan MaxQueuedSessionTimeout = TimeSpan.FromDays(30);
}
