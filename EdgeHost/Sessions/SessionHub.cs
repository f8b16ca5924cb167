using System.Collections.Concurrent;
using System.Security.Cryptography;
using Orleans.Im.Accounts;
using Microsoft.Extensions.Options;
using Orleans.Im.Conversations;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Im.EdgeHost.Rooms;
using Orleans.Im.Messages;
using Orleans.Im.Rooms;
using Orleans.Im.Users;

namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>
/// Opens and closes device sessions for every transport: checks the token, registers the device with its user grain
/// (which then knows this edge holds it) and routes the user's pushes to it.
/// </summary>
public sealed partial class SessionHub(
    IClusterClient client,
    AccessTokens tokens,
    RevokedSessions revoked,
    UserPushRoutes subscriptions,
    RoomFanout rooms,
    UserSendRateLimiter rateLimiter,
    ConversationSendCoalescer sends,
    ConversationReferences conversations,
    IOptions<EdgeOptions> options,
    IOptions<AuthOptions> authOptions,
    TimeProvider time,
    ILogger<SessionHub> logger) : IDisposable
{
    /// <summary>The longest client version kept (longer ones are cut).</summary>
    public const int MaxClientVersionLength = 32;

    /// <summary>The longest network type kept (longer ones are cut).</summary>
    public const int MaxNetworkTypeLength = 16;

    /// <summary>
    /// Connection tokens one connection keeps valid at once: asking for another ends the oldest one's session. A client
    /// asks again when its token nears the end of its lifetime, so the older ones are dead or about to be; without a
    /// bound, a long-lived connection would keep every session it was ever issued (and end them all at its close).
    /// </summary>
    public const int MaxBoundSessions = 4;

    /// <summary>How often a closed session's disconnect is said again after a renewal registered it anew, and the pause between.</summary>
    private const int RepeatDisconnectAttempts = 3;

    private static readonly TimeSpan RepeatDisconnectPause = TimeSpan.FromSeconds(1);

    // The open sessions here, by user: the only table of them. Every edge hears every session ended anywhere in the
    // cluster (one for each closed connection that took a connection token): looking up the user's few is what keeps
    // that from being a scan of every connection here, per announcement, in a reconnect storm. One table rather than a
    // second one of every connection: at 19,000 connections each entry's bytes count (docs/BENCHMARKS.md).
    private readonly Dictionary<string, OpenSession[]> _byUser = new(StringComparer.Ordinal);
    private readonly Lock _byUserLock = new();
    private readonly SpentRequestBudgets _spentBudgets = new();
    private int _openCount;
    private readonly SemaphoreSlim _logins = new(Math.Max(1, options.Value.MaxConcurrentLogins));
    private int _loginsWaiting;
    private long _sessionsOpened;

    /// <summary>Logins registering with the cluster now (at most <see cref="EdgeOptions.MaxConcurrentLogins"/>).</summary>
    public int LoginsInFlight => Math.Max(1, options.Value.MaxConcurrentLogins) - _logins.CurrentCount;

    /// <summary>Logins waiting for a place among <see cref="LoginsInFlight"/>: above zero, a login storm.</summary>
    public int LoginsWaiting => Volatile.Read(ref _loginsWaiting);

    /// <summary>Sessions opened on this edge host since it started (logins that succeeded, every transport).</summary>
    public long SessionsOpened => Interlocked.Read(ref _sessionsOpened);

    /// <summary>Sessions open on this edge host.</summary>
    public int OpenSessions => Volatile.Read(ref _openCount);

    /// <summary>The connected devices now (a snapshot), e.g. to redirect them all while draining.</summary>
    public IReadOnlyList<IPushTarget> Targets() => Array.ConvertAll(AllOpen(), open => open.Target);

    /// <summary>
    /// Pushes and replies waiting in all outbound queues here, and the longest queue: one pass over the sessions, with
    /// nothing allocated (each metrics scrape asks, at any number of connections).
    /// </summary>
    public (long Sum, int Max) PushQueueLengths()
    {
        long sum = 0;
        var max = 0;
        lock (_byUserLock)
        {
            foreach (var ofUser in _byUser.Values)
            {
                foreach (var open in ofUser)
                {
                    var queued = open.Target.QueuedPushes;
                    sum += queued;
                    max = Math.Max(max, queued);
                }
            }
        }

        return (sum, max);
    }

    public void Dispose() => _logins.Dispose();

    /// <summary>
    /// Whether this edge knows the revocations that could refuse a valid token: false from its start until it hears the
    /// revocation broadcast and has read the recent ones (<see cref="RevokedSessions.IsListening"/>). Meanwhile a token is
    /// neither accepted nor refused: callers answer "unavailable, retry" (a refusal would sign honest clients out).
    /// </summary>
    public bool RevocationsKnown => revoked.IsListening;

    /// <summary>The token's claims, or null when it is not a valid, unexpired, unrevoked token.</summary>
    public AccessTokenClaims? Authenticate(string? token) =>
        tokens.Validate(token) is { } claims && !revoked.IsRevoked(claims) ? claims : null;

    /// <summary>
    /// Closes this edge's connections of a revoked session; for all of a user's sessions, those signed in with a token
    /// issued before the revocation, the tokens it refuses (announcements may come again, later than a new login).
    /// </summary>
    public void Kick(SessionRevoked revoked, string reason)
    {
        ArgumentNullException.ThrowIfNull(revoked);
        OpenSession[]? ofUser;
        lock (_byUserLock)
        {
            _byUser.TryGetValue(revoked.UserId, out ofUser);
        }

        foreach (var open in ofUser ?? [])
        {
            if ((revoked.SessionId is null ? open.TokenIssuedAt < revoked.At : open.Session.SessionId == revoked.SessionId)
                && !open.IsClosed)
            {
                open.Target.Kick(reason);
            }
        }
    }

    /// <summary>
    /// Opens a session for an authenticated device; dispose the result when the connection ends. Null when the edge is
    /// too busy with other logins to take it within <see cref="EdgeOptions.LoginQueueTimeout"/>: the client retries later.
    /// </summary>
    /// <param name="claims">The token's claims.</param>
    /// <param name="deviceId">The device.</param>
    /// <param name="platform">Its platform.</param>
    /// <param name="target">Where its pushes go.</param>
    /// <param name="clientVersion">The app's version, for presence (empty when not told).</param>
    /// <param name="networkType">Its network, for presence (empty when not told).</param>
    public async Task<OpenSession?> OpenAsync(AccessTokenClaims claims, string deviceId, string platform, IPushTarget target, string clientVersion = "", string networkType = "")
    {
        ArgumentNullException.ThrowIfNull(claims);
        Interlocked.Increment(ref _loginsWaiting);
        bool admitted;
        try
        {
            admitted = await _logins.WaitAsync(options.Value.LoginQueueTimeout);
        }
        finally
        {
            Interlocked.Decrement(ref _loginsWaiting);
        }

        if (!admitted)
        {
            return null;
        }

        try
        {
            return await RegisterAsync(claims, deviceId, platform, target, clientVersion, networkType);
        }
        finally
        {
            try
            {
                _logins.Release();
            }
            catch (ObjectDisposedException)
            {
                // The host disposed the hub while this login registered (it is stopping): the session registered must
                // still be returned, for its connection to close it, or the device stayed online until its lease lapsed.
            }
        }
    }

    private async Task<OpenSession> RegisterAsync(AccessTokenClaims claims, string deviceId, string platform, IPushTarget target, string clientVersion, string networkType)
    {
        var connectionId = Guid.NewGuid().ToString("N");
        // EdgeTakesPushMany: this edge's push observer handles PushManyAsync, so silos may coalesce pushes to it.
        // EdgeRenewsLease: this edge renews its devices (DeviceLeaseRenewal), so their grains may drop them if it stops.
        // EdgeTakesPushInOrder: it takes numbered calls (PushInOrderAsync) and hands them on in the silo's order.
        var device = new DeviceSession(deviceId, platform, options.Value.EdgeId, time.GetUtcNow(), connectionId,
            Clip(clientVersion, MaxClientVersionLength), Clip(networkType, MaxNetworkTypeLength), EdgeTakesPushMany: true, EdgeRenewsLease: true,
            EdgeTakesPushInOrder: true);
        var attachment = await subscriptions.AttachAsync(claims.UserId, target, connectionId);
        try
        {
            await client.For<IUserGrain>(claims.UserId).ConnectDeviceAsync(device, subscriptions.PushObserver);
        }
        catch
        {
            await attachment.DisposeAsync();
            // The registration may have been made and only its answer lost (a timeout): undone, not waited on, by this
            // connection's id, or the device would show online with nothing behind it until its lease ran out.
            client.For<IUserGrain>(claims.UserId).DisconnectDeviceAsync(deviceId, connectionId).Ignore();
            throw;
        }

        var open = new OpenSession(new ClientSession(client, rateLimiter, sends, conversations, rooms, claims.UserId, claims.SessionId, deviceId, platform, connectionId), attachment, this, device, target, claims.IssuedAt);
        if (_spentBudgets.Take(claims.UserId, deviceId, time.GetTimestamp()) is { } spent)
        {
            open.StartBudgetFrom(spent);
        }

        lock (_byUserLock)
        {
            _byUser[claims.UserId] = _byUser.TryGetValue(claims.UserId, out var others) ? [.. others, open] : [open];
            _openCount++;
        }

        Interlocked.Increment(ref _sessionsOpened);

        // The token was checked before the wait for a login place and the registration: a revocation heard meanwhile
        // found no connection here to close. Listed now, the session is closed by any revocation from here on; one heard
        // before is caught by asking again.
        if (revoked.IsRevoked(claims) && !open.IsClosed)
        {
            target.Kick("session ended");
        }

        return open;
    }

    /// <summary>
    /// An access token for the HTTP API, issued over a long connection. By default it names a session of its own that
    /// ends (and is revoked everywhere) when the connection closes; otherwise it names the login session. Null when the
    /// account cannot start a session (none, or disabled), or the login the connection signed in with has ended.
    /// </summary>
    public async Task<(string Token, DateTimeOffset ExpiresAt, bool BoundToConnection)?> IssueConnectionTokenAsync(OpenSession open)
    {
        ArgumentNullException.ThrowIfNull(open);
        var now = time.GetUtcNow();
        var session = open.Session;
        if (!authOptions.Value.ConnectionTokensDieWithConnection)
        {
            // A token of the login itself: only while that login lives. Its end closes this connection when it is heard,
            // but an edge may not have heard it (yet), and the connection must not mint tokens for it meanwhile. One grain
            // call, as the other kind of token takes; clients ask for one every few minutes at most.
            if (open.IsClosed
                || revoked.IsRevoked(new AccessTokenClaims(session.UserId, session.SessionId, DateTimeOffset.MaxValue, open.TokenIssuedAt))
                || !await client.For<IAccountGrain>(session.UserId).IsSessionLiveAsync(session.SessionId))
            {
                return null;
            }

            var (token, expiresAt) = tokens.IssueWithExpiry(session.UserId, session.SessionId);
            return (token, expiresAt, false);
        }

        // A session of its own, with no usable refresh token: it lives exactly as long as this connection.
        var sessionId = "c-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        var unusable = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        var sessionEnds = now + authOptions.Value.AccessTokenLifetime;
        if (!await client.For<IAccountGrain>(session.UserId).StartSessionAsync(
                new LoginSession(sessionId, session.DeviceId, session.Platform, unusable, sessionEnds, now, ParentSessionId: session.SessionId)))
        {
            // No such account, or it is disabled: an answer, not a failure to retry.
            return null;
        }

        if (open.BindSession(sessionId) is { } displaced)
        {
            // The connection keeps only its newest few: the oldest one's session ends now, as it would at the close.
            revoked.Apply(new SessionRevoked(session.UserId, displaced, now));
            try
            {
                await client.For<IAccountGrain>(session.UserId).EndSessionAsync(displaced);
            }
            catch (Exception)
            {
                // Boundary: the account could not be reached (a failover). The new token is issued all the same, and
                // the old session goes back to be ended with the connection (or displaced again by the next token).
                open.RebindOldest(displaced);
            }
        }

        var (connectionToken, tokenExpiresAt) = tokens.IssueWithExpiry(session.UserId, sessionId);
        return (connectionToken, tokenExpiresAt, true);
    }

    /// <summary>What a client says about itself, cut to a bounded length.</summary>
    public static string Clip(string? value, int maxLength) =>
        string.IsNullOrEmpty(value) ? "" : StorableText.Clip(value, maxLength);

    /// <summary>
    /// Joins a chat room through this session's device: the room's messages come to it while it is connected.
    /// <paramref name="rejoining"/>: the membership the device held before a reconnect (0 for a join the user asked for).
    /// </summary>
    public async Task<RoomJoinResult> JoinRoomAsync(OpenSession open, string roomId, long rejoining)
    {
        ArgumentNullException.ThrowIfNull(open);
        if (!GrainKeys.TryParseConversation(roomId, out var address) || address.Kind != ConversationKind.Room || open.IsClosed)
        {
            return new RoomJoinResult(AccessStatus.Invalid, 0, []);
        }

        var joined = await rooms.JoinAsync(roomId, open.Session.UserId, open.Target, rejoining);
        if (open.IsClosed)
        {
            // It closed while joining (a web client's call can outlive its connection): the close may have forgotten the
            // target before the room took it, which would keep a dead target in the room.
            rooms.Forget(open.Target);
        }

        return joined;
    }

    /// <summary>The session's user leaves a chat room.</summary>
    public Task<AccessStatus> LeaveRoomAsync(OpenSession open, string roomId)
    {
        ArgumentNullException.ThrowIfNull(open);
        return GrainKeys.TryParseConversation(roomId, out var address) && address.Kind == ConversationKind.Room
            ? rooms.LeaveAsync(roomId, open.Session.UserId)
            : Task.FromResult(AccessStatus.NotFound);
    }

    private async Task CloseAsync(OpenSession open, ClientSession session, IAsyncDisposable attachment)
    {
        var removed = false;
        OpenSession? sameDevice = null;
        lock (_byUserLock)
        {
            if (_byUser.TryGetValue(session.UserId, out var ofUser) && Array.IndexOf(ofUser, open) >= 0)
            {
                var rest = Array.FindAll(ofUser, o => o != open);
                sameDevice = Array.Find(rest, o => o.Device.DeviceId == open.Device.DeviceId);
                if (rest.Length == 0)
                {
                    _byUser.Remove(session.UserId);
                }
                else
                {
                    _byUser[session.UserId] = rest;
                }

                _openCount--;
                removed = true;
            }
        }

        if (removed)
        {
            rooms.Forget(open.Target);
            var edge = options.Value;
            if (edge.RequestsPerSecond > 0)
            {
                var budget = open.Budget;
                var fullAt = budget.FullAt(edge.RequestsPerSecond, edge.RequestBurst, time.TimestampFrequency);
                if (sameDevice is not null)
                {
                    // The device is already back on a newer connection (it reconnected before this one was seen to
                    // close): that one carries on from whichever budget is spent more.
                    sameDevice.StartBudgetFromIfLater(budget, fullAt, edge, time.TimestampFrequency);
                }
                else
                {
                    _spentBudgets.Keep(session.UserId, session.DeviceId, budget, fullAt, time.GetTimestamp());
                }
            }
        }

        // Each step on its own: one that fails (a silo failing over) must not leave the others undone, or the connection's
        // other tokens would stay valid, its push route would stay attached to a dead connection for the edge's life, and
        // the device would stay "online" until its lease lapsed. Whatever the failure: the cluster client may throw a
        // cancellation too, which is no reason to skip the rest.
        try
        {
            foreach (var bound in open.BoundSessions)
            {
                // Refused here at once; the account's broadcast tells the other edges.
                revoked.Apply(new SessionRevoked(session.UserId, bound, time.GetUtcNow()));
                try
                {
                    await client.For<IAccountGrain>(session.UserId).EndSessionAsync(bound);
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // Boundary: refused on this edge still; other edges take the token until it expires.
                    Log.EndSessionFailed(logger, session.UserId, session.DeviceId, ex.Message);
                }
            }
        }
        finally
        {
            try
            {
                await attachment.DisposeAsync();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.DetachFailed(logger, session.UserId, session.DeviceId, ex.Message);
            }
        }

        var user = client.For<IUserGrain>(session.UserId);
        try
        {
            await (open.SilentFor is { } silentFor
                ? user.DisconnectLostDeviceAsync(session.DeviceId, open.ConnectionId, silentFor)
                : user.DisconnectDeviceAsync(session.DeviceId, open.ConnectionId));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Boundary: the grain answers again within seconds of a failover; said again in the background, as after a
            // renewal that raced the close.
            Log.DisconnectFailed(logger, session.UserId, session.DeviceId, ex.Message);
            _ = DisconnectAgainAsync(open, user);
        }
    }

    /// <summary>
    /// Renews every session open here (or those of <paramref name="only"/>) with its user grain
    /// (<see cref="IUserGrain.RenewDeviceAsync"/>), at most <paramref name="parallelism"/> at once: every
    /// <see cref="EdgeOptions.DeviceRenewInterval"/>, and when a silo may have been lost. A grain that forgot a device (a
    /// new activation, maybe elsewhere after its silo died) registers it again, and the device syncs for what it was not
    /// pushed meanwhile; one superseded by a newer connection is left alone. Sessions whose grain could not be reached
    /// are returned, to try again. <paramref name="afterSiloLoss"/>: the grains also tell their users' large groups and
    /// official accounts their routes again (<see cref="IUserGrain.RenewDeviceAfterSiloLossAsync"/>).
    /// </summary>
    public async Task<RenewalSweep> RenewAsync(IEnumerable<OpenSession>? only, int parallelism, bool afterSiloLoss, CancellationToken cancellationToken)
    {
        var failed = new ConcurrentBag<OpenSession>();
        int renewed = 0, restored = 0, superseded = 0;
        await Parallel.ForEachAsync(only ?? AllOpen(), new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken }, async (open, _) =>
        {
            if (open.IsClosed)
            {
                return;
            }

            var user = client.For<IUserGrain>(open.Session.UserId);
            try
            {
                var renewal = afterSiloLoss
                    ? await user.RenewDeviceAfterSiloLossAsync(open.Device, subscriptions.PushObserver)
                    : await user.RenewDeviceAsync(open.Device, subscriptions.PushObserver);
                switch (renewal)
                {
                    case DeviceRenewal.Renewed:
                        Interlocked.Increment(ref renewed);
                        break;
                    case DeviceRenewal.Restored:
                        await RestoredAsync(open, user);
                        Interlocked.Increment(ref restored);
                        break;
                    default:
                        // A newer connection took its place; if a newer device made it leave, the grain kicked it too.
                        Interlocked.Increment(ref superseded);
                        break;
                }
            }
            catch (Exception) when (!cancellationToken.IsCancellationRequested)
            {
                // Boundary: a silo that is down or slow to be declared dead; the lease outlasts a few renewals.
                failed.Add(open);
            }
        });
        return new RenewalSweep(renewed, restored, superseded, [.. failed]);
    }

    /// <summary>After a grain registered a session it had forgotten.</summary>
    private async Task RestoredAsync(OpenSession open, IUserGrain user)
    {
        if (open.IsClosed)
        {
            // It closed while the renewal was on its way: its disconnect may have come first, so say it again. Tried a
            // few times here: a closed session is not renewed again, so a failure left alone would keep the device
            // "online" until its lease lapsed (up to 1.5 leases). Not awaited: the sweep's other renewals go on meanwhile.
            _ = DisconnectAgainAsync(open, user);
            return;
        }

        // What came meanwhile was pushed to nobody, so the device syncs to find it. The grain forgot the user's rooms
        // too, which it leaves for them when they go offline.
        open.Target.RequestResync();
        foreach (var roomId in rooms.RoomsOf(open.Target))
        {
            user.OnRoomJoinedAsync(roomId, true).Ignore();
        }
    }

    private async Task DisconnectAgainAsync(OpenSession open, IUserGrain user)
    {
        for (var attempt = 1; attempt <= RepeatDisconnectAttempts; attempt++)
        {
            try
            {
                await user.DisconnectDeviceAsync(open.Device.DeviceId, open.ConnectionId);
                return;
            }
            catch (Exception)
            {
                // Boundary: the silo may be failing over; the grain answers again within seconds. After the last
                // attempt the lease is what ends the registration.
                if (attempt < RepeatDisconnectAttempts)
                {
                    await Task.Delay(RepeatDisconnectPause, time);
                }
            }
        }
    }

    private bool TryTakeRequest(ref RequestBudget budget, int cost)
    {
        var edge = options.Value;
        return edge.RequestsPerSecond <= 0
            || budget.TryTake(cost, edge.RequestsPerSecond, edge.RequestBurst, time.GetTimestamp(), time.TimestampFrequency);
    }

    private OpenSession[] AllOpen()
    {
        lock (_byUserLock)
        {
            return [.. _byUser.Values.SelectMany(ofUser => ofUser)];
        }
    }

    /// <summary>A session and what to undo when it ends.</summary>
    public sealed class OpenSession(ClientSession session, IAsyncDisposable attachment, SessionHub hub, DeviceSession device, IPushTarget target, DateTimeOffset tokenIssuedAt) : IAsyncDisposable
    {
        /// <summary>Where this session's pushes go (its connection).</summary>
        public IPushTarget Target { get; } = target;

        /// <summary>When the token this connection signed in with was issued.</summary>
        public DateTimeOffset TokenIssuedAt { get; } = tokenIssuedAt;

        /// <summary>This connection's id, as the user grain knows it.</summary>
        public string ConnectionId => Device.ConnectionId;

        /// <summary>
        /// The device as registered with its user grain at login, with its latest presence (away, network): a grain
        /// that forgot it (a new activation) registers it again from this, and must not take a phone in the background
        /// for one in use (it would not be notified).
        /// </summary>
        public DeviceSession Device
        {
            get
            {
                lock (_lock)
                {
                    return _device;
                }
            }
        }

        private DeviceSession _device = device;

        /// <summary>The device's user is away or back, or its network changed (empty: unchanged).</summary>
        public Task SetPresenceAsync(bool away, string? networkType)
        {
            var network = Clip(networkType, MaxNetworkTypeLength);
            lock (_lock)
            {
                _device = _device with { Away = away, NetworkType = network.Length > 0 ? network : _device.NetworkType };
            }

            return Session.SetPresenceAsync(away, network);
        }

        /// <summary>The connection has ended (or is ending).</summary>
        public bool IsClosed => Volatile.Read(ref _closed) == 1;

        /// <summary>
        /// How long the client had been silent, if the connection was lost (reset, timed out, silent) rather than closed:
        /// see <see cref="Lost"/>.
        /// </summary>
        public TimeSpan? SilentFor { get; private set; }

        // Few connections ever bind a session: no collection until one does (a ConcurrentQueue was 770 bytes on every
        // connection, 7 % of an idle connection's heap). The lock also guards the request budget.
        private readonly Lock _lock = new();
        private List<string>? _boundSessions;
        private RequestBudget _requests;
        private int _closed;

        public ClientSession Session { get; } = session;

        /// <summary>Sessions that end with this connection (tokens issued over it), as a copy.</summary>
        public IReadOnlyList<string> BoundSessions
        {
            get
            {
                lock (_lock)
                {
                    return _boundSessions is null ? [] : [.. _boundSessions];
                }
            }
        }

        /// <summary>
        /// Takes a request of <paramref name="cost"/> (<see cref="RequestCosts"/>) from this connection's budget
        /// (<see cref="EdgeOptions.RequestsPerSecond"/>, <see cref="EdgeOptions.RequestBurst"/>); false when the client
        /// is over it, and the request must be answered "rate limited" instead of served.
        /// </summary>
        public bool TryTakeRequest(int cost)
        {
            if (cost <= 0)
            {
                return true;
            }

            lock (_lock)
            {
                return hub.TryTakeRequest(ref _requests, cost);
            }
        }

        /// <summary>This connection's request budget now (a copy).</summary>
        internal RequestBudget Budget
        {
            get
            {
                lock (_lock)
                {
                    return _requests;
                }
            }
        }

        /// <summary>Starts this connection's request budget from one its device spent on a connection that closed.</summary>
        internal void StartBudgetFrom(RequestBudget spent)
        {
            lock (_lock)
            {
                _requests = spent;
            }
        }

        /// <summary>Takes on a spent budget of the same device if it is full later than this connection's own.</summary>
        internal void StartBudgetFromIfLater(RequestBudget spent, long spentFullAt, EdgeOptions edge, long timestampFrequency)
        {
            lock (_lock)
            {
                if (spentFullAt > _requests.FullAt(edge.RequestsPerSecond, edge.RequestBurst, timestampFrequency))
                {
                    _requests = spent;
                }
            }
        }

        /// <summary>A displaced session that could not be ended: bound again, oldest, to be ended with the connection.</summary>
        internal void RebindOldest(string sessionId)
        {
            lock (_lock)
            {
                (_boundSessions ??= []).Insert(0, sessionId);
            }
        }

        /// <summary>
        /// Binds a session (a connection token's) to this connection; returns the oldest one when this makes more than
        /// <see cref="MaxBoundSessions"/>, taken off, for the caller to end.
        /// </summary>
        internal string? BindSession(string sessionId)
        {
            lock (_lock)
            {
                var bound = _boundSessions ??= [];
                bound.Add(sessionId);
                if (bound.Count <= MaxBoundSessions)
                {
                    return null;
                }

                var oldest = bound[0];
                bound.RemoveAt(0);
                return oldest;
            }
        }

        /// <summary>
        /// The transport says the connection was lost, the client silent for <paramref name="silentFor"/>: at its close the
        /// device's user grain is told so (<see cref="IUserGrain.DisconnectLostDeviceAsync"/>), and notifies the device of
        /// what was pushed to it meanwhile. A duration, not a time: the grain reckons it on the silo's clock, which stamped
        /// the messages. Called before <see cref="DisposeAsync"/>.
        /// </summary>
        public void Lost(TimeSpan silentFor) => SilentFor = silentFor;

        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref _closed, 1) == 0 ? new ValueTask(hub.CloseAsync(this, Session, attachment)) : ValueTask.CompletedTask;
    }
}
