using Microsoft.Extensions.DependencyInjection;
using Orleans.Im.Conversations;
using Orleans.Im.Messages;
using Orleans.Im.Streams;
using Orleans.Im.Users;
using Orleans.Streams;

namespace Orleans.Im.Accounts;

/// <inheritdoc cref="IAccountGrain"/>
public sealed class AccountGrain(
    [PersistentState("account", StorageNames.Grains)] IPersistentState<AccountState> state,
    ImClock clock) : Grain, IAccountGrain
{
    /// <summary>Sessions kept per account; the oldest are dropped (and revoked) beyond it.</summary>
    public const int MaxSessions = 50;

    /// <summary>Users one account may block.</summary>
    public const int MaxBlocked = 5000;

    private string UserId => this.GetPrimaryKeyString();

    public async Task<AccessStatus> CreateAsync(NewAccount account)
    {
        ArgumentNullException.ThrowIfNull(account);
        if (state.State.Exists)
        {
            return AccessStatus.Conflict;
        }

        if (!GrainKeys.IsValidUserId(UserId) || account.Roles.Count == 0
            || string.IsNullOrWhiteSpace(account.DisplayName) || account.DisplayName.Length > UserProfile.MaxDisplayNameLength)
        {
            return AccessStatus.Invalid;
        }

        state.State.Exists = true;
        state.State.PasswordHash = account.PasswordHash;
        state.State.Roles = [.. account.Roles.Distinct()];
        state.State.CreatedAt = clock.UtcNow;
        await state.WriteStateAsync();
        await GrainFactory.For<IUserGrain>(UserId).SetProfileAsync(new UserProfile(account.DisplayName.Trim(), null));
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
            await state.WriteStateAsync();
        }

        return true;
    }

    public async Task<bool> StartSessionAsync(LoginSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        if (!state.State.Exists || state.State.Disabled)
        {
            return false;
        }

        var now = clock.UtcNow;
        var ended = state.State.Sessions.Values.Where(s => s.ExpiresAt <= now).Select(s => s.SessionId).ToList();
        foreach (var id in ended)
        {
            state.State.Sessions.Remove(id);
        }

        // Beyond the cap the oldest logins give way, and are revoked like a logout.
        var evicted = state.State.Sessions.Values.OrderBy(s => s.CreatedAt).Take(Math.Max(0, state.State.Sessions.Count + 1 - MaxSessions)).ToList();
        foreach (var old in evicted)
        {
            state.State.Sessions.Remove(old.SessionId);
        }

        state.State.Sessions[session.SessionId] = session;
        await state.WriteStateAsync();
        foreach (var old in evicted)
        {
            await PublishRevokedAsync(old.SessionId);
        }

        return true;
    }

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
                RefreshedAt = now,
            };
            state.State.Sessions[sessionId] = renewed;
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                // Not stored: the caller's retry must swap the same token again, not take the repeat path below and get a
                // successor that storage never heard of (and that a reactivated grain would refuse).
                state.State.Sessions[sessionId] = session;
                throw;
            }

            return renewed;
        }

        // The swap just made, asked again: nothing changes, and the caller's successor is the current token. Later than
        // the grace, or a token older than that, is refused: a replay of an old refresh token is what theft looks like.
        var repeated = string.Equals(session.PreviousRefreshTokenHash, refreshTokenHash, StringComparison.Ordinal)
            && string.Equals(session.RefreshTokenHash, newRefreshTokenHash, StringComparison.Ordinal)
            && reuseGrace > TimeSpan.Zero
            && now - session.RefreshedAt <= reuseGrace;
        return repeated ? session : null;
    }

    public async Task<bool> EndSessionAsync(string sessionId)
    {
        var ended = state.State.Sessions.Remove(sessionId);
        if (ended)
        {
            await state.WriteStateAsync();
        }

        // Announced even when unknown here: the caller's token names it, and edges must refuse it.
        await PublishRevokedAsync(sessionId);
        return ended;
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

        await state.WriteStateAsync();
        foreach (var id in ended)
        {
            await PublishRevokedAsync(id);
        }

        return ended.Count;
    }

    public Task<bool> IsSessionLiveAsync(string sessionId) =>
        Task.FromResult(state.State.Exists && !state.State.Disabled
            && state.State.Sessions.TryGetValue(sessionId, out var session) && session.ExpiresAt > clock.UtcNow);

    public async Task<bool> BlockAsync(string userId)
    {
        if (!GrainKeys.IsValidUserId(userId) || userId == UserId || state.State.Blocked.Count >= MaxBlocked)
        {
            return false;
        }

        if (state.State.Blocked.Add(userId))
        {
            await state.WriteStateAsync();
        }

        await GrainFactory.For<IConversationGrain>(GrainKeys.P2P(UserId, userId)).SetBlockedAsync(UserId, true);
        return true;
    }

    public async Task UnblockAsync(string userId)
    {
        if (state.State.Blocked.Remove(userId))
        {
            await state.WriteStateAsync();
        }

        if (GrainKeys.IsValidUserId(userId) && userId != UserId)
        {
            await GrainFactory.For<IConversationGrain>(GrainKeys.P2P(UserId, userId)).SetBlockedAsync(UserId, false);
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
        await state.WriteStateAsync();
        // The shop's queue stops routing to agents who left (one-way: the queue asks this grain when it activates).
        GrainFactory.For<CustomerService.ICustomerServiceQueueGrain>(UserId).OnAgentsChangedAsync(agents.ToArray()).Ignore();
        return AccessStatus.Ok;
    }

    public Task<IReadOnlyList<string>> GetAgentsAsync() => Task.FromResult<IReadOnlyList<string>>([.. state.State.Agents]);

    public Task<bool> IsBlockingAsync(string userId) => Task.FromResult(state.State.Blocked.Contains(userId));

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
        state.State.Sessions.Clear();
        await state.WriteStateAsync();
        await PublishRevokedAsync(null);
    }

    private Task PublishRevokedAsync(string? sessionId) =>
        ServiceProvider.GetRequiredKeyedService<IStreamProvider>(StreamNames.Provider)
            .GetStream<SessionRevoked>(StreamId.Create(StreamNames.AuthNamespace, StreamNames.RevocationsKey))
            .OnNextAsync(new SessionRevoked(UserId, sessionId, clock.UtcNow));
}
