using Orleans.Im.Conversations;
using Orleans.Im.CustomerService;
using Orleans.Im.EdgeHost.Rooms;
using Orleans.Im.Messages;
using Orleans.Im.Rooms;
using Orleans.Im.Users;

namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>
/// A signed-in device, transport-neutral: TCP and SignalR both call these, so the rules live in one place (and in the
/// grains). The user id comes from the token, never from the client.
/// </summary>
public sealed class ClientSession(IClusterClient client, UserSendRateLimiter rateLimiter, ConversationSendCoalescer sends, ConversationReferences conversations,
    RoomFanout rooms, string userId, string sessionId, string deviceId, string platform, string connectionId)
{
    private IUserGrain? _user;

    public string UserId { get; } = userId;

    /// <summary>The login session the token names.</summary>
    public string SessionId { get; } = sessionId;

    public string DeviceId { get; } = deviceId;

    public string Platform { get; } = platform;

    public Task<SendResult> SendAsync(string conversationId, string clientMsgId, MessageContent? content, MessageClass messageClass, string? collapseKey, IReadOnlyList<string>? mentions = null)
    {
        if (!GrainKeys.TryParseConversation(conversationId, out var address))
        {
            return Task.FromResult(SendResult.Refused(SendStatus.NoAccess, "no such conversation"));
        }

        if (content is null)
        {
            return Task.FromResult(SendResult.Refused(SendStatus.Invalid, "content is required"));
        }

        if (address.Kind == ConversationKind.CustomerService && address.First == UserId)
        {
            // The shop's own notices come from its queue; its agents answer as the shop. A shop account signed in would
            // write into any user's conversation with it, unasked and past their blocks.
            return Task.FromResult(SendResult.Refused(SendStatus.NoAccess, "a shop writes to its customers through its agents"));
        }

        if (messageClass != MessageClass.Instant && !rateLimiter.TryAcquire(UserId))
        {
            return Task.FromResult(SendResult.Refused(SendStatus.RateLimited, "sending too fast; slow down"));
        }

        var request = new SendRequest(UserId, DeviceId, clientMsgId, content, messageClass, string.IsNullOrEmpty(collapseKey) ? null : collapseKey,
            mentions is { Count: > 0 } ? [.. mentions] : null);
        // Rooms have their own grain: nothing logged, fan-out per edge host.
        return address.Kind == ConversationKind.Room
            ? SendToRoomAsync(conversationId, request)
            : sends.SendAsync(conversationId, request);
    }

    /// <summary>
    /// A room that came back on another silo knows its members only once their edges told it again: a member's send
    /// meanwhile is refused as from a stranger, for good (not retryable). Told at once from here, the send goes through.
    /// </summary>
    private async Task<SendResult> SendToRoomAsync(string roomId, SendRequest request)
    {
        var room = client.For<IRoomGrain>(roomId);
        var result = await room.SendAsync(request);
        return result.Status == SendStatus.NoAccess && await rooms.ReattachForSendAsync(roomId, UserId)
            ? await room.SendAsync(request)
            : result;
    }

    public Task<PullResult> PullAsync(string conversationId, PullRequest request) =>
        GrainKeys.TryParseConversation(conversationId, out _)
            ? Conversation(conversationId).PullAsync(UserId, request)
            : Task.FromResult(new PullResult(AccessStatus.NoAccess, [], 0));

    public Task<ChangesResult> PullChangesAsync(string conversationId, DateTimeOffset after, int limit) =>
        GrainKeys.TryParseConversation(conversationId, out _)
            ? Conversation(conversationId).PullChangesAsync(UserId, after, limit)
            : Task.FromResult(new ChangesResult(AccessStatus.NoAccess, [], false));

    public Task<SyncResult> SyncAsync(long sinceVersion) => User.SyncAsync(sinceVersion);

    public async Task<(AccessStatus Status, ConversationEntry? Entry)> MarkReadAsync(string conversationId, long seq)
    {
        if (!GrainKeys.TryParseConversation(conversationId, out _))
        {
            return (AccessStatus.NoAccess, null);
        }

        var result = await User.MarkReadAsync(conversationId, seq);
        // Not in the conversation answers as a conversation the user may not see does; unavailable stays retryable.
        return result.Status == AccessStatus.NotFound ? (AccessStatus.NoAccess, null) : (result.Status, result.Entry);
    }

    public Task<AccessStatus> RecallAsync(string conversationId, long seq) =>
        GrainKeys.TryParseConversation(conversationId, out _)
            ? Conversation(conversationId).RecallAsync(UserId, seq)
            : Task.FromResult(AccessStatus.NoAccess);

    public Task<AccessStatus> EditAsync(string conversationId, long seq, MessageContent? content) =>
        !GrainKeys.TryParseConversation(conversationId, out _) ? Task.FromResult(AccessStatus.NoAccess)
        : content is null ? Task.FromResult(AccessStatus.Invalid)
        : Conversation(conversationId).EditAsync(UserId, seq, content);

    public Task<AccessStatus> DeleteForSelfAsync(string conversationId, long seq) =>
        GrainKeys.TryParseConversation(conversationId, out _)
            ? Conversation(conversationId).DeleteForSelfAsync(UserId, seq)
            : Task.FromResult(AccessStatus.NoAccess);

    /// <summary>Typing: an instant message, pushed to the other members' online devices and never stored.</summary>
    public Task<SendResult> TypingAsync(string conversationId) =>
        SendAsync(conversationId, Guid.NewGuid().ToString("N"), TypingIndicator.Content, MessageClass.Instant, null);

    /// <summary>Subscribes this user to an official account.</summary>
    public Task<AccessStatus> SubscribeAsync(string accountId) =>
        GrainKeys.IsValidId(accountId) ? Conversation(GrainKeys.PublicAccount(accountId)).SubscribeAsync(UserId) : Task.FromResult(AccessStatus.NoAccess);

    /// <summary>Unsubscribes this user from an official account.</summary>
    public Task<AccessStatus> UnsubscribeAsync(string accountId) =>
        GrainKeys.IsValidId(accountId) ? Conversation(GrainKeys.PublicAccount(accountId)).UnsubscribeAsync(UserId) : Task.FromResult(AccessStatus.NoAccess);

    /// <summary>
    /// The device's user is away or back, or its network changed (empty: unchanged). Transports call
    /// <see cref="SessionHub.OpenSession.SetPresenceAsync"/>, which also keeps it for the device's renewals.
    /// </summary>
    public Task SetPresenceAsync(bool away, string? networkType) =>
        User.SetDeviceStatusAsync(DeviceId, connectionId, away, SessionHub.Clip(networkType, SessionHub.MaxNetworkTypeLength));

    /// <summary>
    /// Where this device is reached while it is not connected (offline push), bound to this login; an empty token
    /// forgets it. Invalid when the provider or token is not one a gateway could use; NotAllowed when the login has ended;
    /// Conflict when the user has the most devices with tokens already; Unavailable when storage did not commit.
    /// </summary>
    public async Task<AccessStatus> SetPushTokenAsync(string? provider, string? token, DateTimeOffset now, bool hidePreviews = false)
    {
        if (string.IsNullOrEmpty(token))
        {
            return await User.SetPushTokenAsync(DeviceId, null);
        }

        if (!PushTokenRegistration.IsValid(provider, token))
        {
            return AccessStatus.Invalid;
        }

        // Bound to the device's login, not to a connection's own session (which ends with the connection).
        return await Auth.DeviceLogins.LoginOfAsync(client, UserId, SessionId) is { } login
            ? await User.SetPushTokenAsync(DeviceId, new PushTokenRegistration(provider!, token, login.SessionId, now, hidePreviews))
            : AccessStatus.NotAllowed;
    }

    /// <summary>Customer service: this agent takes sessions of the shop (while connected), or stops.</summary>
    public Task<AccessStatus> SetAgentAvailableAsync(string shopId, bool available) =>
        GrainKeys.IsValidId(shopId) ? Queue(shopId).SetAgentAvailableAsync(UserId, available) : Task.FromResult(AccessStatus.NoAccess);

    /// <summary>Customer service: this agent's console view of the shop; null when not an agent of it.</summary>
    public Task<AgentView?> GetAgentViewAsync(string shopId) =>
        GrainKeys.IsValidId(shopId) ? Queue(shopId).GetAgentViewAsync(UserId) : Task.FromResult<AgentView?>(null);

    /// <summary>
    /// Customer service: hands a session to another agent, or back to the queue when <paramref name="toAgentId"/> is
    /// empty; only session <paramref name="sessionId"/> of the user when it is not empty.
    /// </summary>
    public Task<AccessStatus> TransferAsync(string shopId, string userId, string? toAgentId, string? sessionId) =>
        GrainKeys.IsValidId(shopId)
            ? Queue(shopId).TransferAsync(UserId, userId, string.IsNullOrEmpty(toAgentId) ? null : toAgentId, sessionId)
            : Task.FromResult(AccessStatus.NoAccess);

    /// <summary>Customer service: the agent closes a session; only session <paramref name="sessionId"/> of the user when it is not empty.</summary>
    public Task<AccessStatus> CloseSessionAsync(string shopId, string userId, string? sessionId) =>
        GrainKeys.IsValidId(shopId)
            ? Queue(shopId).CloseAsync(UserId, userId, sessionId)
            : Task.FromResult(AccessStatus.NoAccess);

    /// <summary>Customer service: this user rates their last closed session with the shop.</summary>
    public Task<AccessStatus> RateAsync(string shopId, int score) =>
        GrainKeys.IsValidId(shopId) ? Queue(shopId).RateAsync(UserId, score) : Task.FromResult(AccessStatus.NoAccess);

    private ICustomerServiceQueueGrain Queue(string shopId) => client.For<ICustomerServiceQueueGrain>(shopId);

    /// <summary>
    /// The user's grain, kept once made from the cluster's types: most of a session's requests go to it (sync, mark read,
    /// presence), and Orleans builds a new proxy for every reference it hands out.
    /// </summary>
    private IUserGrain User
    {
        get
        {
            if (_user is { } kept)
            {
                return kept;
            }

            var user = client.For<IUserGrain>(UserId, out var keepable);
            if (keepable)
            {
                _user = user;
            }

            return user;
        }
    }

    private IConversationGrain Conversation(string conversationId) => conversations.For(conversationId);
}
