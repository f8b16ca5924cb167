using Orleans.Concurrency;
using Orleans.Im.Messages;

namespace Orleans.Im.CustomerService;

/// <summary>
/// A shop's customer service: its agents (online following their presence, with a load and a maximum of concurrent
/// sessions), the FIFO queue of waiting users, the open sessions, routing and timeouts. Key: the shop id.
/// A session is a user's conversation <c>cs:{shop}:{user}</c> from the user's first message until an agent (or the
/// idle timeout) closes it. Agent ids never leave this grain towards users.
/// </summary>
[Alias("im.ICustomerServiceQueueGrain")]
public interface ICustomerServiceQueueGrain : IGrainWithStringKey
{
    /// <summary>
    /// An agent of the shop becomes available for sessions (or stops). Available agents take sessions while their
    /// presence is online. <c>NoAccess</c> when the caller is not an agent of this shop.
    /// </summary>
    [Alias("SetAgentAvailable")]
    Task<AccessStatus> SetAgentAvailableAsync(string agentId, bool available);

    /// <summary>What an agent's console shows: own state, the queue length and own sessions. Null for a non-agent.</summary>
    [Alias("GetAgentView")]
    Task<AgentView?> GetAgentViewAsync(string agentId);

    /// <summary>
    /// Hands one of the agent's sessions to another agent of the shop (who must be online with room), or back to the
    /// head of the queue when <paramref name="toAgentId"/> is null.
    /// </summary>
    [Alias("Transfer")]
    Task<AccessStatus> TransferAsync(string agentId, string userId, string? toAgentId);

    /// <summary>The agent closes one of their sessions; the user is told and may rate it.</summary>
    [Alias("Close")]
    Task<AccessStatus> CloseAsync(string agentId, string userId);

    /// <summary>
    /// As <see cref="TransferAsync(string, string, string?)"/>, only when the user's open session is
    /// <paramref name="sessionId"/> (the one the agent's console shows): <c>NotFound</c> once it has closed, even when the
    /// user has opened another since, so that an agent acting on a stale view does not hand over a session they have
    /// not seen. Any open session of the user when <paramref name="sessionId"/> is null or empty.
    /// </summary>
    [Alias("TransferSession")]
    Task<AccessStatus> TransferAsync(string agentId, string userId, string? toAgentId, string? sessionId);

    /// <summary>
    /// As <see cref="CloseAsync(string, string)"/>, only when the user's open session is <paramref name="sessionId"/>:
    /// <c>NotFound</c> once it has closed, so that an agent's close meant for a session that closed as idle does not
    /// close the one the user opened since (and may have been given to the same agent). Any open session when
    /// <paramref name="sessionId"/> is null or empty.
    /// </summary>
    [Alias("CloseSession")]
    Task<AccessStatus> CloseAsync(string agentId, string userId, string? sessionId);

    /// <summary>
    /// The user rates their last closed session, 1 to <see cref="CustomerServiceLimits.MaxRating"/>, once, within the
    /// silo's rating window (seven days by default). <c>NotFound</c> when there is no closed, unrated session, or it
    /// closed longer ago than the window, or it closed unanswered.
    /// </summary>
    [Alias("Rate")]
    Task<AccessStatus> RateAsync(string userId, int score);

    /// <summary>The settings of the shop's customer service.</summary>
    [Alias("GetSettings")]
    Task<CustomerServiceSettings> GetSettingsAsync();

    /// <summary>Changes the settings at runtime; <c>Invalid</c> when a value is out of range.</summary>
    [Alias("SetSettings")]
    Task<AccessStatus> SetSettingsAsync(CustomerServiceSettings settings);

    /// <summary>
    /// Gives one agent their own maximum of concurrent sessions (1 to <see cref="CustomerServiceLimits.MaxSessionsPerAgent"/>),
    /// or the shop's again when null. <c>NotFound</c> for a non-agent, <c>Invalid</c> out of range.
    /// </summary>
    [Alias("SetAgentMaxSessions")]
    Task<AccessStatus> SetAgentMaxSessionsAsync(string agentId, int? maxSessions);

    /// <summary>The whole queue state, for administrators and monitoring.</summary>
    [Alias("GetSnapshot")]
    Task<QueueSnapshot> GetSnapshotAsync();

    /// <summary>
    /// The user's message <paramref name="seq"/> is durably in <c>cs:{shop}:{user}</c> (called by the conversation
    /// grain after the commit): opens a session when none is open, restarts the agent's answer clock. Idempotent: the
    /// conversation tells again until the queue confirms (<c>IConversationGrain.OnCustomerServiceToldAsync</c>), and a
    /// message the open session (or one closed a moment ago) already counts changes nothing.
    /// </summary>
    [Alias("OnUserMessage"), OneWay]
    Task OnUserMessageAsync(string userId, long seq);

    /// <summary>The assigned agent answered in the user's conversation (called by the conversation grain).</summary>
    [Alias("OnAgentMessage"), OneWay]
    Task OnAgentMessageAsync(string userId, string agentId, long seq);

    /// <summary>An agent's presence changed (called by the agent's user grain, after its offline grace).</summary>
    [Alias("OnAgentPresence"), OneWay]
    Task OnAgentPresenceAsync(string agentId, bool online);

    /// <summary>The shop's agent list changed (called by the shop's account grain).</summary>
    [Alias("OnAgentsChanged"), OneWay]
    Task OnAgentsChangedAsync(IReadOnlyList<string> agentIds);
}
