using Orleans.Im.Hosting;

namespace Orleans.Im.Conversations;

/// <summary>Limits and windows of conversations. Bound from <c>IM:Conversations</c> (environment: <c>IM__Conversations__…</c>).</summary>
public sealed class ConversationOptions
{
    public const string Section = "IM:Conversations";

    /// <summary>How long a sender may recall a message. Group owners and admins may recall at any time.</summary>
    [TimeSpanRange("00:00:00", "30.00:00:00")]
    public TimeSpan RecallWindow { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a sender may edit a message.</summary>
    [TimeSpanRange("00:00:00", "365.00:00:00")]
    public TimeSpan EditWindow { get; set; } = TimeSpan.FromHours(24);

    /// <summary>The most members a group may have.</summary>
    public int MaxGroupMembers { get; set; } = 2000;

    /// <summary>
    /// Groups larger than this push each message only to online members, straight to their edges; every member's entry
    /// reconciles with the group at sync (read diffusion). Smaller groups tell every member's user grain (write
    /// diffusion: entries always current, one grain call per member per message). 200, not more: at 500 members write
    /// diffusion held one busy group to ~26,000 deliveries/s on a 2-core machine and read diffusion reached ~200,000
    /// (docs/BENCHMARKS.md).
    /// </summary>
    public int LargeGroupThreshold { get; set; } = 200;

    /// <summary>Messages kept in memory per active conversation, serving recent pulls without the database.</summary>
    public int RecentWindowSize { get; set; } = 200;

    /// <summary>Client message ids remembered per conversation; older retries are caught by the database's unique key.</summary>
    public int DedupWindowSize { get; set; } = 2000;

    /// <summary>Sustained messages per second one sender may send into one conversation.</summary>
    public double SendRatePerSecond { get; set; } = 20;

    /// <summary>Messages one sender may send at once before the rate applies.</summary>
    public int SendBurst { get; set; } = 50;
}
