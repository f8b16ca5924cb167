using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Im.Contacts;
using Orleans.Im.Conversations;
using Orleans.Im.Messages;
using Orleans.Im.Streams;
using Orleans.Im.Users;
using Orleans.Streams;

namespace Orleans.Im.Accounts;

/// <inheritdoc cref="IAccountGrain"/>
public sealed partial class AccountGrain(
    [PersistentState("account", StorageNames.Grains)] IPersistentState<AccountState> state,
    IRevocationStore revocations,
    ImClock clock,
    ILogger<AccountGrain> logger) : Grain, IAccountGrain
{
    /// <summary>
    /// Sessions kept per account; beyond it sessions are dropped (and revoked): connection sessions first, then the oldest
    /// logins.
    /// </summary>
    public const int MaxSessions = 50;

    /// <summary>Users one account may block.</summary>
    public const int MaxBlocked = 5000;

    /// <summary>
    /// How long an ended session's announcement is retried when the broadcast cannot take it: as long as an access token
    /// may be set to live (IM:Auth:AccessTokenLifetime, at most a day; 15 minutes by default), after which edges refuse
    /// the token for its age anyway, and as long as the revocation log keeps what it was told.
    /// </summary>
    public static readonly TimeSpan AnnounceRetryWindow = RevocationLogGrain.Retention;

    /// <summary>
    /// Announcements waiting for the broadcast that the state keeps; beyond it the oldest about one session give way,
    /// never the latest about every session of the user (which covers the earlier ones).
    /// </summary>
    public const int MaxUnannounced = 4 * MaxSessions;

    // For all the sends of one call or retry: an unreachable stream queue shows as Orleans' 30 s response timeout, which
    // would hold this grain, and the caller whose change is already stored, that long. A send given up on may still
    // arrive; edges apply an announcement twice as once.
    private static readonly TimeSpan AnnounceTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan FirstAnnounceRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LastAnnounceRetry = TimeSpan.FromSeconds(30);

    // Ended sessions stored but not yet heard by the edges, oldest first; written with the state (see AnnounceAsync).
    private readonly List<SessionRevoked> _unannounced = [];

    // Armed while announcements wait for a retry.
    private IGrainTimer? _announceTimer;
    private TimeSpan _announceRetry = FirstAnnounceRetry;

    // The last try sent every announcement and failed only to record them: new ones are sent at once, not held for the retry.
    private bool _onlyRecordFailed;

    private string UserId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // The activation that ended these went before its announcements did (a crash, a failed write, a silo stopping).
        var horizon = clock.UtcNow - AnnounceRetryWindow;
        _unannounced.AddRange(state.State.Unannounced.Where(r => r.At >= horizon));
        if (_unannounced.Count > 0)
        {
            RetryAnnouncingIn(TimeSpan.Zero);
        }

        return Task.CompletedTask;
    }

    public async Task<AccessStatus> CreateAsync(NewAccount account)
    {
        ArgumentNullException.ThrowIfNull(account);
        if (state.State.Exists && !state.State.ProfilePending)
        {
            return AccessStatus.Conflict;
        }

        if (!GrainKeys.IsValidUserId(UserId) || account.Roles.Count == 0
            || string.IsNullOrWhiteSpace(account.DisplayName) || account.DisplayName.Length > UserProfile.MaxDisplayNameLength
            || !StorableText.IsStorable(account.DisplayName))
        {
            return AccessStatus.Invalid;
        }

        if (!state.State.Exists)
        {
            state.State.Exists = true;
            state.State.PasswordHash = account.PasswordHash;
            state.State.Roles = [.. account.Roles.Distinct()];
            state.State.CreatedAt = clock.UtcNow;
            state.State.ProfilePending = true;
            await SaveAsync();
        }

        // A retry of a creation whose profile write failed (the caller was told 503) finishes it: the profile with the name
        // it gives now; the password and roles stay those first stored.
        await GrainFactory.For<IUserGrain>(UserId).SetProfileAsync(new UserProfile(account.DisplayName.Trim(), null));
        state.State.ProfilePending = false;
        await SaveAsync();
        return AccessStatus.Ok;
    }

    public Task<AccountCredentials?> GetCredentialsAsync() =>
        Task.FromResult(state.State.Exists
            ? new AccountCredentials(state.State.PasswordHash, [.. state.State.Roles], state.State.Disabled)
            : null);

    public async Task<bool> SetPasswordAsync(string passwordHash, string? keepSessionId)
    {
        if (!state.State.Exists)
        {
            return false;
        }

        state.State.PasswordHash = passwordHash;
        if (keepSessionId is null)
        {
            await EndAllSessionsAsync();
        }
        else
        {
            await EndSessionsOutsideAsync(DeviceSessions(keepSessionId));
        }

        return true;
    }

    public async Task<AccessStatus> SetPasswordAsync(string passwordHash, string? keepSessionId, string checkedPasswordHash)
    {
        if (!state.State.Exists)
        {
            return AccessStatus.NotFound;
        }

        // Changed since the caller checked the old password (an admin reset, another change): that change stands.
        if (!string.Equals(checkedPasswordHash, state.State.PasswordHash, StringComparison.Ordinal))
        {
            return AccessStatus.Conflict;
        }

        await SetPasswordAsync(passwordHash, keepSessionId);
        return AccessStatus.Ok;
    }

    public async Task<bool> SetDisabledAsync(bool disabled)
    {
        if (!state.State.Exists)
        {
            return false;
        }

        state.State.Disabled = disabled;
        if (disabled)
        {
            await EndAllSessionsAsync();
        }
        else
        {
            await SaveAsync();
        }

        return true;
    }

    public Task<bool> StartSessionAsync(LoginSession session) => StartSessionAsync(session, checkedPasswordHash: null);

    public async Task<bool> StartSessionAsync(LoginSession session, string? checkedPasswordHash)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (!state.State.Exists || state.State.Disabled
            || (checkedPasswordHash is not null && !string.Equals(checkedPasswordHash, state.State.PasswordHash, StringComparison.Ordinal)))
        {
            return false;
        }

        var now = clock.UtcNow;
        // Expired logins are pruned here, and announced like any other end: a connection opened under one stays open
        // (connections are not re-checked for expiry), and once its id is gone from storage no later "sign out the
        // others" or password change could name it.
        var ended = new List<string>();
        foreach (var id in state.State.Sessions.Values.Where(s => s.ExpiresAt <= now).Select(s => s.SessionId).ToList())
        {
            ended.AddRange(RemoveWithConnections(id));
        }

        // A connection that logged in with a connection token issues its sessions under that token's login: every
        // connection session hangs from a login directly, so that ending the login ends them all (a chain c2 → c1 → L
        // left c2 alive when L ended, as only L's own children were removed).
        if (session.ParentSessionId is { } parent && state.State.Sessions.TryGetValue(parent, out var parentSession)
            && parentSession.ParentSessionId is { } root)
        {
            session = session with { ParentSessionId = root };
        }

        // A connection's session lives only as long as the login it was issued under: none for a login that has ended
        // (signed out, a password change) while the connection's kick was still on its way.
        if (session.ParentSessionId is { } login && !state.State.Sessions.ContainsKey(login))
        {
            if (ended.Count > 0)
            {
                var expired = Ended(ended);
                await SaveAsync(expired);
                await AnnounceAsync(expired);
            }

            return false;
        }

        // Beyond the cap sessions give way, revoked like a logout: connection sessions first (their devices keep their
        // logins), then the logins used least recently (signed in or last renewed) with their connections; never the login
        // the new session is issued under. Not the oldest: a phone signed in once renews for months, while each browser
        // tab closed without signing out leaves a login behind, and fifty of those pushed the phone out.
        var candidates = state.State.Sessions.Values
            .Where(s => s.SessionId != session.ParentSessionId)
            .OrderBy(s => s.ParentSessionId is null ? 1 : 0).ThenBy(s => s.RefreshedAt > s.CreatedAt ? s.RefreshedAt : s.CreatedAt)
            .Select(s => s.SessionId).ToList();
        foreach (var candidate in candidates)
        {
            if (state.State.Sessions.Count + 1 <= MaxSessions)
            {
                break;
            }

            ended.AddRange(RemoveWithConnections(candidate));
        }

        state.State.Sessions[session.SessionId] = session;
        var announcements = Ended(ended);
        await SaveAsync(announcements);
        await AnnounceAsync(announcements);
        return true;
    }

    public Task<LoginSession?> RefreshSessionAsync(string sessionId, string refreshTokenHash, string newRefreshTokenHash, DateTimeOffset newExpiresAt) =>
        RefreshSessionAsync(sessionId, refreshTokenHash, newRefreshTokenHash, newExpiresAt, reuseGrace: TimeSpan.Zero);

    public async Task<LoginSession?> RefreshSessionAsync(string sessionId, string refreshTokenHash, string newRefreshTokenHash, DateTimeOffset newExpiresAt, TimeSpan reuseGrace)
    {
        var now = clock.UtcNow;
        if (!state.State.Exists || state.State.Disabled
            || !state.State.Sessions.TryGetValue(sessionId, out var session)
            || session.ExpiresAt <= now)
        {
            return null;
        }

        if (string.Equals(session.RefreshTokenHash, refreshTokenHash, StringComparison.Ordinal))
        {
            var renewed = session with
            {
                RefreshTokenHash = newRefreshTokenHash,
                ExpiresAt = newExpiresAt,
                PreviousRefreshTokenHash = refreshTokenHash,
                SpentRefreshTokenHashes = session.PreviousRefreshTokenHash is { } before
                    ? [before, .. (session.SpentRefreshTokenHashes ?? []).Take(LoginSession.MaxSpentRefreshTokens - 1)]
                    : session.SpentRefreshTokenHashes,
                RefreshedAt = now,
            };
            state.State.Sessions[sessionId] = renewed;
            await SaveAsync();
            return renewed;
        }

        // The swap just made, asked again: nothing changes, and the caller's successor is the current token.
        var previous = string.Equals(session.PreviousRefreshTokenHash, refreshTokenHash, StringComparison.Ordinal);
        if (previous
            && string.Equals(session.RefreshTokenHash, newRefreshTokenHash, StringComparison.Ordinal)
            && reuseGrace > TimeSpan.Zero
            && now - session.RefreshedAt <= reuseGrace)
        {
            return session;
        }

        if (previous || session.SpentEarlier(refreshTokenHash))
        {
            // A token swapped out already (the one just swapped out, after the grace, or an earlier one: a thief who
            // refreshed twice leaves the victim holding one), spent again: two holders of one refresh token, one of them
            // a thief (who may be the one holding the current token). Neither is told apart, so the login ends for both,
            // as a logout: its tokens are refused everywhere and its connections closed. A token that is no token of
            // this session (made up, or older than those kept) ends nothing: knowing a session id must not be enough to
            // sign it out.
            var ended = Ended(RemoveWithConnections(sessionId));
            await SaveAsync(ended);
            await AnnounceAsync(ended);
        }

        return null;
    }

    public async Task EndSessionAsync(string sessionId)
    {
        var removed = RemoveWithConnections(sessionId);

        // Announced even when unknown here: the caller's token names it, and edges must refuse it.
        var ended = Ended(removed.Contains(sessionId) ? removed : [sessionId, .. removed]);
        if (removed.Count > 0)
        {
            await SaveAsync(ended);
        }

        await AnnounceAsync(ended);
    }

    public async Task<IReadOnlyList<string>> EndLoginAsync(string sessionId)
    {
        // A connection's session stands for its device's login: that login ends, with every connection of it.
        var login = state.State.Sessions.TryGetValue(sessionId, out var session) && session.ParentSessionId is { } parent
            ? parent
            : sessionId;
        var removed = RemoveWithConnections(login);
        if (login != sessionId && !removed.Contains(sessionId))
        {
            removed.Add(sessionId);
        }

        // Announced even when unknown here: the caller's token names it, and edges must refuse it.
        var ended = removed.Contains(sessionId) ? removed : [sessionId, .. removed];
        var announcements = Ended(ended);
        if (removed.Count > 0)
        {
            await SaveAsync(announcements);
        }

        await AnnounceAsync(announcements);
        return ended;
    }

    public async Task<bool> EndOwnSessionAsync(string sessionId)
    {
        if (!state.State.Sessions.ContainsKey(sessionId))
        {
            // Somebody else's session, or none: announcing it would let any user revoke any session id they learnt.
            return false;
        }

        await EndSessionAsync(sessionId);
        return true;
    }

    public async Task<int> EndOtherSessionsAsync(string keepSessionId) =>
        state.State.Exists ? await EndSessionsOutsideAsync(DeviceSessions(keepSessionId)) : 0;

    public Task<IReadOnlyList<LoginSession>> GetSessionsAsync()
    {
        var now = clock.UtcNow;
        return Task.FromResult<IReadOnlyList<LoginSession>>(
            [.. state.State.Sessions.Values.Where(s => s.ExpiresAt > now).OrderBy(s => s.CreatedAt)]);
    }

    /// <summary>
    /// The sessions of one device, from any of them: the session, the login it was issued under, and the connection
    /// sessions issued under that login. Ending a device's login but not its connection token (or the other way round)
    /// would leave it half signed in.
    /// </summary>
    private HashSet<string> DeviceSessions(string sessionId)
    {
        var device = new HashSet<string>(StringComparer.Ordinal) { sessionId };
        if (state.State.Sessions.TryGetValue(sessionId, out var session) && session.ParentSessionId is { } login)
        {
            device.Add(login);
        }

        foreach (var other in state.State.Sessions.Values)
        {
            if (other.ParentSessionId is { } parent && device.Contains(parent))
            {
                device.Add(other.SessionId);
            }
        }

        return device;
    }

    private async Task<int> EndSessionsOutsideAsync(HashSet<string> keep)
    {
        var ended = state.State.Sessions.Keys.Where(id => !keep.Contains(id)).ToList();
        foreach (var id in ended)
        {
            state.State.Sessions.Remove(id);
        }

        var announcements = Ended(ended);
        await SaveAsync(announcements);
        await AnnounceAsync(announcements);
        return ended.Count;
    }

    public Task<bool> IsSessionLiveAsync(string sessionId) =>
        Task.FromResult(state.State.Exists && !state.State.Disabled
            && state.State.Sessions.TryGetValue(sessionId, out var session) && session.ExpiresAt > clock.UtcNow);

    public async Task<bool> BlockAsync(string userId)
    {
        if (!GrainKeys.IsValidUserId(userId) || userId == UserId
            || (!state.State.Blocked.Contains(userId) && state.State.Blocked.Count >= MaxBlocked))
        {
            // A user listed already is blocked again whatever the count: the retry of a block that failed half-way.
            return false;
        }

        // The conversation first: it is what refuses the messages. Listed first, a block whose conversation write then
        // failed showed as made while the messages still came.
        await GrainFactory.For<IConversationGrain>(GrainKeys.P2P(UserId, userId)).SetBlockedAsync(UserId, true);
        if (state.State.Blocked.Add(userId))
        {
            await SaveAsync();
        }

        // A request either way between the two would otherwise wait to be accepted into a friendship.
        await GrainFactory.For<IContactsGrain>(UserId).EndRequestAsync(userId);
        // A status the blocked user's devices show must not stay frozen there: hidden, as when sharing is off (so the
        // block itself is not told).
        GrainFactory.For<IUserGrain>(userId).OnPresenceAsync(UserPresence.Hidden(UserId)).Ignore();
        return true;
    }

    public async Task UnblockAsync(string userId)
    {
        if (state.State.Blocked.Remove(userId))
        {
            await SaveAsync();
        }

        if (GrainKeys.IsValidUserId(userId) && userId != UserId)
        {
            await GrainFactory.For<IConversationGrain>(GrainKeys.P2P(UserId, userId)).SetBlockedAsync(UserId, false);
            // The block told them "hidden"; a friend (or a small group's member) sees the status again now, not at the
            // user's next change, which may be hours away for someone who stays online.
            GrainFactory.For<IUserGrain>(UserId).OnFriendshipChangedAsync(userId).Ignore();
        }
    }

    public async Task<AccessStatus> SetAgentsAsync(IReadOnlyList<string> agentIds)
    {
        ArgumentNullException.ThrowIfNull(agentIds);
        if (!state.State.Exists || !state.State.Roles.Contains(AccountRole.Shop))
        {
            return AccessStatus.NotFound;
        }

        var agents = agentIds.Distinct(StringComparer.Ordinal).ToList();
        foreach (var agentId in agents)
        {
            if (!GrainKeys.IsValidUserId(agentId)
                || await GrainFactory.For<IAccountGrain>(agentId).GetCredentialsAsync() is not { } agent
                || !agent.Roles.Contains(AccountRole.Agent))
            {
                return AccessStatus.Invalid;
            }
        }

        state.State.Agents = agents;
        await SaveAsync();
        // The shop's queue stops routing to agents who left (one-way: the queue asks this grain when it activates).
        GrainFactory.For<CustomerService.ICustomerServiceQueueGrain>(UserId).OnAgentsChangedAsync(agents.ToArray()).Ignore();
        return AccessStatus.Ok;
    }

    public Task<IReadOnlyList<string>> GetAgentsAsync() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Agents]);

    public Task<bool> IsBlockingAsync(string userId) => Task.FromResult(state.State.Blocked.Contains(userId));

    public async Task<GroupAddAnswer> GroupAddFromAsync(string actorId)
    {
        if (state.State.Blocked.Contains(actorId))
        {
            return GroupAddAnswer.Blocked;
        }

        return state.State.GroupAdds == GroupAddPolicy.Contacts
            && actorId != UserId
            && !await GrainFactory.For<IContactsGrain>(UserId).IsFriendAsync(actorId)
            ? GroupAddAnswer.ContactsOnly
            : GroupAddAnswer.Allowed;
    }

    public Task<GroupAddPolicy> GetGroupAddPolicyAsync() => Task.FromResult(state.State.GroupAdds);

    public async Task SetGroupAddPolicyAsync(GroupAddPolicy policy)
    {
        if (!Enum.IsDefined(policy))
        {
            throw new ArgumentOutOfRangeException(nameof(policy), policy, "not a group add policy");
        }

        if (state.State.GroupAdds != policy)
        {
            var stored = state.State.GroupAdds;
            state.State.GroupAdds = policy;
            try
            {
                await SaveAsync();
            }
            catch
            {
                // Groups ask it between this turn and the activation's end (GroupAddFrom interleaves): the policy in force
                // is the stored one, not the refused change.
                state.State.GroupAdds = stored;
                throw;
            }
        }
    }

    public Task<IReadOnlyList<string>> GetBlockedAsync() =>
        Task.FromResult<IReadOnlyList<string>>([.. state.State.Blocked.Order(StringComparer.Ordinal)]);

    async Task<bool> IAccountGrain.EndAllSessionsAsync()
    {
        if (!state.State.Exists)
        {
            return false;
        }

        await EndAllSessionsAsync();
        return true;
    }

    private async Task EndAllSessionsAsync()
    {
        // Each session by its id as well: "every session" applies to tokens issued before it by the silo's clock, and an
        // edge's clock may differ; an id is exact whatever the clocks say.
        var ended = Ended([null, .. state.State.Sessions.Keys]);
        state.State.Sessions.Clear();
        await SaveAsync(ended);
        await AnnounceAsync(ended);
    }

    /// <summary>Removes a session and the connection sessions issued under it; the ids removed.</summary>
    private List<string> RemoveWithConnections(string sessionId)
    {
        var removed = new List<string>();
        if (state.State.Sessions.Remove(sessionId))
        {
            removed.Add(sessionId);
        }

        foreach (var connection in state.State.Sessions.Values.Where(s => s.ParentSessionId == sessionId).Select(s => s.SessionId).ToList())
        {
            state.State.Sessions.Remove(connection);
            removed.Add(connection);
        }

        return removed;
    }

    /// <summary>
    /// Writes the state, with the announcements still waiting and those of the change being written (they go out after
    /// the write). If the write fails, this activation's sessions and password are no longer what storage holds (a
    /// refresh would answer from a token never stored, an ended session would look ended here only), so the activation
    /// is dropped and the next call reads storage again.
    /// </summary>
    private async Task SaveAsync(IReadOnlyList<SessionRevoked>? announcing = null)
    {
        state.State.Unannounced = Unannounced(announcing ?? []);
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

    /// <summary>The announcements the state keeps: those waiting and <paramref name="announcing"/>, within the window and the cap.</summary>
    private List<SessionRevoked> Unannounced(IReadOnlyList<SessionRevoked> announcing)
    {
        if (_unannounced.Count == 0 && announcing.Count == 0)
        {
            // Nearly every write (each login and refresh): nothing waits, and nothing is built for it.
            state.State.Unannounced.Clear();
            return state.State.Unannounced;
        }

        var horizon = clock.UtcNow - AnnounceRetryWindow;
        var kept = _unannounced.Concat(announcing).Where(r => r.At >= horizon).ToList();

        // "Every session" as of a later time covers every earlier one (edges apply it to what was issued before it).
        var lastAll = kept.FindLastIndex(r => r.SessionId is null);
        for (var i = lastAll - 1; i >= 0; i--)
        {
            if (kept[i].SessionId is null)
            {
                kept.RemoveAt(i);
            }
        }

        for (var i = 0; kept.Count > MaxUnannounced && i < kept.Count;)
        {
            if (kept[i].SessionId is null)
            {
                i++;
            }
            else
            {
                kept.RemoveAt(i);
            }
        }

        return kept;
    }

    /// <summary>The announcements that sessions ended now (null: every session of the user).</summary>
    private List<SessionRevoked> Ended(IReadOnlyCollection<string?> sessionIds)
    {
        var now = clock.UtcNow;
        return [.. sessionIds.Select(id => new SessionRevoked(UserId, id, now))];
    }

    /// <summary>
    /// Tells every edge that sessions ended, once that is stored: records the announcements for edges that start later
    /// (<see cref="IRevocationStore"/>), then broadcasts them to those running. The change is made by then, so a record
    /// or broadcast that fails does not fail the call: the announcements wait, written with the state, and are retried
    /// with backoff (the activation kept alive meanwhile, a new activation taking over from the state) for up to
    /// <see cref="AnnounceRetryWindow"/>. Until then an edge that missed one still takes the session's access token, at
    /// most for the token's life; its refresh is refused at once, the session being gone from storage.
    /// </summary>
    private Task AnnounceAsync(List<SessionRevoked> ended)
    {
        if (ended.Count == 0)
        {
            return Task.CompletedTask;
        }

        // The devices of those sessions are not told of messages any more while they are away (one-way).
        GrainFactory.For<IUserGrain>(UserId).OnSessionsEndedAsync(
            [.. ended.Select(r => r.SessionId).OfType<string>()], all: ended.Any(r => r.SessionId is null)).Ignore();
        _unannounced.AddRange(ended);
        if (_announceTimer is null)
        {
            return AnnouncePendingAsync(lastChance: false, CancellationToken.None);
        }

        // A retry is due already: it records and sends these behind the ones waiting, and this call is not held by a
        // broadcast that has just failed. When only the record failed, the edges running now still hear these at once
        // (the retry sends them once more, which edges take as once).
        return _onlyRecordFailed ? BroadcastNowAsync(ended) : Task.CompletedTask;
    }

    private IAsyncStream<SessionRevoked> RevocationStream() =>
        ServiceProvider.GetRequiredKeyedService<IStreamProvider>(StreamNames.Provider)
            .GetStream<SessionRevoked>(StreamId.Create(StreamNames.AuthNamespace, StreamNames.RevocationsKey));

    /// <summary>One announcement, waited for until <paramref name="deadline"/>; a send given up on is still observed.</summary>
    private static Task SendAsync(IAsyncStream<SessionRevoked> stream, SessionRevoked revoked, CancellationToken deadline)
    {
        var send = stream.OnNextAsync(revoked);
        send.Ignore();
        return send.WaitAsync(deadline);
    }

    /// <summary>Sends announcements to the edges running now, without recording them; a failure is left to the retry.</summary>
    private async Task BroadcastNowAsync(List<SessionRevoked> ended)
    {
        var stream = RevocationStream();
        using var deadline = new CancellationTokenSource(AnnounceTimeout);
        try
        {
            foreach (var revoked in ended)
            {
                await SendAsync(stream, revoked, deadline.Token);
            }
        }
        catch (Exception ex)
        {
            _onlyRecordFailed = false;
            LogAnnounceFailed(logger, ex, UserId, _unannounced.Count, _announceRetry);
        }
    }

    /// <summary>
    /// Records the waiting announcements and sends them in order; on a failure the rest wait for a retry (none at the last
    /// chance). Unrecorded ones are still sent, to the edges running now, and wait to be recorded (and sent once more).
    /// </summary>
    private async Task AnnouncePendingAsync(bool lastChance, CancellationToken cancellationToken)
    {
        var stream = RevocationStream();
        var horizon = clock.UtcNow - AnnounceRetryWindow;
        _unannounced.RemoveAll(r => r.At < horizon);
        Exception? failure = null;
        var recorded = true;
        try
        {
            // Recorded first: an edge that starts after the broadcast went out finds it in the record.
            using var recordDeadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            recordDeadline.CancelAfter(AnnounceTimeout);
            var record = revocations.RecordAsync([.. _unannounced]);
            record.Ignore(); // observed even if given up on below; a record that lands late is the same record
            await record.WaitAsync(recordDeadline.Token);
        }
        catch (Exception ex)
        {
            failure = ex;
            recorded = false;
        }

        // Recorded, an announcement is done once sent; unrecorded, it is sent and kept. A deadline of its own: a record
        // that took the whole of its own must not keep the edges running now from hearing.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(AnnounceTimeout);
        var sent = 0;
        while (sent < _unannounced.Count)
        {
            try
            {
                await SendAsync(stream, _unannounced[sent], deadline.Token);
            }
            catch (Exception ex)
            {
                failure = ex;
                break;
            }

            if (failure is null)
            {
                _unannounced.RemoveAt(0);
            }
            else
            {
                sent++;
            }
        }

        if (failure is not null && _unannounced.Count > 0)
        {
            // Every one sent (the loop ran to its end) and only the record missing.
            _onlyRecordFailed = !recorded && sent == _unannounced.Count;
            if (lastChance)
            {
                LogAnnounceLeft(logger, failure, UserId, _unannounced.Count);
                return;
            }

            LogAnnounceFailed(logger, failure, UserId, _unannounced.Count, _announceRetry);
            RetryAnnouncingIn(_announceRetry);
            _announceRetry = TimeSpan.FromTicks(Math.Min(_announceRetry.Ticks * 2, LastAnnounceRetry.Ticks));
            return;
        }

        _announceRetry = FirstAnnounceRetry;
        _onlyRecordFailed = false;
        _announceTimer?.Dispose();
        _announceTimer = null;
    }

    private void RetryAnnouncingIn(TimeSpan due)
    {
        _announceTimer ??= this.RegisterGrainTimer(
            cancellationToken => AnnouncePendingAsync(lastChance: false, cancellationToken),
            new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan)
            {
                Interleave = false,
                KeepAlive = true,
            });
        _announceTimer.Change(due, Timeout.InfiniteTimeSpan);
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // Kept alive while announcements wait, so this is a silo shutting down or a failed write: one more try, and what
        // is left the next activation announces from the state.
        if (_unannounced.Count > 0)
        {
            await AnnouncePendingAsync(lastChance: true, cancellationToken);
        }

        _announceTimer?.Dispose();
    }
}
