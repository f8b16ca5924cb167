using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Api;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Im.EdgeHost.Drain;
using Orleans.Im.EdgeHost.Metrics;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.Messages;

namespace Orleans.Im.EdgeHost.Hubs;

/// <summary>
/// The web chat hub at <c>/hubs/chat</c> (JSON and MessagePack): the TCP protocol's operations over SignalR, through the
/// same session layer, so the rules are the same. The access token comes as <c>access_token</c> (WebSockets) or in the
/// Authorization header; the device id as <c>deviceId</c> in the query.
/// </summary>
[Authorize(Policy = ApiPolicies.User)]
public sealed partial class ChatHub(SessionHub sessions, EdgeDrain drain, IHubContext<ChatHub, IChatClient> hubContext, IOptions<EdgeOptions> options, TimeProvider time, EdgeMetrics metrics, HubConnectionOwners owners, ILogger<ChatHub> logger)
    : Hub<IChatClient>
{
    public const string Path = "/hubs/chat";
    /// <summary>The connection's <see cref="SessionHub.OpenSession"/>, in <see cref="HubCallerContext.Items"/>.</summary>
    internal const string SessionKey = "im.session";
    private const string TargetKey = "im.target";
    private const string CountedKey = "im.counted";
    private const string OwnedTokenKey = "im.owned-token";

    public override async Task OnConnectedAsync()
    {
        if (drain.IsDraining)
        {
            // Not taking connections: say where to go instead, and close.
            await Clients.Caller.Events(new[] { SignalRPushTarget.ToHubEvent(await drain.NextRedirectAsync()) }); // an array, for MessagePack
            Context.Abort();
            return;
        }

        var user = Context.User!;
        var claims = new AccessTokenClaims(user.UserId(), user.SessionId(), DateTimeOffset.MaxValue, user.TokenIssuedAt());
        var transport = HubTransport.Of(Context);
        if (transport != EdgeMetrics.WebSockets
            && Context.GetHttpContext()?.Request.Query[HubConnectionOwners.ConnectionTokenParameter].ToString() is { Length: > 0 } token)
        {
            // Before the session opens: from here on, a request carrying this connection's token under another sign-in is
            // refused (UseHubConnectionOwnerCheck).
            owners.Add(token, claims.UserId, claims.SessionId);
            Context.Items[OwnedTokenKey] = token;
        }

        var deviceId = Context.GetHttpContext()?.Request.Query["deviceId"].ToString() is { Length: > 0 } given && GrainKeys.IsValidId(given)
            ? given
            : "web-" + Context.ConnectionId[..Math.Min(12, Context.ConnectionId.Length)].Replace('+', '-').Replace('/', '_');
        metrics.ConnectionOpened(transport);
        Context.Items[CountedKey] = transport;
        var target = new SignalRPushTarget(hubContext, Context, deviceId, options.Value, time, metrics, transport);
        Context.Items[TargetKey] = target;
        SessionHub.OpenSession? open;
        try
        {
            open = await sessions.OpenAsync(claims, deviceId, "web", target);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Any failure, a cancellation from the cluster client too (nothing here is cancelled by the connection).
            // The cluster could not register the device (a silo failing over): retryable, as TCP's UNAVAILABLE. Thrown out
            // of here, SignalR would close the connection telling the client not to reconnect (the page would stay offline
            // for good) and would never call OnDisconnectedAsync (the target's writer and the gauge would leak). Aborted,
            // the connection ends through OnDisconnectedAsync, which lets the target and the gauge go, and the client
            // connects again (SignalR's clients do not reconnect by themselves after a close the server makes: the web
            // page does it on its own, backing off).
            Log.OpenFailed(logger, Context.ConnectionId, ex.Message);
            open = null;
        }

        if (open is null)
        {
            // A login storm, or the cluster failing over: the client connects again later (the page backs off).
            Context.Abort();
            return;
        }

        Context.Items[SessionKey] = open;
        await base.OnConnectedAsync();
    }

    /// <summary>
    /// How much longer than the client timeout a page lost its network before SignalR ends its connection, at most as
    /// reckoned: the timeout is checked on a heartbeat (every second), late on a loaded host. SignalR does not say when
    /// the page was last heard from, and reckoning only the timeout left out what was pushed just after the page's last
    /// frame. Reckoning more costs nothing: only what is still unread is notified.
    /// </summary>
    private static readonly TimeSpan LostPageDetectionLag = TimeSpan.FromSeconds(5);

    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        if (Context.Items.TryGetValue(OwnedTokenKey, out var owned) && owned is string token)
        {
            owners.Remove(token);
        }

        if (Context.Items.TryGetValue(CountedKey, out var counted) && counted is string transport)
        {
            metrics.ConnectionClosed(transport);
        }

        var push = Context.Items.TryGetValue(TargetKey, out var target) ? target as SignalRPushTarget : null;
        if (Context.Items.TryGetValue(SessionKey, out var open) && open is SessionHub.OpenSession session)
        {
            if (exception is OperationCanceledException && push is not { ClosedByServer: true })
            {
                // Lost, not closed: SignalR's client timeout, a browser silent for that long (its network gone). The device
                // is then notified (if it registered a web push subscription) of what was pushed meanwhile, as a phone is.
                // The only loss SignalR tells apart: a WebSocket reset ends the connection as a close does.
                session.Lost(options.Value.WebClientTimeout + LostPageDetectionLag);
            }

            await session.DisposeAsync();
        }

        if (push is not null)
        {
            await push.DisposeAsync();
        }

        await base.OnDisconnectedAsync(exception);
    }

    /// <summary>The user is away (the page is hidden) or back.</summary>
    public Task SetPresence(bool away) => Open.SetPresenceAsync(away, null);

    /// <summary>Sends a message; idempotent by <c>clientMsgId</c>.</summary>
    public async Task<HubSendResult> Send(string conversationId, SendBody message)
    {
        if (message is null)
        {
            // A client's mistake, not the cluster's: answered as such, not as "unavailable", which a client retries.
            return new HubSendResult("", 0, null, false, ErrorCode(SendStatus.Invalid));
        }

        var started = time.GetTimestamp();
        var result = await Session.SendAsync(conversationId, message.ClientMsgId ?? "", ApiMapper.ToDomain(message.Content),
            message.Class ?? MessageClass.Persistent, message.CollapseKey, message.Mentions);
        metrics.MessageSent(HubTransport.Of(Context), result.Status, time.GetElapsedTime(started));
        return result.IsAccepted
            ? new HubSendResult(message.ClientMsgId ?? "", result.Seq, result.ServerTime, result.Status == SendStatus.Duplicate, null)
            : new HubSendResult(message.ClientMsgId ?? "", 0, null, false, ErrorCode(result.Status));
    }

    /// <summary>History: the oldest <paramref name="limit"/> after <paramref name="afterSeq"/>, or the newest before <paramref name="beforeSeq"/>.</summary>
    public async Task<HubResult> Pull(string conversationId, long afterSeq, long? beforeSeq, int limit)
    {
        var result = await Session.PullAsync(conversationId, new PullRequest(afterSeq, beforeSeq, limit <= 0 ? 50 : Math.Min(limit, MessageLimits.MaxPullLimit)));
        return result.Status == AccessStatus.Ok
            ? new HubResult(null, History: ApiMapper.ToView(result))
            : new HubResult(ErrorCode(result.Status));
    }

    /// <summary>
    /// Messages revised (edited, recalled) after <paramref name="after"/> (null: all): what a page that was away missed of
    /// changes to messages it shows, when a conversation's <c>changedAt</c> is later than the last change it saw.
    /// </summary>
    public async Task<HubResult> PullChanges(string conversationId, DateTimeOffset? after, int limit)
    {
        var result = await Session.PullChangesAsync(conversationId, after ?? DateTimeOffset.UnixEpoch, limit <= 0 ? 50 : Math.Min(limit, MessageLimits.MaxPullLimit));
        return result.Status == AccessStatus.Ok
            ? new HubResult(null, Changes: ApiMapper.ToView(result))
            : new HubResult(ErrorCode(result.Status));
    }

    /// <summary>Exactly the conversation entries changed since <paramref name="sinceVersion"/>.</summary>
    public async Task<SyncResponse> Sync(long sinceVersion)
    {
        var result = await Session.SyncAsync(sinceVersion);
        return new SyncResponse(result.Version, result.Changed.Select(ApiMapper.ToView).ToList());
    }

    public async Task<HubResult> MarkRead(string conversationId, long seq)
    {
        var (status, entry) = await Session.MarkReadAsync(conversationId, seq);
        return new HubResult(status == AccessStatus.Ok ? null : ErrorCode(status), entry is null ? null : ApiMapper.ToView(entry));
    }

    public async Task<HubResult> Recall(string conversationId, long seq) =>
        Result(await Session.RecallAsync(conversationId, seq));

    public async Task<HubResult> Edit(string conversationId, long seq, ContentBody content) =>
        Result(await Session.EditAsync(conversationId, seq, ApiMapper.ToDomain(content)));

    public async Task<HubResult> Delete(string conversationId, long seq) =>
        Result(await Session.DeleteForSelfAsync(conversationId, seq));

    /// <summary>Where this browser is reached while the page is closed (a web push subscription, say); empty: forget it.</summary>
    public async Task<HubResult> SetPushToken(string? provider, string? token) =>
        Result(await Session.SetPushTokenAsync(provider, token, time.GetUtcNow()));

    /// <summary>
    /// As <see cref="SetPushToken"/>, and whether this browser's notifications leave out what messages say (the page's
    /// "show previews" is off). A method of its own: hub methods take every argument, so adding one to
    /// <see cref="SetPushToken"/> would break the pages that call it with two.
    /// </summary>
    public async Task<HubResult> SetPushTokenWithPrivacy(string? provider, string? token, bool hidePreviews) =>
        Result(await Session.SetPushTokenAsync(provider, token, time.GetUtcNow(), hidePreviews));

    /// <summary>Tells the other members' online devices this user is typing; never stored.</summary>
    public async Task<HubResult> Typing(string conversationId)
    {
        var result = await Session.TypingAsync(conversationId);
        return new HubResult(result.IsAccepted ? null : ErrorCode(result.Status));
    }

    /// <summary>
    /// Joins a chat room (<c>room:{id}</c>): answers the member count, the last messages (as history) and the membership
    /// (a <c>conversation</c> event for the room, removed, with a version at least this, says the user left).
    /// </summary>
    public Task<HubResult> JoinRoom(string roomId) => JoinRoomAsync(roomId, rejoining: 0);

    /// <summary>
    /// Joins a chat room again after a reconnect, as the membership this tab held: refused (<c>NOT_FOUND</c>) when the
    /// user left that membership since, from another device while this one was away; otherwise as <see cref="JoinRoom"/>.
    /// </summary>
    public Task<HubResult> RejoinRoom(string roomId, long membership) =>
        membership > 0 ? JoinRoomAsync(roomId, membership) : Task.FromResult(Result(AccessStatus.Invalid));

    private async Task<HubResult> JoinRoomAsync(string roomId, long rejoining)
    {
        var result = await sessions.JoinRoomAsync(Open, roomId, rejoining);
        return result.Status != AccessStatus.Ok
            ? Result(result.Status)
            : new HubResult(null, History: new HistoryResponse(result.Recent.Select(ApiMapper.ToView).ToArray(), result.Recent.LastOrDefault()?.Seq ?? 0),
                MemberCount: result.MemberCount, Membership: result.Membership);
    }

    /// <summary>The user leaves a chat room, with all their devices.</summary>
    public async Task<HubResult> LeaveRoom(string roomId) => Result(await sessions.LeaveRoomAsync(Open, roomId));

    private SessionHub.OpenSession Open =>
        Context.Items.TryGetValue(SessionKey, out var open) && open is SessionHub.OpenSession session
            ? session
            : throw new HubException("no session");

    /// <summary>Subscribes to an official account (its conversation is <c>pub:{accountId}</c>).</summary>
    public async Task<HubResult> Subscribe(string accountId) => Result(await Session.SubscribeAsync(accountId));

    /// <summary>Unsubscribes from an official account.</summary>
    public async Task<HubResult> Unsubscribe(string accountId) => Result(await Session.UnsubscribeAsync(accountId));

    private ClientSession Session =>
        Context.Items.TryGetValue(SessionKey, out var open) && open is SessionHub.OpenSession session
            ? session.Session
            : throw new HubException("no session");

    private static HubResult Result(AccessStatus status) => new(status == AccessStatus.Ok ? null : ErrorCode(status));

    // The same stable codes as the HTTP API's problem details.
    private static string ErrorCode(SendStatus status) => status switch
    {
        SendStatus.NoAccess => "not_found",
        SendStatus.Blocked => "blocked",
        SendStatus.TooLarge => "too_large",
        SendStatus.RateLimited => ChatHubFilter.RateLimited,
        SendStatus.Unavailable => "unavailable",
        SendStatus.Offline => "offline",
        _ => "invalid_request",
    };

    private static string ErrorCode(AccessStatus status) => status switch
    {
        AccessStatus.NoAccess or AccessStatus.NotFound => "not_found",
        AccessStatus.NotAllowed => "not_allowed",
        AccessStatus.Conflict => "conflict",
        AccessStatus.Unavailable => "unavailable",
        _ => "invalid_request",
    };
}
