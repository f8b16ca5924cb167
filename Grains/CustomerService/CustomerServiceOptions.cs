using Orleans.Im.Hosting;

namespace Orleans.Im.CustomerService;

/// <summary>
/// Defaults of every shop's customer service, and how often the queue checks its timeouts. Bound from
/// <c>IM:CustomerService</c> (environment: <c>IM__CustomerService__…</c>). Shops may override the timeouts at runtime
/// (<see cref="CustomerServiceSettings"/>).
/// </summary>
public sealed class CustomerServiceOptions
{
    public const string Section = "IM:CustomerService";

    /// <summary>A session whose user says nothing for this long after the agent's last answer is closed with a notice.</summary>
    [TimeSpanRange("00:00:01", "7.00:00:00")]
    public TimeSpan UserIdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>A user's message unanswered by the assigned agent for this long moves the session to another agent.</summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan AgentAnswerTimeout { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>
    /// A session no human agent holds (queued, perhaps covered by the auto-reply robot) is closed with a notice when its
    /// user has said nothing for this long since it was queued, so that abandoned sessions do not stay forever. Likewise
    /// a session whose customer's question has waited this long for an agent who does not answer, when no other agent
    /// can take it.
    /// </summary>
    [TimeSpanRange("00:00:01", "30.00:00:00")]
    public TimeSpan QueuedSessionTimeout { get; set; } = TimeSpan.FromDays(1);

    /// <summary>How long after a session closes its user may still rate it; then the queue forgets it.</summary>
    [TimeSpanRange("00:00:01", "30.00:00:00")]
    public TimeSpan RatingWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// The period of the durable reminder that checks the timeouts while sessions are open: a timeout fires at most this
    /// late. Orleans refuses reminder periods under its <c>MinimumReminderPeriod</c> (one minute unless configured).
    /// </summary>
    // At least Orleans' minimum reminder period (a minute), or registering the durable reminder fails at run time.
    [TimeSpanRange("00:01:00", "01:00:00")]
    public TimeSpan TimeoutCheckPeriod { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Told to a user who writes while no agent is online, when the shop has set no text of its own.</summary>
    public string DefaultAutoReplyText { get; set; } =
        "All our agents are away right now. You keep your place in the queue and we will answer as soon as someone is back.";
}
