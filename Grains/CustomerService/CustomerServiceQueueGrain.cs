using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Im.Accounts;
using Orleans.Im.Conversations;
using Orleans.Im.Events;
using Orleans.Im.Messages;
using Orleans.Im.Users;

namespace Orleans.Im.CustomerService;

/// <summary>
/// A shop's customer-service queue (see <see cref="ICustomerServiceQueueGrain"/>). Non-reentrant: every decision
/// sees the state the previous one left. It calls conversation grains (awaited) to hand a conversation to an agent
/// and to post notices; they only ever call it one-way, so the two never wait on each other.
/// </summary>
public sealed partial class CustomerServiceQueueGrain(
    [PersistentState("csqueue", StorageNames.Grains)] IPersistentState<CustomerServiceQueueState> state,
    IOptions<CustomerServiceOptions> options,
    ImClock clock,
    IEventFirehose firehose,
    ILogger<CustomerServiceQueueGrain> logger) : Grain, ICustomerServiceQueueGrain, IRemindable
{
    /// <summary>
    /// The durable reminder that checks timeouts and repairs what one-way notices missed, while any session is open, a
    /// release is pending or a closed session may still be rated.
    /// </summary>
    public const string TimeoutReminderName = "cs-timeouts";

    /// <summary>How long a closed session's last user message is remembered, against a repeated tell of it.</summary>
    private static readonly TimeSpan RecentlyClosedMemory = TimeSpan.FromMinutes(10);

    private readonly CustomerServiceOptions _options = options.Value;
    private IGrainReminder? _reminder;

    /// <summary>
    /// Per user, the last message seq of a session this activation closed lately: a conversation that tells a message
    /// again (its confirmation crossed the close) must not open a new session for it. In memory only: the repeats come
    /// within seconds, or at the conversation's next activation within minutes.
    /// </summary>
    private readonly Dictionary<string, (long Seq, DateTimeOffset ClosedAt)> _recentlyClosed = new(StringComparer.Ordinal);
    private int _recentlyClosedSweepAt = MinRecentlyClosedSweep;

    /// <summary>The fewest remembered closes worth a sweep.</summary>
    private const int MinRecentlyClosedSweep = 64;

    /// <summary>The close reason of a session nobody took within the queued-session timeout.</summary>
    private const string UnansweredReason = "unanswered";

    private string ShopId => this.GetPrimaryKeyString();

    private CustomerServiceQueueState S => state.State;

    private TimeSpan UserIdleTimeout => S.Settings.UserIdleTimeout ?? _options.UserIdleTimeout;

    private TimeSpan AgentAnswerTimeout => S.Settings.AgentAnswerTimeout ?? _options.AgentAnswerTimeout;

    private TimeSpan QueuedSessionTimeout => S.Settings.QueuedSessionTimeout ?? _options.QueuedSessionTimeout;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _reminder = await this.GetReminder(TimeoutReminderName, cancellationToken);
        // Agents, presence and releases may have changed while nobody held this queue (a silo restart).
        await RepairAsync();
        await DispatchAsync();
    }

    public async Task<AccessStatus> SetAgentAvailableAsync(string agentId, bool available)
    {
        if (!await IsAgentAsync(agentId))
        {
            return AccessStatus.NoAccess;
        }

        // Asked before anything changes here: a call that fails leaves the agent as stored (the caller is told it failed,
        // and must not find it done later, nor sessions routed to them on a stale presence).
        var presenceOnline = await GrainFactory.For<IUserGrain>(agentId).WatchPresenceForShopAsync(ShopId, available);
        var displayName = available ? (await GrainFactory.For<IUserGrain>(agentId).GetProfileAsync())?.DisplayName : null;
        var agent = AgentRecordOf(agentId);
        var wasOnline = agent.Online;
        agent.Available = available;
        agent.PresenceOnline = presenceOnline;
        if (available)
        {
            agent.DisplayName = displayName;
        }

        if (agent.Online && !wasOnline)
        {
            agent.IdleSince = clock.UtcNow;
        }

        await SaveAsync();
        if (!agent.Online)
        {
            await RequeueAgentSessionsAsync(agentId);
        }

        await DispatchAsync();
        return AccessStatus.Ok;
    }

    public async Task<AgentView?> GetAgentViewAsync(string agentId)
    {
        if (!await IsAgentAsync(agentId))
        {
            return null;
        }

        var agent = AgentRecordOf(agentId);
        var sessions = S.Sessions.Values.Where(s => s.AgentId == agentId).OrderBy(s => s.AssignedAt).Select(View).ToList();
        return new AgentView(agentId, agent.Available, agent.Online, MaxFor(agent), S.Waiting.Count, sessions);
    }

    public Task<AccessStatus> TransferAsync(string agentId, string userId, string? toAgentId) =>
        TransferAsync(agentId, userId, toAgentId, sessionId: null);

    public async Task<AccessStatus> TransferAsync(string agentId, string userId, string? toAgentId, string? sessionId)
    {
        if (!await IsAgentAsync(agentId))
        {
            return AccessStatus.NoAccess;
        }

        if (AgentsOpenSession(agentId, userId, sessionId) is not { } session)
        {
            return AccessStatus.NotFound;
        }

        if (toAgentId is null)
        {
            // Back to the head of the queue, for someone else (for a while: see AvoidedAgent).
            session.AvoidAgentId = agentId;
            session.AvoidSince = clock.UtcNow;
            await RequeueAsync(session, atHead: true);
            await SaveAsync();
            await DispatchAsync();
            return AccessStatus.Ok;
        }

        if (toAgentId == agentId || toAgentId == userId)
        {
            return AccessStatus.Invalid;
        }

        if (!await IsAgentAsync(toAgentId) || !S.Agents.TryGetValue(toAgentId, out var target) || !HasRoom(target))
        {
            return AccessStatus.NotAllowed;
        }

        await AssignAsync(session, target);
        await DispatchAsync();
        return AccessStatus.Ok;
    }

    public Task<AccessStatus> CloseAsync(string agentId, string userId) => CloseAsync(agentId, userId, sessionId: null);

    public async Task<AccessStatus> CloseAsync(string agentId, string userId, string? sessionId)
    {
        if (!await IsAgentAsync(agentId))
        {
            return AccessStatus.NoAccess;
        }

        if (AgentsOpenSession(agentId, userId, sessionId) is not { } session)
        {
            return AccessStatus.NotFound;
        }

        await CloseSessionAsync(session, "agent");
        await DispatchAsync();
        return AccessStatus.Ok;
    }

    /// <summary>The user's open session when <paramref name="agentId"/> has it (and it is <paramref name="sessionId"/>, unless that is null or empty).</summary>
    private SessionRecord? AgentsOpenSession(string agentId, string userId, string? sessionId) =>
        userId is not null && S.Sessions.TryGetValue(userId, out var session) && session.AgentId == agentId
            && (string.IsNullOrEmpty(sessionId) || session.SessionId == sessionId)
            ? session
            : null;

    public async Task<AccessStatus> RateAsync(string userId, int score)
    {
        if (score is < 1 or > CustomerServiceLimits.MaxRating)
        {
            return AccessStatus.Invalid;
        }

        if (userId is null || !S.Unrated.Remove(userId, out var closed))
        {
            return AccessStatus.NotFound;
        }

        if (clock.UtcNow - closed.ClosedAt >= _options.RatingWindow)
        {
            // Too late (the tick had not dropped it yet).
            await SaveAsync();
            return AccessStatus.NotFound;
        }

        S.Ratings.Add(new SessionRating(closed.SessionId, userId, closed.AgentId, score, clock.UtcNow));
        if (S.Ratings.Count > CustomerServiceLimits.RecentRatingsKept)
        {
            S.Ratings.RemoveRange(0, S.Ratings.Count - CustomerServiceLimits.RecentRatingsKept);
        }

        await SaveAsync();
        LogRated(logger, ShopId, closed.SessionId, score);
        firehose.Publish(FirehoseEvents.CustomerService("cs.rated", GrainKeys.CustomerService(ShopId, userId),
            new CustomerServiceEventData(closed.SessionId, ShopId, userId, closed.AgentId, Score: score), clock.UtcNow));
        await NoticeAsync(userId, CustomerServiceNotices.Rated, $"Thank you for rating us {score} of {CustomerServiceLimits.MaxRating}.",
            new Dictionary<string, object?> { ["score"] = score, ["sessionId"] = closed.SessionId });
        return AccessStatus.Ok;
    }

    public Task<CustomerServiceSettings> GetSettingsAsync() => Task.FromResult(S.Settings);

    public async Task<AccessStatus> SetSettingsAsync(CustomerServiceSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        // The reply text must be storable: one that is not (a NUL) would be refused with every auto-reply notice, only
        // logged, and the shop would never know.
        if (settings.MaxSessionsPerAgent is < 1 or > CustomerServiceLimits.MaxSessionsPerAgent
            || settings.AutoReplyText?.Length > CustomerServiceLimits.MaxAutoReplyLength
            || (settings.AutoReplyText is { } text && !StorableText.IsStorable(text))
            || settings.UserIdleTimeout < CustomerServiceLimits.MinTimeout || settings.UserIdleTimeout > CustomerServiceLimits.MaxUserIdleTimeout
            || settings.AgentAnswerTimeout < CustomerServiceLimits.MinTimeout || settings.AgentAnswerTimeout > CustomerServiceLimits.MaxAgentAnswerTimeout
            || settings.QueuedSessionTimeout < CustomerServiceLimits.MinTimeout || settings.QueuedSessionTimeout > CustomerServiceLimits.MaxQueuedSessionTimeout
            || (settings.AutoReplyRobotId is not null && !await IsRobotAsync(settings.AutoReplyRobotId)))
        {
            return AccessStatus.Invalid;
        }

        S.Settings = settings with { AutoReplyText = string.IsNullOrWhiteSpace(settings.AutoReplyText) ? null : settings.AutoReplyText };
        await SaveAsync();
        await WatchRobotAsync();
        // More room per agent may take users off the queue at once.
        await DispatchAsync();
        return AccessStatus.Ok;
    }

    public async Task<AccessStatus> SetAgentMaxSessionsAsync(string agentId, int? maxSessions)
    {
        if (!await IsAgentAsync(agentId))
        {
            return AccessStatus.NotFound;
        }

        if (maxSessions is < 1 or > CustomerServiceLimits.MaxSessionsPerAgent)
        {
            return AccessStatus.Invalid;
        }

        AgentRecordOf(agentId).MaxSessions = maxSessions;
        await SaveAsync();
        await DispatchAsync();
        return AccessStatus.Ok;
    }

    public Task<QueueSnapshot> GetSnapshotAsync() => Task.FromResult(new QueueSnapshot(
        S.Waiting.ToArray(),
        S.Sessions.Values.OrderBy(s => s.OpenedAt).Select(View).ToArray(),
        S.Agents.Values.OrderBy(a => a.AgentId, StringComparer.Ordinal)
            .Select(a => new AgentInfo(a.AgentId, a.Available, a.PresenceOnline, LoadOf(a.AgentId), a.IdleSince, MaxFor(a))).ToArray(),
        S.Ratings.ToArray(),
        S.Settings,
        S.Unrated.Values.Count(u => clock.UtcNow - u.ClosedAt < _options.RatingWindow),
        S.PendingReleases.Count));

    public async Task OnUserMessageAsync(string userId, long seq)
    {
        var now = clock.UtcNow;
        if (S.Sessions.TryGetValue(userId, out var session))
        {
            if (seq > session.LastUserSeq && seq >= session.FirstSeq)
            {
                session.LastUserSeq = seq;
                if (seq > session.LastAgentSeq)
                {
                    session.LastUserMessageAt = now;
                    session.AwaitingSince ??= now;
                }

                // Else the agent wrote after it (this is the retell of a notice the queue lost): answered, and the answer
                // clock must not start, or an answered customer would be passed to another agent mid-conversation.
                await SaveAsync();
            }

            // Else told again (or a message from before this session): already counted, and the agent's answer clock must
            // not restart for it.
            ConfirmTold(userId, seq);
            return;
        }

        if (_recentlyClosed.TryGetValue(userId, out var closed) && seq <= closed.Seq)
        {
            ConfirmTold(userId, seq);
            return;
        }

        // A release of the user's previous session still pending is this session's hand-over now: whoever answers it
        // (or nobody) is what the conversation must know, and a late release must not undo an assignment.
        var releasePending = S.PendingReleases.Remove(userId);
        session = new SessionRecord
        {
            SessionId = Guid.NewGuid().ToString("N"),
            UserId = userId,
            OpenedAt = now,
            FirstSeq = seq,
            LastUserSeq = seq,
            LastUserMessageAt = now,
            AwaitingSince = now,
            QueuedSince = now,
            HandedOver = !releasePending,
        };
        S.Sessions[userId] = session;
        S.Waiting.Add(userId);
        LogOpened(logger, ShopId, session.SessionId, userId);
        await SaveAsync();
        ConfirmTold(userId, seq);
        PublishSession("cs.queued", session, position: S.Waiting.IndexOf(userId) + 1);
        await DispatchAsync();
        if (!session.HandedOver && S.Sessions.ContainsKey(userId))
        {
            // Nobody took it: the previous answerer still has to be released.
            await HandOverAsync(session);
        }

        // The robot covering the wait answers in its own words; the fixed text is for when nobody can.
        if (session.AgentId is null && session.RobotId is null && !S.Agents.Values.Any(a => a.Online))
        {
            await NoticeAsync(userId, CustomerServiceNotices.AutoReply, S.Settings.AutoReplyText ?? _options.DefaultAutoReplyText, null);
        }
    }

    public async Task OnAgentMessageAsync(string userId, string agentId, long seq)
    {
        if (S.Sessions.TryGetValue(userId, out var session) && session.AgentId == agentId)
        {
            session.AwaitingSince = null;
            session.LastAgentMessageAt = clock.UtcNow;
            session.LastAgentSeq = Math.Max(session.LastAgentSeq, seq);
            await SaveAsync();
        }
    }

    public async Task OnAgentPresenceAsync(string agentId, bool online)
    {
        if (agentId == S.WatchedRobotId && !S.Agents.ContainsKey(agentId))
        {
            await OnRobotPresenceAsync(online);
            return;
        }

        if (!S.Agents.TryGetValue(agentId, out var agent) || agent.PresenceOnline == online)
        {
            return;
        }

        var wasOnline = agent.Online;
        agent.PresenceOnline = online;
        if (agent.Online && !wasOnline)
        {
            agent.IdleSince = clock.UtcNow;
        }

        LogAgentPresence(logger, ShopId, agentId, online);
        await SaveAsync();
        if (!agent.Online)
        {
            await RequeueAgentSessionsAsync(agentId);
        }

        await DispatchAsync();
    }

    public async Task OnAgentsChangedAsync(IReadOnlyList<string> agentIds)
    {
        ArgumentNullException.ThrowIfNull(agentIds);
        await ApplyAgentListAsync(agentIds);
        await DispatchAsync();
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != TimeoutReminderName)
        {
            return;
        }

        await RepairAsync();
        var now = clock.UtcNow;
        foreach (var session in S.Sessions.Values.Where(s => !s.HandedOver).ToList())
        {
            await HandOverAsync(session);
        }

        foreach (var session in S.Sessions.Values.Where(s => s.AgentId is not null).ToList())
        {
            if (session.AwaitingSince is { } waiting)
            {
                if (now - waiting < AgentAnswerTimeout)
                {
                    continue;
                }

                if (await AnsweredUnheardAsync(session) is { } unheard)
                {
                    // The agent did answer: the one-way notice of it was lost (the queue's silo, a failed write). Their
                    // customer is not passed to another agent for it.
                    LogAnswerRepaired(logger, ShopId, session.SessionId, session.AgentId);
                    session.LastAgentMessageAt = unheard;
                    session.AwaitingSince = null;
                    await SaveAsync();
                }
                else if (session.LastAgentMessageAt is { } answered && session.LastUserMessageAt <= answered)
                {
                    // The clock of a hand-over after an answer, and the customer said nothing since: no question waits, so
                    // the session is not passed on again (agents would pass a quiet customer round for ever); it is quiet,
                    // and closes as idle in time.
                    session.AwaitingSince = null;
                    await SaveAsync();
                }
                else
                {
                    await ReassignUnansweredAsync(session, now);
                }
            }
            else if (now - Latest(session.LastUserMessageAt, session.AssignedAt, session.LastAgentMessageAt) >= UserIdleTimeout)
            {
                await CloseSessionAsync(session, "idle");
            }
        }

        // Sessions nobody takes (or that the robot alone answers) do not stay forever once their user has gone quiet.
        foreach (var session in S.Sessions.Values.Where(s => s.AgentId is null).ToList())
        {
            if (now - Latest(session.LastUserMessageAt, session.QueuedSince, null) >= QueuedSessionTimeout)
            {
                await CloseSessionAsync(session, UnansweredReason);
            }
        }

        await ForgetExpiredRatingsAsync(now);
        await DispatchAsync();
        await EnsureReminderAsync();
    }

    /// <summary>
    /// Repairs what one-way notices may have missed (on activation and on every tick): the agent list from the shop's
    /// account; the presence of each available agent and of the watched robot, asked again; the sessions of agents
    /// who are not online go back to the queue (always: a requeue cut short before is finished here); releases of
    /// closed sessions are retried. A grain that does not answer is logged and asked again next time.
    /// </summary>
    private async Task RepairAsync()
    {
        try
        {
            await LoadAgentsAsync();
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            LogRepairFailed(logger, ShopId, "agent list", ex.Message);
        }

        var changed = false;
        // Asked together: one round trip, not one per agent (and a silo failover costs one call timeout, not one each).
        var available = S.Agents.Values.Where(a => a.Available).ToList();
        var answers = await Task.WhenAll(available.Select(a => AskPresenceAsync(a.AgentId)));
        foreach (var (agent, answer) in available.Zip(answers))
        {
            if (answer is not { } online || online == agent.PresenceOnline)
            {
                continue;
            }

            var wasOnline = agent.Online;
            agent.PresenceOnline = online;
            if (agent.Online && !wasOnline)
            {
                agent.IdleSince = clock.UtcNow;
            }

            LogAgentPresence(logger, ShopId, agent.AgentId, online);
            changed = true;
        }

        if (S.WatchedRobotId is { } robot && await AskPresenceAsync(robot) is { } robotOnline && robotOnline != S.RobotOnline)
        {
            S.RobotOnline = robotOnline;
            LogAgentPresence(logger, ShopId, robot, robotOnline);
            changed = true;
        }

        if (changed)
        {
            await SaveAsync();
        }

        await RequeueSessionsOfOfflineAgentsAsync();
        foreach (var userId in S.PendingReleases.ToList())
        {
            await ReleaseAsync(userId);
        }
    }

    /// <summary>Asks a user grain for its presence (and to keep telling this queue); null when it did not answer.</summary>
    private async Task<bool?> AskPresenceAsync(string userId)
    {
        try
        {
            return await GrainFactory.For<IUserGrain>(userId).WatchPresenceForShopAsync(ShopId, true);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            LogRepairFailed(logger, ShopId, $"presence of {userId}", ex.Message);
            return null;
        }
    }

    /// <summary>Drops closed sessions past the rating window: they can no longer be rated.</summary>
    private async Task ForgetExpiredRatingsAsync(DateTimeOffset now)
    {
        var expired = S.Unrated.Where(u => now - u.Value.ClosedAt >= _options.RatingWindow).Select(u => u.Key).ToList();
        foreach (var userId in expired)
        {
            S.Unrated.Remove(userId);
        }

        if (expired.Count > 0)
        {
            await SaveAsync();
        }
    }

    /// <summary>Assigns queued sessions, head first, while some online agent has room; then tells the rest their positions.</summary>
    private async Task DispatchAsync()
    {
        foreach (var userId in S.Waiting.ToList())
        {
            if (!S.Agents.Values.Any(HasRoom))
            {
                break;
            }

            var session = S.Sessions[userId];
            if (PickAgent(session, AvoidedAgent(session)) is { } agent)
            {
                await AssignAsync(session, agent);
            }
        }

        await CoverWaitingWithRobotAsync();
        await TellPositionsAsync();
        await EnsureReminderAsync();
    }

    /// <summary>The robot that answers waiting users now: the shop's, when it is online and no human agent is.</summary>
    private string? CoveringRobot =>
        S.WatchedRobotId is { } robot && S.RobotOnline && S.Settings.AutoReplyRobotId == robot && !S.Agents.Values.Any(a => a.Online)
            ? robot
            : null;

    /// <summary>
    /// Waiting sessions get the shop's auto-reply robot while no human agent is online, and lose it when one comes
    /// (those an agent took already lost it in <see cref="AssignAsync"/>). The sessions stay in the queue, in order.
    /// </summary>
    private async Task CoverWaitingWithRobotAsync()
    {
        var robot = CoveringRobot;
        foreach (var userId in S.Waiting.ToList())
        {
            var session = S.Sessions[userId];
            if (session.RobotId != robot)
            {
                var previous = session.RobotId;
                session.RobotId = robot;
                if (robot is not null)
                {
                    LogRobotCovers(logger, ShopId, session.SessionId, robot);
                }

                await HandOverAsync(session);
                // Other systems see who answers a waiting customer: the shop's robot, or nobody once it stops.
                PublishSession(robot is not null ? "cs.robot_covers" : "cs.robot_released", session, fromAgentId: previous,
                    position: S.Waiting.IndexOf(userId) + 1, answererId: robot);
            }
        }
    }

    private async Task OnRobotPresenceAsync(bool online)
    {
        if (S.RobotOnline == online)
        {
            return;
        }

        S.RobotOnline = online;
        LogAgentPresence(logger, ShopId, S.WatchedRobotId!, online);
        await SaveAsync();
        await DispatchAsync();
    }

    /// <summary>Follows the presence of the robot the settings name (and stops following a previous one).</summary>
    private async Task WatchRobotAsync()
    {
        var wanted = S.Settings.AutoReplyRobotId;
        if (wanted == S.WatchedRobotId)
        {
            return;
        }

        if (S.WatchedRobotId is { } previous && !S.Agents.ContainsKey(previous))
        {
            await GrainFactory.For<IUserGrain>(previous).WatchPresenceForShopAsync(ShopId, false);
        }

        // Set once the watch answered: a failed one leaves the previous robot as the one watched here (not the new robot with
        // the old one's presence). The new one does not cover meanwhile (covering needs the robot named to be the one
        // watched), until the settings are set again.
        var robotOnline = wanted is not null && await GrainFactory.For<IUserGrain>(wanted).WatchPresenceForShopAsync(ShopId, true);
        S.WatchedRobotId = wanted;
        S.RobotOnline = robotOnline;
        await SaveAsync();
    }

    private async Task<bool> IsRobotAsync(string robotId) =>
        GrainKeys.IsValidUserId(robotId)
        && await GrainFactory.For<IAccountGrain>(robotId).GetCredentialsAsync() is { Disabled: false } credentials
        && credentials.Roles.Contains(AccountRole.Robot);

    /// <summary>
    /// The agent who handed the session back, for the shop's agent-answer timeout since: after that they may take it
    /// again (they may be the only agent there is), rather than leave the user waiting for someone who never comes.
    /// </summary>
    private string? AvoidedAgent(SessionRecord session) =>
        session.AvoidAgentId is { } avoid && session.AvoidSince is { } since && clock.UtcNow - since < AgentAnswerTimeout ? avoid : null;

    /// <summary>The least-loaded online agent with room; among equals, the one idle longest.</summary>
    /// <summary>
    /// The least loaded agent with room for <paramref name="session"/>, other than <paramref name="avoid"/> and than its
    /// customer (an agent writing to their own shop, to try it, must not be routed to themselves: their questions would
    /// count as the shop's answers).
    /// </summary>
    private AgentRecord? PickAgent(SessionRecord session, string? avoid) =>
        S.Agents.Values
            .Where(a => HasRoom(a) && a.AgentId != avoid && a.AgentId != session.UserId)
            .OrderBy(a => LoadOf(a.AgentId))
            .ThenBy(a => a.IdleSince)
            .ThenBy(a => a.AgentId, StringComparer.Ordinal)
            .FirstOrDefault();

    private bool HasRoom(AgentRecord agent) => agent.Online && LoadOf(agent.AgentId) < MaxFor(agent);

    private int MaxFor(AgentRecord agent) => agent.MaxSessions ?? S.Settings.MaxSessionsPerAgent;

    private int LoadOf(string agentId) => S.Sessions.Values.Count(s => s.AgentId == agentId);

    private async Task AssignAsync(SessionRecord session, AgentRecord agent)
    {
        var now = clock.UtcNow;
        var previous = session.AgentId;
        // Handed back to the queue by an agent (a transfer to nobody in particular): handed over all the same.
        var handedBack = session.AvoidAgentId is not null;
        S.Waiting.Remove(session.UserId);
        session.AgentId = agent.AgentId;
        session.AssignedAt = now;
        session.ToldPosition = 0;
        session.AvoidAgentId = null;
        session.AvoidSince = null;
        session.RobotId = null;
        // The new agent's answer clock starts now: time spent queued or with another agent is not theirs. A customer handed
        // over by an agent ("transferring you to billing") waits for the new agent's first word even when answered before:
        // without a clock the session closed as idle while they waited. (One requeued from an agent who left, answered,
        // gets none: their question was answered.) So does one an agent handed back to the queue for someone else.
        if (session.AwaitingSince is not null || previous is not null || handedBack)
        {
            session.AwaitingSince = now;
        }

        agent.IdleSince = now;
        await HandOverAsync(session);
        var name = S.Settings.ShowAgentName ? agent.DisplayName : null;

        LogAssigned(logger, ShopId, session.SessionId, agent.AgentId);
        PublishSession(previous is null ? "cs.assigned" : "cs.transferred", session, fromAgentId: previous);
        await NoticeAsync(session.UserId, CustomerServiceNotices.Assigned,
            name is null ? "You are now talking to our service team." : $"You are now talking to {name}.",
            name is null ? null : new Dictionary<string, object?> { ["agentName"] = name });
    }

    /// <summary>Takes a session from its agent and puts it back in the queue.</summary>
    private async Task RequeueAsync(SessionRecord session, bool atHead)
    {
        var previous = session.AgentId;
        session.AgentId = null;
        session.RobotId = null;
        session.AssignedAt = null;
        session.ToldPosition = 0;
        session.QueuedSince = clock.UtcNow;
        S.Waiting.Remove(session.UserId);
        if (atHead)
        {
            S.Waiting.Insert(0, session.UserId);
        }
        else
        {
            S.Waiting.Add(session.UserId);
        }

        await HandOverAsync(session);
        PublishSession("cs.requeued", session, fromAgentId: previous, position: S.Waiting.IndexOf(session.UserId) + 1);
    }

    /// <summary>
    /// Tells the user's conversation who answers now (the queue's state is saved first: it is the truth). A failed
    /// hand-over stays marked and the timeout reminder retries it, so an agent is never left unable to answer.
    /// </summary>
    private async Task HandOverAsync(SessionRecord session)
    {
        session.HandedOver = false;
        await SaveAsync();
        var name = session.AgentId is { } agentId && S.Settings.ShowAgentName && S.Agents.TryGetValue(agentId, out var agent) ? agent.DisplayName : null;
        AccessStatus handed;
        try
        {
            handed = await Conversation(session.UserId).SetCustomerServiceAgentAsync(session.AnswererId, name, session.FirstSeq - 1);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            LogHandOverFailed(logger, ShopId, session.SessionId, session.AnswererId ?? "(queue)", ex.Message);
            return;
        }

        if (handed != AccessStatus.Ok)
        {
            LogHandOverFailed(logger, ShopId, session.SessionId, session.AnswererId ?? "(queue)", handed.ToString());
            return;
        }

        session.HandedOver = true;
        await SaveAsync();
    }

    /// <summary>An agent went offline (or unavailable): their sessions go back to the head of the queue, oldest first.</summary>
    private async Task RequeueAgentSessionsAsync(string agentId)
    {
        var sessions = S.Sessions.Values.Where(s => s.AgentId == agentId).OrderByDescending(s => s.OpenedAt).ToList();
        foreach (var session in sessions)
        {
            // Inserted newest first at the head, so the oldest ends up first.
            await RequeueAsync(session, atHead: true);
        }
    }

    private async Task RequeueSessionsOfOfflineAgentsAsync()
    {
        foreach (var agent in S.Agents.Values.Where(a => !a.Online).ToList())
        {
            await RequeueAgentSessionsAsync(agent.AgentId);
        }
    }

    /// <summary>
    /// The agent did not answer in time: the session moves to another agent with room at once. When nobody else can
    /// take it, it stays (moving it to the queue would only hand it back) and the clock starts again — until the
    /// customer's question has waited as long as a queued session may (<see cref="QueuedSessionTimeout"/>): then it
    /// closes as unanswered, as a queued one does. Before, an agent online and available who never answered held their
    /// customers for good, and their room with them.
    /// </summary>
    /// <summary>
    /// When the session's agent wrote the conversation's last message and the queue was not told (a lost one-way notice):
    /// when it was written; else null, also when the conversation cannot be asked now (the timeout then acts as before).
    /// </summary>
    private async Task<DateTimeOffset?> AnsweredUnheardAsync(SessionRecord session)
    {
        try
        {
            var (status, last, _) = await Conversation(session.UserId).GetHeadAsync(ShopId);
            return status == AccessStatus.Ok && last is { } message && message.ActingSenderId == session.AgentId
                && message.ServerTime > (session.LastAgentMessageAt ?? DateTimeOffset.MinValue)
                    ? message.ServerTime
                    : null;
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            return null;
        }
    }

    private async Task ReassignUnansweredAsync(SessionRecord session, DateTimeOffset now)
    {
        var previous = session.AgentId!;
        if (PickAgent(session, previous) is { } other)
        {
            LogUnanswered(logger, ShopId, session.SessionId, previous, other.AgentId);
            await AssignAsync(session, other);
        }
        else if (session.LastUserMessageAt is { } asked && now - asked >= QueuedSessionTimeout)
        {
            await CloseSessionAsync(session, UnansweredReason);
        }
        else
        {
            session.AwaitingSince = now;
            await SaveAsync();
        }
    }

    /// <summary>
    /// Closes a session and tells the user. The conversation is taken from its answerer after the queue's state holds a
    /// pending release (retried by the reminder until it succeeds), so a closed session's agent never keeps access.
    /// </summary>
    private async Task CloseSessionAsync(SessionRecord session, string reason)
    {
        var userId = session.UserId;
        // Nobody to rate when nobody answered; the user's earlier unrated session is not theirs to rate any more either.
        var rate = reason != UnansweredReason || session.LastAgentMessageAt is not null;
        RememberClosed(session);
        S.Sessions.Remove(userId);
        S.Waiting.Remove(userId);
        S.Unrated.Remove(userId);
        if (rate)
        {
            S.Unrated[userId] = new ClosedSession(session.SessionId, session.AgentId, clock.UtcNow);
            TrimUnrated();
        }

        if (session.AnswererId is not null || !session.HandedOver)
        {
            S.PendingReleases.Add(userId);
        }

        await SaveAsync();
        LogClosed(logger, ShopId, session.SessionId, reason);
        PublishSession("cs.closed", session, reason: reason);
        if (S.PendingReleases.Contains(userId))
        {
            await ReleaseAsync(userId);
        }

        var text = reason switch
        {
            "idle" => $"This conversation was closed because we did not hear from you. How did we do? Rate us from 1 to {CustomerServiceLimits.MaxRating}.",
            UnansweredReason when !rate => "We are sorry nobody could answer you this time. Write again whenever you like.",
            _ => $"This conversation has ended. How did we do? Rate us from 1 to {CustomerServiceLimits.MaxRating}.",
        };
        await NoticeAsync(userId, CustomerServiceNotices.Closed, text,
            new Dictionary<string, object?> { ["reason"] = reason, ["rate"] = rate, ["sessionId"] = session.SessionId });
    }

    /// <summary>The conversation may stop telling the queue of the user's messages up to <paramref name="seq"/>.</summary>
    private void ConfirmTold(string userId, long seq) => Conversation(userId).OnCustomerServiceToldAsync(seq).Ignore();

    private void RememberClosed(SessionRecord session)
    {
        var now = clock.UtcNow;
        if (_recentlyClosed.Count >= _recentlyClosedSweepAt)
        {
            // Swept when it has doubled, not at every close: a busy shop closes thousands of sessions in the memory's span.
            foreach (var (userId, closed) in _recentlyClosed.ToList())
            {
                if (now - closed.ClosedAt > RecentlyClosedMemory)
                {
                    _recentlyClosed.Remove(userId);
                }
            }

            _recentlyClosedSweepAt = Math.Max(MinRecentlyClosedSweep, 2 * _recentlyClosed.Count);
        }

        _recentlyClosed[session.UserId] = (Math.Max(session.LastUserSeq, session.FirstSeq), now);
    }

    /// <summary>Takes the user's conversation from the closed session's answerer; a failure stays pending for the reminder.</summary>
    private async Task ReleaseAsync(string userId)
    {
        AccessStatus released;
        try
        {
            released = await Conversation(userId).SetCustomerServiceAgentAsync(null, null, 0);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            LogReleaseFailed(logger, ShopId, userId, ex.Message);
            return;
        }

        if (released == AccessStatus.Unavailable)
        {
            LogReleaseFailed(logger, ShopId, userId, released.ToString());
            return;
        }

        S.PendingReleases.Remove(userId);
        await SaveAsync();
    }

    /// <summary>
    /// Forgets unrated sessions past the rating window (here, as sessions close, not by a reminder kept for them: that
    /// would tick a shop's queue for a week after its last session), and keeps at most
    /// <see cref="CustomerServiceLimits.UnratedKept"/>: the oldest go.
    /// </summary>
    private void TrimUnrated()
    {
        var now = clock.UtcNow;
        foreach (var userId in S.Unrated.Where(u => now - u.Value.ClosedAt >= _options.RatingWindow).Select(u => u.Key).ToList())
        {
            S.Unrated.Remove(userId);
        }

        if (S.Unrated.Count <= CustomerServiceLimits.UnratedKept)
        {
            return;
        }

        foreach (var userId in S.Unrated.OrderBy(u => u.Value.ClosedAt).Take(S.Unrated.Count - CustomerServiceLimits.UnratedKept).Select(u => u.Key).ToList())
        {
            S.Unrated.Remove(userId);
        }
    }

    /// <summary>Tells each queued user their position when it changed since they were last told.</summary>
    private async Task TellPositionsAsync()
    {
        var told = new List<Task>();
        for (var i = 0; i < S.Waiting.Count; i++)
        {
            var session = S.Sessions[S.Waiting[i]];
            var position = i + 1;
            if (QueuePositions.ShouldTell(session.ToldPosition, position))
            {
                session.ToldPosition = position;
                told.Add(NoticeAsync(session.UserId, CustomerServiceNotices.Queued,
                    $"You are number {position} in the queue. An agent will be with you shortly.",
                    new Dictionary<string, object?> { ["position"] = position }, CustomerServiceNotices.QueueCollapseKey));
            }
        }

        if (told.Count > 0)
        {
            await SaveAsync();
            await Task.WhenAll(told);
        }
    }

    /// <summary>Posts a notice from the shop into the user's conversation (logged, pushed, pulled like any message).</summary>
    private async Task NoticeAsync(string userId, string kind, string text, Dictionary<string, object?>? data, string? collapseKey = null)
    {
        var content = new MessageContent(ContentType.Custom, text, CustomType: kind, CustomData: JsonSerializer.Serialize(data ?? new Dictionary<string, object?>()));
        SendResult result;
        try
        {
            result = await Conversation(userId).SendAsync(new SendRequest(ShopId, null, $"cs-{Guid.NewGuid():N}", content,
                MessageClass.Notification, collapseKey));
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            // A notice is not worth aborting the decision (or the reminder's loop) it reports.
            LogNoticeFailed(logger, ShopId, userId, kind, ex.Message);
            return;
        }

        if (!result.IsAccepted)
        {
            LogNoticeFailed(logger, ShopId, userId, kind, result.Error ?? result.Status.ToString());
        }
    }

    /// <summary>
    /// Keeps the timeout reminder registered exactly while it has work: any open session (queued ones time out too) or
    /// a pending release. Unrated sessions do not keep it: they are forgotten as later sessions close (and a late
    /// rating is refused).
    /// </summary>
    private async Task EnsureReminderAsync()
    {
        var needed = S.Sessions.Count > 0 || S.PendingReleases.Count > 0;
        if (needed && _reminder is null)
        {
            _reminder = await this.RegisterOrUpdateReminder(TimeoutReminderName, _options.TimeoutCheckPeriod, _options.TimeoutCheckPeriod);
        }
        else if (!needed && _reminder is not null)
        {
            await this.UnregisterReminder(_reminder);
            _reminder = null;
        }
    }

    private async Task<bool> IsAgentAsync(string? agentId)
    {
        if (!GrainKeys.IsValidUserId(agentId))
        {
            return false;
        }

        if (!S.AgentsLoaded || !S.Agents.ContainsKey(agentId))
        {
            // Maybe added since we last looked (the account's notice is one-way): ask the shop's account.
            await LoadAgentsAsync();
        }

        return S.Agents.ContainsKey(agentId);
    }

    private async Task LoadAgentsAsync()
    {
        var agents = await GrainFactory.For<IAccountGrain>(ShopId).GetAgentsAsync();
        await ApplyAgentListAsync(agents);
    }

    private async Task ApplyAgentListAsync(IReadOnlyList<string> agentIds)
    {
        var wanted = agentIds.ToHashSet(StringComparer.Ordinal);
        var gone = S.Agents.Keys.Where(id => !wanted.Contains(id)).ToList();
        var added = wanted.Where(id => !S.Agents.ContainsKey(id)).ToList();
        if (gone.Count == 0 && added.Count == 0)
        {
            // Nothing to store: in particular no row for a shop without agents, which anyone may name (asking for an
            // agent view or rating a made-up shop must not leave a stored queue behind). A new activation asks again.
            S.AgentsLoaded = true;
            return;
        }

        foreach (var id in gone)
        {
            await RequeueAgentSessionsAsync(id);
            S.Agents.Remove(id);
        }

        foreach (var id in gone)
        {
            try
            {
                await GrainFactory.For<IUserGrain>(id).WatchPresenceForShopAsync(ShopId, false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Not an agent here any more either way (removed first: still listed, they could be routed their own
                // requeued customers back). A watch left behind only tells this queue of their presence, which it ignores
                // for those it does not list.
                LogUnwatchFailed(logger, ShopId, id, ex.Message);
            }
        }

        foreach (var id in added)
        {
            AgentRecordOf(id);
        }

        S.AgentsLoaded = true;
        await SaveAsync();
    }

    private AgentRecord AgentRecordOf(string agentId)
    {
        if (!S.Agents.TryGetValue(agentId, out var agent))
        {
            agent = new AgentRecord { AgentId = agentId, IdleSince = clock.UtcNow };
            S.Agents[agentId] = agent;
        }

        return agent;
    }

    private SessionView View(SessionRecord s) => new(s.SessionId, s.UserId, GrainKeys.CustomerService(ShopId, s.UserId), s.AgentId,
        s.OpenedAt, s.AgentId is null ? S.Waiting.IndexOf(s.UserId) + 1 : 0, s.AwaitingSince, s.FirstSeq, s.RobotId);

    private IConversationGrain Conversation(string userId) => GrainFactory.For<IConversationGrain>(GrainKeys.CustomerService(ShopId, userId));

    /// <summary>
    /// Writes the state. A write that fails leaves memory holding what storage refused (a session opened, say): the
    /// activation is dropped once this call ends, and the next one reads what is stored. The callers' work is then
    /// repeated by whoever asked (the conversation tells a user's message again until it is confirmed; the reminder
    /// retries the rest).
    /// </summary>
    private async Task SaveAsync()
    {
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
    }

    /// <summary>Tells other systems (firehose) what happened to a session, after the queue's state holds it.</summary>
    private void PublishSession(string type, SessionRecord session, string? fromAgentId = null, string? reason = null, int? position = null, string? answererId = null) =>
        firehose.Publish(FirehoseEvents.CustomerService(type, GrainKeys.CustomerService(ShopId, session.UserId),
            new CustomerServiceEventData(session.SessionId, ShopId, session.UserId, answererId ?? session.AgentId, fromAgentId, reason, position), clock.UtcNow));

    private static DateTimeOffset Latest(DateTimeOffset a, DateTimeOffset? b, DateTimeOffset? c)
    {
        var latest = a;
        if (b > latest)
        {
            latest = b.Value;
        }

        if (c > latest)
        {
            latest = c.Value;
        }

        return latest;
    }

    [LoggerMessage(1, LogLevel.Information, "Shop {ShopId}: session {SessionId} opened by {UserId}")]
    private static partial void LogOpened(ILogger logger, string shopId, string sessionId, string userId);

    [LoggerMessage(2, LogLevel.Information, "Shop {ShopId}: session {SessionId} assigned to {AgentId}")]
    private static partial void LogAssigned(ILogger logger, string shopId, string sessionId, string agentId);

    [LoggerMessage(3, LogLevel.Information, "Shop {ShopId}: session {SessionId} closed ({Reason})")]
    private static partial void LogClosed(ILogger logger, string shopId, string sessionId, string reason);

    [LoggerMessage(4, LogLevel.Information, "Shop {ShopId}: session {SessionId} unanswered by {AgentId}; reassigned to {OtherAgentId}")]
    private static partial void LogUnanswered(ILogger logger, string shopId, string sessionId, string agentId, string otherAgentId);

    [LoggerMessage(5, LogLevel.Information, "Shop {ShopId}: agent {AgentId} presence online={Online}")]
    private static partial void LogAgentPresence(ILogger logger, string shopId, string agentId, bool online);

    [LoggerMessage(6, LogLevel.Warning, "Shop {ShopId}: notice {Kind} to {UserId} not posted: {Reason}")]
    private static partial void LogNoticeFailed(ILogger logger, string shopId, string userId, string kind, string reason);

    [LoggerMessage(7, LogLevel.Warning, "Shop {ShopId}: session {SessionId} could not be handed to {AgentId}: {Status}")]
    private static partial void LogHandOverFailed(ILogger logger, string shopId, string sessionId, string agentId, string status);

    [LoggerMessage(8, LogLevel.Information, "Shop {ShopId}: session {SessionId} rated {Score}")]
    private static partial void LogRated(ILogger logger, string shopId, string sessionId, int score);

    [LoggerMessage(9, LogLevel.Information, "Shop {ShopId}: no agent online; robot {RobotId} answers waiting session {SessionId}")]
    private static partial void LogRobotCovers(ILogger logger, string shopId, string sessionId, string robotId);

    [LoggerMessage(10, LogLevel.Warning, "Shop {ShopId}: the conversation of {UserId}'s closed session could not be released yet: {Reason}")]
    private static partial void LogReleaseFailed(ILogger logger, string shopId, string userId, string reason);

    [LoggerMessage(11, LogLevel.Warning, "Shop {ShopId}: could not refresh the {What}: {Reason}")]
    private static partial void LogRepairFailed(ILogger logger, string shopId, string what, string reason);

    [LoggerMessage(12, LogLevel.Information, "Shop {ShopId}: session {SessionId}: agent {AgentId} answered, unheard (a lost notice); not passed on")]
    private static partial void LogAnswerRepaired(ILogger logger, string shopId, string sessionId, string? agentId);

    [LoggerMessage(13, LogLevel.Warning, "Shop {ShopId}: agent {AgentId}, removed from the shop, is still watched (their presence is ignored here): {Reason}")]
    private static partial void LogUnwatchFailed(ILogger logger, string shopId, string agentId, string reason);
}
