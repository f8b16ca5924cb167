using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Im.Conversations;
using Orleans.Im.Edges;
using Orleans.Im.Events;
using Orleans.Im.Groups;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Storage;

namespace Orleans.Im.Users;

/// <summary>
/// A user: profile, connected devices, and the conversation index with its sync version.
/// The index is kept in memory, written in batches, and on activation reconciled with the message log, so that it is
/// consistent with the log after any crash.
/// </summary>
public sealed partial class UserGrain(
    [PersistentState("user", StorageNames.Grains)] IPersistentState<UserState> state,
    IConversationIndexStore indexStore,
    IMessageLog log,
    IUserEventPublisher publisher,
    IEventFirehose firehose,
    IOfflineNotifier offlineNotifier,
    IOptions<UserOptions> options,
    ImClock clock,
    LocalEdgeDevices edgeDevices,
    ILogger<UserGrain> logger) : Grain, IUserGrain
{
    private readonly Dictionary<string, IndexRow> _index = new(StringComparer.Ordinal);
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DeviceSession> _devices = new(StringComparer.Ordinal);

    /// <summary>How each connected device takes its pushes: its edge's push observer, or null for the user's stream.</summary>
    private readonly Dictionary<string, IEdgePushObserver?> _pushRoutes = new(StringComparer.Ordinal);
    private IEdgePushObserver?[] _announcedRoutes = [];

    /// <summary>
    /// After a silo crash the sweep comes before the cluster has declared the silo dead: routes told then may go to a
    /// conversation's activation on the dead silo and be lost. They are told once more this much later, when the
    /// conversation is activated elsewhere (a crashed silo is declared dead within seconds; the fault drills saw ≤ 11 s).
    /// </summary>
    private static readonly TimeSpan RoutesToldOnceMoreAfter = TimeSpan.FromSeconds(30);

    private IGrainTimer? _routesOnceMoreTimer;

    /// <summary>
    /// How often lease renewals tell the routes again (<see cref="TellRoutesAtRenewal"/>): each device renews every
    /// 5 minutes by default, and a user with several devices tells once per period, not once per device.
    /// </summary>
    private static readonly TimeSpan RoutesRetoldEvery = TimeSpan.FromMinutes(4);

    private DateTimeOffset _routesToldAt;

    /// <summary>How long after a failed presence fan-out at a login it is tried again, and how many times.</summary>
    private static readonly TimeSpan PeersToldAgainAfter = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long the members of the user's small groups, as asked for presence queries, are trusted. A query names up to
    /// 200 users and anyone may make it: each would otherwise ask every group of each of them, each time. A member who
    /// left one of those groups may go on seeing the status for this long.
    /// </summary>
    private static readonly TimeSpan GroupPeersKnownFor = TimeSpan.FromSeconds(30);

    private const int PeersToldAgainAttempts = 3;

    private IGrainTimer? _peersToldAgainTimer;
    private long _version;
    private IGrainTimer? _flushTimer;
    private IGrainTimer? _offlineTimer;

    /// <summary>
    /// Which grace timer is the current one: a tick of a timer that a reconnect disposed may already be queued behind the
    /// reconnect, and must not take a later disconnect's grace (nor its timer) away.
    /// </summary>
    private int _offlineGeneration;

    /// <summary>When each connected device's registration runs out unless its edge host renews it.</summary>
    private readonly Dictionary<string, DateTimeOffset> _leases = new(StringComparer.Ordinal);

    /// <summary>
    /// Connections that a newer one replaced or made leave, for a lease (most users never have one): a late renewal from
    /// such a connection must not register it again.
    /// </summary>
    private Dictionary<string, SupersededConnection>? _supersededConnections;

    /// <summary>Superseded connections remembered at most: a user does not log in this often within a lease.</summary>
    private const int MaxSupersededConnections = 16;

    /// <summary>The edge hosts this grain is listed on in <see cref="LocalEdgeDevices"/> (null: none).</summary>
    private HashSet<string>? _listedEdges;

    /// <summary>Checks the leases while a device is connected; dormant otherwise (created at the first lease).</summary>
    private IGrainTimer? _leaseTimer;
    private bool _leaseTimerArmed;
    private PresenceStatus _announced = PresenceStatus.Offline;

    /// <summary>The members of the user's small groups as last asked for a presence query (see <see cref="GroupPeersKnownFor"/>).</summary>
    private (HashSet<string> Peers, DateTimeOffset AskedAt)? _groupPeers;

    /// <summary>Conversations joined at the head whose entry could not be saved yet (see JoinConversationAtHeadAsync).</summary>
    private HashSet<string>? _joinsNotSaved;

    /// <summary>Chat rooms the user is in: rooms are not stored, so neither is this.</summary>
    private readonly HashSet<string> _rooms = new(StringComparer.Ordinal);

    private string UserId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        var rows = await indexStore.LoadAsync(UserId);
        foreach (var row in rows)
        {
            _index[row.Entry.ConversationId] = row;
        }

        // Versions must grow across activations even when the last ones handed out were never written (a crash before
        // a flush): start above both what is stored and anything a previous activation could have reached.
        var storedMax = rows.Count == 0 ? 0 : rows.Max(r => r.Entry.Version);
        _version = Math.Max(storedMax, clock.UtcNow.ToUnixTimeMilliseconds() * 1000);

        if (rows.Count > 0)
        {
            await ReconcileWithLogAsync();
        }

        // Dormant until an entry changes (see MarkDirty): a periodic timer per online user would cost the silo tens of
        // thousands of idle callbacks a second with 100,000 users signed in.
        _flushTimer = this.RegisterGrainTimer(FlushAsync, new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan)
        {
            Interleave = false,
            KeepAlive = false,
        });
        if (_dirty.Count > 0)
        {
            // Reconciling with the log changed entries before the timer existed.
            _flushTimer.Change(options.Value.IndexFlushInterval, Timeout.InfiniteTimeSpan);
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_devices.Count == 0 && _announced != PresenceStatus.Offline)
        {
            // Deactivated within the presence grace (its silo stopping, the cluster rebalancing): the grace timer goes with
            // this activation, and the next one starts offline, never announced, so peers would show "online" for good.
            // Announced now, the grace cut short.
            try
            {
                await GoOfflineAsync(_offlineGeneration, cancellationToken);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogPresenceNotAnnounced(logger, UserId, ex.Message);
            }
        }

        // Its devices are registered again with the next activation, which lists them again.
        foreach (var edgeId in _listedEdges ?? [])
        {
            edgeDevices.Remove(edgeId, UserId);
        }

        _listedEdges = null;
        _flushTimer?.Dispose();
        await FlushAsync(cancellationToken);
    }

    public Task<UserProfile?> GetProfileAsync() => Task.FromResult(state.State.Profile);

    public async Task<bool> SetProfileAsync(UserProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (string.IsNullOrWhiteSpace(profile.DisplayName)
            || profile.DisplayName.Length > UserProfile.MaxDisplayNameLength
            // A display name is written beside the messages an agent sends for a shop (messages.sender_name).
            || !StorableText.IsStorable(profile.DisplayName)
            || profile.AvatarUrl?.Length > UserProfile.MaxAvatarUrlLength
            || profile.Signature?.Length > UserProfile.MaxSignatureLength)
        {
            return false;
        }

        var before = state.State.Profile;
        state.State.Profile = profile;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Undone: others would read a profile storage refused, and the user's next write of anything else would store
            // it. The activation stays (it holds the user's connected devices, which storage does not).
            state.State.Profile = before;
            throw;
        }

        return true;
    }

    public async Task<SyncResult> SyncAsync(long sinceVersion)
    {
        await ReconcileGroupsAsync();

        // A version from another history (newer than anything here) cannot be trusted: send everything.
        var since = sinceVersion > _version ? 0 : sinceVersion;
        var changed = _index.Values
            .Where(r => r.Entry.Version > since)
            .Select(r => r.Entry)
            .OrderBy(e => e.Version)
            .ToList();
        return new SyncResult(_version, changed);
    }

    public Task<ConversationEntry?> GetConversationAsync(string conversationId) =>
        Task.FromResult(_index.TryGetValue(conversationId, out var row) && !row.Entry.Removed ? row.Entry : null);

    public async Task<ConversationEntry?> MarkReadEntryAsync(string conversationId, long seq) =>
        (await MarkReadAsync(conversationId, seq)).Entry;

    public async Task<MarkReadResult> MarkReadAsync(string conversationId, long seq)
    {
        if (!_index.TryGetValue(conversationId, out var row) || row.Entry.Removed)
        {
            return new MarkReadResult(AccessStatus.NotFound, null);
        }

        if (seq > row.Entry.LastSeq && row.ReadDiffusion)
        {
            await ReconcileAsync(conversationId);
            row = _index[conversationId];
        }

        var readSeq = Math.Min(seq, row.Entry.LastSeq);
        if (readSeq <= row.Entry.ReadSeq)
        {
            return new MarkReadResult(AccessStatus.Ok, row.Entry);
        }

        var entry = Update(conversationId, e => e with
        {
            ReadSeq = readSeq,
            // Cleared once read past the (latest) mention, not before: a mention further down still waits.
            Mentioned = e.Mentioned && readSeq < e.MentionSeq,
        });
        if (!await SaveNowAsync(conversationId))
        {
            // Back to the entry before, so that the retry does it all: stores it, tells the devices, sends the receipt.
            _index[conversationId] = row;
            return new MarkReadResult(AccessStatus.Unavailable, null);
        }

        // The receipt first: a push that fails (a stream that does not take the event) fails the call, and its retry finds
        // the position stored and sends nothing.
        GrainFactory.For<IConversationGrain>(conversationId).OnReadAsync(UserId, readSeq).Ignore();
        await PushAsync(new ConversationUpdatedEvent(entry));
        return new MarkReadResult(AccessStatus.Ok, entry);
    }

    public async Task<ConversationEntry?> UpdateConversationSettingsAsync(string conversationId, ConversationSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (!_index.TryGetValue(conversationId, out var row) || row.Entry.Removed)
        {
            return null;
        }

        if (!StorableText.IsStorable(settings.Draft))
        {
            // The edge refuses it as invalid first; a draft the index cannot store would fail its row's every save.
            return null;
        }

        // Cut on a character boundary: half an emoji cannot be encoded, and would fail the save of the row.
        var draft = settings.Draft is { } text ? StorableText.Clip(text, ConversationSettings.MaxDraftLength) : null;
        var entry = Update(conversationId, e => e with
        {
            Muted = settings.Muted ?? e.Muted,
            Pinned = settings.Pinned ?? e.Pinned,
            Hidden = settings.Hidden ?? e.Hidden,
            Draft = settings.Draft is null ? e.Draft : (draft!.Length == 0 ? null : draft),
        });
        if (!await SaveNowAsync(conversationId))
        {
            // Not "no such conversation": the caller hears unavailable (HTTP 503) and retries. The row stays dirty, so a
            // later flush stores it even without the retry; the retry also tells the devices.
            throw new StorageUnavailableException($"the conversation index of {UserId} could not be saved");
        }

        await PushAsync(new ConversationUpdatedEvent(entry));
        return entry;
    }

    public async Task<bool> ConnectDeviceAsync(DeviceSession device, IEdgePushObserver? pushTo)
    {
        ArgumentNullException.ThrowIfNull(device);
        var known = _devices.TryGetValue(device.DeviceId, out var current) && current.ConnectionId == device.ConnectionId;
        var replaced = current is not null && !known ? current : null;
        var replacedRoute = replaced is not null ? _pushRoutes.GetValueOrDefault(device.DeviceId) : null;
        if (replaced is not null)
        {
            Superseded(replaced.ConnectionId, ReplacedReason);
        }

        var evicted = LoginPolicy.Evictions(_devices.Values, device, options.Value);
        _devices[device.DeviceId] = device;
        ListOnEdges();
        Lease(device);
        // A device that logs in again (a network switch, maybe onto another edge) replaces its old connection's route:
        // the old connection is closing, and the new one is where its pushes go.
        _pushRoutes[device.DeviceId] = pushTo;
        publisher.NoteRoute(device, pushTo);

        // Back within the grace: nobody was told it left, so nobody is told it is back.
        CancelGoingOffline();
        try
        {
            await AnnounceIfChangedAsync();
        }
        catch (Exception ex)
        {
            // Best effort: the device is registered, so a failed fan-out (a contacts or group grain that did not answer)
            // must not fail the login and leave it here unannounced, its evictions and routes undone. The fan-out is
            // tried again a little later, a few times.
            LogPresenceNotAnnounced(logger, UserId, ex.Message);
            TellPeersLater(attempt: 1);
        }

        if (replaced is not null)
        {
            // The device's older connection is closed by the edge holding it (by its id: the newer one stays). Usually it
            // is closing already (a network switch); when it is not, another phone signed in with the same device id
            // (a copied installation, a shared account): it must not go on being served beside this one.
            await KickAsync(replaced, ReplacedReason, replacedRoute);
        }

        foreach (var old in evicted)
        {
            // The edge holding it closes it with the reason; it is forgotten here at once, so it no longer counts.
            var reason = EvictionReason(device);
            _devices.Remove(old.DeviceId);
            _leases.Remove(old.DeviceId);
            Superseded(old.ConnectionId, reason);
            _pushRoutes.Remove(old.DeviceId, out var oldRoute);
            ListOnEdges();
            await KickAsync(old, reason, oldRoute);
        }

        if (evicted.Count > 0 && state.State.PushTokens.Count > 0)
        {
            // Made to leave is signed out as far as notifications go: the phone shows "signed in elsewhere", and must not
            // go on showing this user's messages; it registers its token again when it signs in again. In a turn of its
            // own, after the login is answered: forgetting writes state and asks the tokens' grains.
            string[] devices = [.. evicted.Select(d => d.DeviceId)];
            IGrainTimer? once = null;
            once = this.RegisterGrainTimer(async _ =>
            {
                try
                {
                    await ForgetPushTokensAsync(devices);
                }
                finally
                {
                    // Disposed at the end: disposing a timer from its own callback would cancel this very callback.
                    once?.Dispose();
                }
            }, new GrainTimerCreationOptions(TimeSpan.Zero, Timeout.InfiniteTimeSpan) { Interleave = false, KeepAlive = true });
        }

        AnnounceRoutesIfChanged();
        return known;
    }

    public async Task DisconnectDeviceAsync(string deviceId, string connectionId)
    {
        if (!_devices.TryGetValue(deviceId, out var current) || current.ConnectionId != connectionId || !_devices.Remove(deviceId))
        {
            return;
        }

        _pushRoutes.Remove(deviceId);
        _leases.Remove(deviceId);
        ListOnEdges();
        AnnounceRoutesIfChanged();

        if (_devices.Count > 0)
        {
            // The others may all be away: then the user is now.
            await AnnounceIfChangedAsync();
            return;
        }

        CancelGoingOffline();
        _offlineTimer = this.RegisterGrainTimer(GoOfflineAsync, _offlineGeneration, new GrainTimerCreationOptions(options.Value.PresenceGrace, Timeout.InfiniteTimeSpan)
        {
            Interleave = false,
            // The grace must run out even if nothing else calls this grain meanwhile.
            KeepAlive = true,
        });
    }

    public async Task DisconnectLostDeviceAsync(string deviceId, string connectionId, TimeSpan silentFor)
    {
        var wasInApp = _devices.TryGetValue(deviceId, out var current) && current.ConnectionId == connectionId && !current.Away;
        try
        {
            await DisconnectDeviceAsync(deviceId, connectionId);
        }
        finally
        {
            // Also when the presence fan-out after the removal failed (the edge's retry is a plain disconnect, which finds
            // the device gone). Away, it was notified of each message already (see NotifyDevicesNotConnected).
            if (wasInApp && !_devices.ContainsKey(deviceId))
            {
                NotifyMissedWhileLost(deviceId, clock.UtcNow - silentFor);
            }
        }
    }

    public async Task<DeviceRenewal> RenewDeviceAsync(DeviceSession device, IEdgePushObserver? pushTo)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (_devices.TryGetValue(device.DeviceId, out var current))
        {
            if (current.ConnectionId != device.ConnectionId)
            {
                if (device.ConnectedAt > current.ConnectedAt && _supersededConnections?.ContainsKey(device.ConnectionId) != true)
                {
                    // The device's newer connection: this activation registered the older one first (both were forgotten,
                    // a lost silo, and the older one's kick was lost too). It takes the device, and the older is made to
                    // leave, as at a login; before, the live connection was left without pushes until the older timed out.
                    await ConnectDeviceAsync(device, pushTo);
                    return DeviceRenewal.Restored;
                }

                return DeviceRenewal.Superseded;
            }

            Lease(current);
            // The silo's outbox may have forgotten the edge while it was idle and made its queue again: it learns again
            // how the edge takes pushes (numbered calls), which only a device's session says.
            publisher.NoteRoute(current, pushTo);
            TellRoutesAtRenewal();
            return DeviceRenewal.Renewed;
        }

        // Forgotten: this activation is new, or the lease ran out while the edge could not reach it. Registered again,
        // unless a newer connection took its place: one this activation saw, or a device that logged in after it and that
        // registering it would now make leave (both were forgotten, and the newer one came back first). A connection
        // that a newer device, or the same device's newer connection, made leave is told so again (its kick may have been
        // lost), so that its edge closes it rather than keep a connection nothing is pushed to; the kick names the
        // connection, so the newer one stays.
        if (_supersededConnections?.GetValueOrDefault(device.ConnectionId) is { } superseded)
        {
            if (superseded.KickReason is { } reason)
            {
                await KickAsync(device, reason, pushTo);
            }

            return DeviceRenewal.Superseded;
        }

        if (LoginPolicy.Evictions(_devices.Values, device, options.Value).FirstOrDefault(d => d.ConnectedAt > device.ConnectedAt) is { } newer)
        {
            var reason = EvictionReason(newer);
            Superseded(device.ConnectionId, reason);
            await KickAsync(device, reason, pushTo);
            return DeviceRenewal.Superseded;
        }

        await ConnectDeviceAsync(device, pushTo);
        return DeviceRenewal.Restored;
    }

    public async Task<DeviceRenewal> RenewDeviceAfterSiloLossAsync(DeviceSession device, IEdgePushObserver? pushTo)
    {
        var renewal = await RenewDeviceAsync(device, pushTo);
        // Renewed, this grain did not move, but a large group or official account may have, and forgot the routes.
        // Registered again, the routes were told as at a connect (this activation had told nobody), but maybe to a
        // conversation's activation on the silo not yet declared dead: told once more later either way.
        // Told at every such renewal, not once per sweep: an edge sweeps twice after a crash, the second time when the
        // silo is declared dead, and its first renewal of this device may have waited on the dead silo until just before
        // (no time window tells the two sweeps apart). A user with several devices tells its conversations once per
        // device: one-way calls, only after a silo loss.
        if (renewal != DeviceRenewal.Superseded)
        {
            if (renewal == DeviceRenewal.Renewed)
            {
                TellRoutesAgain();
            }

            _routesOnceMoreTimer ??= this.RegisterGrainTimer(TellRoutesOnceMoreAsync, new GrainTimerCreationOptions(RoutesToldOnceMoreAfter, Timeout.InfiniteTimeSpan)
            {
                Interleave = false,
                KeepAlive = true,
            });
        }

        return renewal;
    }

    private Task TellRoutesOnceMoreAsync(CancellationToken cancellationToken)
    {
        _routesOnceMoreTimer?.Dispose();
        _routesOnceMoreTimer = null;
        if (_devices.Count > 0)
        {
            TellRoutesAgain();
        }

        return Task.CompletedTask;
    }

    /// <summary>The user's large groups and official accounts hear its current routes, whether or not they changed.</summary>
    private void TellRoutesAgain() => TellRoutesTo(_index.Values.Where(r => r.ReadDiffusion && !r.Entry.Removed), _announcedRoutes);

    /// <summary>
    /// At a lease renewal, at most once per <see cref="RoutesRetoldEvery"/>: the user's large groups and official accounts
    /// are told its routes again. They keep who is online only in memory: one collected while idle (nothing renews its
    /// keep-alive but a change of routes), or a route update lost on the way (one-way), would otherwise push nothing to
    /// this user until the routes change, with no gap for the device to notice. Each tell renews their keep-alive too.
    /// </summary>
    private void TellRoutesAtRenewal()
    {
        var now = clock.UtcNow;
        if (now - _routesToldAt < RoutesRetoldEvery)
        {
            return;
        }

        _routesToldAt = now;
        TellRoutesAgain();
    }

    /// <summary>Why a device's older connection is closed when the device signs in again.</summary>
    private const string ReplacedReason = "signed in again with this device id";

    private static string EvictionReason(DeviceSession newcomer) =>
        $"signed in on another {LoginPolicy.ClassOf(newcomer.Platform)} device ({newcomer.Platform})";

    /// <summary>
    /// Tells the edge holding <paramref name="device"/>'s connection to close it, naming the connection: the same device's
    /// newer connection, maybe on the same edge already, must not be closed with it.
    /// </summary>
    private Task KickAsync(DeviceSession device, string reason, IEdgePushObserver? route) =>
        publisher.PublishAsync(new UserEventBatch(UserId, [new DeviceKickedEvent(device.DeviceId, reason, device.ConnectionId)]), [route]);

    /// <summary>
    /// Remembers, for a lease, a connection that a newer one replaced (no kick reason) or made leave (with the reason it
    /// was kicked for).
    /// </summary>
    private void Superseded(string connectionId, string? kickReason)
    {
        if (connectionId.Length == 0)
        {
            return;
        }

        var now = clock.UtcNow;
        var since = now - options.Value.DeviceLease;
        _supersededConnections ??= new(StringComparer.Ordinal);
        foreach (var (old, _) in _supersededConnections.Where(c => c.Value.At < since).ToList())
        {
            _supersededConnections.Remove(old);
        }

        if (_supersededConnections.Count >= MaxSupersededConnections)
        {
            _supersededConnections.Remove(_supersededConnections.MinBy(c => c.Value.At).Key);
        }

        _supersededConnections[connectionId] = new SupersededConnection(now, kickReason);
    }

    /// <summary>When a connection was superseded, and what it was kicked for (null: replaced by the same device).</summary>
    private readonly record struct SupersededConnection(DateTimeOffset At, string? KickReason);

    /// <summary>
    /// After a write whose failure was swallowed here: a stale version (an earlier write committed though its answer was
    /// lost) fails every later write of this activation, and Orleans drops an activation for it only when the exception
    /// reaches the caller. Dropped here too, once idle: the next activation reads storage's version (connected devices
    /// come back with their edges' renewals).
    /// </summary>
    private void DropIfStale(Exception ex)
    {
        if (ex is Orleans.Storage.InconsistentStateException)
        {
            DeactivateOnIdle();
        }
    }

    /// <summary>
    /// Starts or renews a device's lease, and keeps the grain active for it (for every device, renewed or not: the
    /// grain alone knows where the user's pushes go, and a new activation would push nothing until the edge registered
    /// them again). Only devices of edges that renew can lapse.
    /// </summary>
    private void Lease(DeviceSession device)
    {
        var lease = options.Value.DeviceLease;
        // Past the lease by the check's period, so that a lapsed device is dropped by the check (and the user announced
        // offline), not silently forgotten with a collected activation.
        DelayDeactivation(lease + lease);
        if (!device.EdgeRenewsLease)
        {
            // Nobody renews it (an edge from before leases): it must not lapse, even if the device was on an edge
            // that renews before.
            _leases.Remove(device.DeviceId);
            return;
        }

        _leases[device.DeviceId] = clock.UtcNow + lease;
        ArmLeaseCheck();
    }

    /// <summary>
    /// One-shot and re-armed while leases remain, not periodic: it is never disposed from its own callback, and sleeps
    /// when nobody is connected. Half a lease apart, so a lapsed device goes within one and a half leases.
    /// </summary>
    private void ArmLeaseCheck()
    {
        if (_leaseTimerArmed || _leases.Count == 0)
        {
            return;
        }

        _leaseTimer ??= this.RegisterGrainTimer(DropLapsedDevicesAsync, new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan)
        {
            Interleave = false,
            KeepAlive = false,
        });
        _leaseTimer.Change(options.Value.DeviceLease / 2, Timeout.InfiniteTimeSpan);
        _leaseTimerArmed = true;
    }

    /// <summary>
    /// Drops the devices whose edge host stopped renewing them (it died, or cannot reach this grain), as if they had
    /// disconnected: the user goes offline after the grace when none is left.
    /// </summary>
    private async Task DropLapsedDevicesAsync()
    {
        _leaseTimerArmed = false;
        try
        {
            var now = clock.UtcNow;
            foreach (var (deviceId, _) in _leases.Where(l => l.Value <= now).ToList())
            {
                _leases.Remove(deviceId);
                if (_devices.TryGetValue(deviceId, out var device))
                {
                    LogDeviceLeaseLapsed(logger, UserId, deviceId, device.EdgeId, options.Value.DeviceLease);
                    await DisconnectDeviceAsync(deviceId, device.ConnectionId);
                }
            }
        }
        finally
        {
            // Whatever happened to one device, the other leases are still checked.
            ArmLeaseCheck();
        }
    }

    public async Task OnEdgeLostAsync(string edgeId, DateTimeOffset lastHeard, DateTimeOffset lostAt)
    {
        var lease = options.Value.DeviceLease;
        var lost = _devices.Values
            .Where(d => d.EdgeId == edgeId && _leases.TryGetValue(d.DeviceId, out var until) && until - lease < lostAt)
            .ToList();
        foreach (var device in lost)
        {
            LogDeviceEdgeLost(logger, UserId, device.DeviceId, edgeId);
            await DisconnectLostDeviceAsync(device.DeviceId, device.ConnectionId, clock.UtcNow - lastHeard);
        }
    }

    /// <summary>
    /// Keeps this grain's place in <see cref="LocalEdgeDevices"/> to the edges of its devices that renew (those that can be
    /// lost; the others never lapse either), after every change of its devices.
    /// </summary>
    private void ListOnEdges()
    {
        HashSet<string>? edges = null;
        foreach (var device in _devices.Values)
        {
            if (device.EdgeRenewsLease)
            {
                (edges ??= new(StringComparer.Ordinal)).Add(device.EdgeId);
            }
        }

        foreach (var edgeId in _listedEdges ?? [])
        {
            if (edges?.Contains(edgeId) != true)
            {
                edgeDevices.Remove(edgeId, UserId);
            }
        }

        foreach (var edgeId in edges ?? [])
        {
            if (_listedEdges?.Contains(edgeId) != true)
            {
                edgeDevices.Add(edgeId, UserId);
            }
        }

        _listedEdges = edges;
    }

    public async Task SetDeviceStatusAsync(string deviceId, string connectionId, bool away, string? networkType)
    {
        if (!_devices.TryGetValue(deviceId, out var current) || current.ConnectionId != connectionId)
        {
            return;
        }

        _devices[deviceId] = current with { Away = away, NetworkType = string.IsNullOrEmpty(networkType) ? current.NetworkType : networkType };
        await AnnounceIfChangedAsync();
    }

    public Task<UserPresence> GetPresenceAsync() => Task.FromResult(Presence());

    public async Task<UserPresence> GetPresenceForAsync(string askerId)
    {
        if (askerId == UserId)
        {
            return Presence();
        }

        return state.State.SharePresence && await IsToldPresenceAsync(askerId)
            ? Presence() with { Devices = [] }
            : UserPresence.Hidden(UserId);
    }

    /// <summary>
    /// Whether <paramref name="askerId"/> is one the pushes tell of this user's presence (see <see cref="TellPeersAsync"/>):
    /// a friend or a member of one of the user's small groups, not blocked. False when that cannot be told now: the
    /// presence is hidden rather than shown to someone who might not be entitled to it.
    /// </summary>
    private async Task<bool> IsToldPresenceAsync(string askerId)
    {
        try
        {
            var peer = await GrainFactory.For<Contacts.IContactsGrain>(UserId).IsFriendAsync(askerId)
                || (await GroupPeersAsync()).Contains(askerId);
            return peer && !await GrainFactory.For<Accounts.IAccountGrain>(UserId).IsBlockingAsync(askerId);
        }
        catch (Exception ex)
        {
            LogPresenceNotShown(logger, UserId, ex.Message);
            return false;
        }
    }

    /// <summary>The members of the user's small groups, for presence queries: asked again after <see cref="GroupPeersKnownFor"/>,
    /// or when the user's own groups changed.</summary>
    private async Task<HashSet<string>> GroupPeersAsync()
    {
        var now = clock.UtcNow;
        if (_groupPeers is { } known && now - known.AskedAt < GroupPeersKnownFor)
        {
            return known.Peers;
        }

        var peers = (await SmallGroupsMembersAsync()).SelectMany(members => members).Select(m => m.UserId).ToHashSet(StringComparer.Ordinal);
        _groupPeers = (peers, now);
        return peers;
    }

    /// <summary>
    /// The members of the user's groups small enough for presence (<see cref="UserOptions.PresenceGroupPeersMax"/>); the
    /// groups are asked together, one round trip however many groups the user is in.
    /// </summary>
    private async Task<IEnumerable<IReadOnlyList<Groups.GroupMember>>> SmallGroupsMembersAsync()
    {
        var groups = await Task.WhenAll(_index.Values
            .Where(r => !r.Entry.Removed && GrainKeys.TryParseConversation(r.Entry.ConversationId, out var a) && a.Kind == ConversationKind.Group)
            .Select(r => MembersOrNoneAsync(r.Entry.ConversationId)));
        return groups.Where(g => g.Status == AccessStatus.Ok && g.Members.Count <= options.Value.PresenceGroupPeersMax).Select(g => g.Members);
    }

    /// <summary>A group's members; Unavailable when it cannot answer now: one broken group must not keep the others' members from hearing.</summary>
    private async Task<(AccessStatus Status, IReadOnlyList<Groups.GroupMember> Members)> MembersOrNoneAsync(string conversationId)
    {
        try
        {
            return await GrainFactory.For<IConversationGrain>(conversationId).GetMembersAsync(UserId);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogGroupMembersNotRead(logger, UserId, conversationId, ex.Message);
            return (AccessStatus.Unavailable, []);
        }
    }

    public async Task SetSharePresenceAsync(bool share)
    {
        var was = state.State.SharePresence;
        state.State.SharePresence = share;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Undone, as a profile is (see SetProfileAsync).
            state.State.SharePresence = was;
            throw;
        }

        // Turned off: those who saw a status must not keep showing it (a frozen "online" for as long as their page stays
        // open). Turned on while connected: those allowed see it now (offline, they saw nothing to correct).
        if (was != share && (!share || _devices.Count > 0))
        {
            try
            {
                await TellPeersAsync(share ? null : UserPresence.Hidden(UserId));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // The setting is saved; peers hear of the user at the next change.
                LogPresenceNotAnnounced(logger, UserId, ex.Message);
            }
        }
    }


    public Task OnPresenceAsync(UserPresence presence)
    {
        ArgumentNullException.ThrowIfNull(presence);
        return PushAsync(new PresenceEvent(presence.UserId, presence.Status, presence.LastSeen));
    }

    public Task OnContactsChangedAsync(long version) => PushAsync(new ContactsChangedEvent(version));

    public async Task OnFriendshipChangedAsync(string peerId)
    {
        if (!state.State.SharePresence || !GrainKeys.IsValidUserId(peerId) || peerId == UserId)
        {
            // Not shared: the peer saw no status, friend or not, and has none to correct.
            return;
        }

        // What they may see now: the status for a new friend; hidden for an ex-friend, unless a small group they share
        // still shows it (a frozen "online" would otherwise stay on their screen).
        GrainFactory.For<IUserGrain>(peerId).OnPresenceAsync(await GetPresenceForAsync(peerId)).Ignore();
    }

    private UserPresence Presence() => new(UserId, CurrentStatus(), _devices.Count > 0 ? null : state.State.LastSeen, [.. _devices.Values]);

    /// <summary>Online when a device is connected and not away; away when all are; offline when none is.</summary>
    private PresenceStatus CurrentStatus() =>
        _devices.Count == 0 ? PresenceStatus.Offline
        : _devices.Values.All(d => d.Away) ? PresenceStatus.Away
        : PresenceStatus.Online;

    /// <summary>Announces the status when it differs from what was announced last (offline waits for the grace timer).</summary>
    private async Task AnnounceIfChangedAsync()
    {
        var status = CurrentStatus();
        if (status == _announced || status == PresenceStatus.Offline)
        {
            return;
        }

        if (_announced == PresenceStatus.Offline)
        {
            TellWatchingShops(online: true);
        }

        _announced = status;
        await AnnouncePresenceAsync();
    }

    /// <summary>Stops the grace timer, if any, and makes a tick of it that is already queued a stale one.</summary>
    private void CancelGoingOffline()
    {
        _offlineTimer?.Dispose();
        _offlineTimer = null;
        _offlineGeneration++;
    }

    private async Task GoOfflineAsync(int generation, CancellationToken cancellationToken)
    {
        if (generation != _offlineGeneration)
        {
            // A stale tick: its timer was disposed (the device came back) after the tick was queued.
            return;
        }

        // Disposed only at the end: disposing a timer from its own callback would cancel this very callback.
        var timer = _offlineTimer;
        _offlineTimer = null;
        try
        {
            if (_devices.Count > 0 || _announced == PresenceStatus.Offline)
            {
                return;
            }

            _announced = PresenceStatus.Offline;
            // Nobody is connected: the usual idle collection again, not the devices' keep-alive (non-positive resets it).
            DelayDeactivation(TimeSpan.Zero);
            state.State.LastSeen = clock.UtcNow;
            try
            {
                // Not the timer's token: once offline is decided, the last-seen time is written even if the grain is deactivating.
                await state.WriteStateAsync(CancellationToken.None);
            }
            catch (Exception ex)
            {
                // The timer is the boundary here. The user left whatever storage says: rooms, friends, shops and the firehose
                // are told all the same (the last-seen time is written with the next state write, or lost with the activation).
                LogLastSeenNotSaved(logger, UserId, ex.Message);
                DropIfStale(ex);
            }

            TellWatchingShops(online: false);
            LeaveRooms();
            try
            {
                await AnnouncePresenceAsync();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // As at a login: peers that were told "online" must hear "offline", or they show it for good.
                LogPresenceNotAnnounced(logger, UserId, ex.Message);
                TellPeersLater(attempt: 1);
            }
        }
        finally
        {
            timer?.Dispose();
        }
    }

    public async Task<bool> WatchPresenceForShopAsync(string shopId, bool watch)
    {
        if (GrainKeys.IsValidId(shopId)
            && (watch ? state.State.PresenceWatchingShops.Add(shopId) : state.State.PresenceWatchingShops.Remove(shopId)))
        {
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                // Undone, so that the shop's retry finds the change still to make and writes it (an unchanged set is not
                // written). The activation stays: it holds the user's connected devices, which storage does not.
                if (watch)
                {
                    state.State.PresenceWatchingShops.Remove(shopId);
                }
                else
                {
                    state.State.PresenceWatchingShops.Add(shopId);
                }

                throw;
            }
        }

        return _announced != PresenceStatus.Offline;
    }

    public Task OnRoomJoinedAsync(string roomId, bool joined)
    {
        if (joined)
        {
            _rooms.Add(roomId);
        }
        else
        {
            _rooms.Remove(roomId);
        }

        return Task.CompletedTask;
    }

    private void LeaveRooms()
    {
        foreach (var roomId in _rooms)
        {
            GrainFactory.For<Rooms.IRoomGrain>(roomId).OnMemberOfflineAsync(UserId).Ignore();
        }

        _rooms.Clear();
    }

    /// <summary>Customer service: the queues of the shops this agent works for follow the agent's presence.</summary>
    private void TellWatchingShops(bool online)
    {
        foreach (var shopId in state.State.PresenceWatchingShops)
        {
            GrainFactory.For<CustomerService.ICustomerServiceQueueGrain>(shopId).OnAgentPresenceAsync(UserId, online).Ignore();
        }
    }

    /// <summary>Tells business systems (the firehose) of the announced status, and the user's peers when the user shares presence.</summary>
    private async Task AnnouncePresenceAsync()
    {
        // Business systems (customer service, statistics) hear every announced change; sharing is about other users.
        firehose.Publish(FirehoseEvents.PresenceChanged(UserId, new PresenceEventData(_announced, state.State.LastSeen, _devices.Count), clock.UtcNow));
        await TellPeersAsync();
    }

    /// <summary>
    /// A fan-out that failed at a login is tried again after <see cref="PeersToldAgainAfter"/>, at most
    /// <see cref="PeersToldAgainAttempts"/> times: peers would otherwise hear of the user only at their next change.
    /// </summary>
    private void TellPeersLater(int attempt)
    {
        _peersToldAgainTimer?.Dispose();
        _peersToldAgainTimer = this.RegisterGrainTimer(TellPeersAgainAsync, attempt, new GrainTimerCreationOptions(PeersToldAgainAfter, Timeout.InfiniteTimeSpan)
        {
            Interleave = false,
            KeepAlive = true,
        });
    }

    private async Task TellPeersAgainAsync(int attempt, CancellationToken cancellationToken)
    {
        _peersToldAgainTimer?.Dispose();
        _peersToldAgainTimer = null;
        try
        {
            // The current status (it may have changed since); the firehose heard the change already.
            await TellPeersAsync();
        }
        catch (Exception ex)
        {
            LogPresenceNotAnnounced(logger, UserId, ex.Message);
            if (attempt < PeersToldAgainAttempts)
            {
                TellPeersLater(attempt + 1);
            }
        }
    }

    /// <summary>Tells the user's friends and small groups' members the announced status, when the user shares presence.</summary>
    /// <summary>Tells friends and small groups' members the status (or <paramref name="told"/>: hidden, when withdrawn).</summary>
    private async Task TellPeersAsync(UserPresence? told = null)
    {
        if (told is null && !state.State.SharePresence)
        {
            return;
        }

        var presence = told ?? Presence() with { Devices = [] };
        var peers = new HashSet<string>(StringComparer.Ordinal);
        var contacts = await GrainFactory.For<Contacts.IContactsGrain>(UserId).GetChangesAsync(0);
        peers.UnionWith(contacts.Changed.Where(c => c.State == Contacts.ContactState.Friend).Select(c => c.UserId));
        foreach (var members in await SmallGroupsMembersAsync())
        {
            peers.UnionWith(members.Select(m => m.UserId));
        }

        peers.Remove(UserId);
        if (peers.Count == 0)
        {
            // Nobody to tell, and so no blocklist to ask for: asking activated the user's account grain (a storage
            // read) at every login of a user without friends or small groups.
            return;
        }

        // A blocked user hears nothing of this one: not its messages, not its presence, friend or group peer though it is.
        peers.ExceptWith(await GrainFactory.For<Accounts.IAccountGrain>(UserId).GetBlockedAsync());
        foreach (var peer in peers)
        {
            GrainFactory.For<IUserGrain>(peer).OnPresenceAsync(presence).Ignore();
        }
    }

    public Task<IReadOnlyList<DeviceSession>> GetDevicesAsync() =>
        Task.FromResult<IReadOnlyList<DeviceSession>>([.. _devices.Values]);

    public Task<bool> AddConversationAsync(string conversationId, bool readDiffusion) =>
        AddConversationAsync(conversationId, readDiffusion, joinAtHead: false, last: null);

    /// <summary>
    /// Adds (or brings back) the entry and saves it. A join at the head (<paramref name="joinAtHead"/>) places the new
    /// member at <paramref name="last"/> before that one save: saved first at seq 0 and advanced by a second write, a
    /// join whose second write failed left a stored entry with the whole history unread, which the retry after a
    /// reactivation took for an entry of an earlier membership and kept as it was.
    /// </summary>
    private async Task<bool> AddConversationAsync(string conversationId, bool readDiffusion, bool joinAtHead, ChatMessage? last)
    {
        // A group joined: its members may see the status from now on.
        _groupPeers = null;
        if (!GrainKeys.TryParseConversation(conversationId, out var address))
        {
            return false;
        }

        if (_index.TryGetValue(conversationId, out var row))
        {
            if (!row.Entry.Removed && row.ReadDiffusion == readDiffusion && !joinAtHead)
            {
                if (readDiffusion && _announcedRoutes.Length > 0)
                {
                    // Told again (a group switching its members over once more, an activation of it that knows nobody
                    // online): where this user's devices are is all it needs.
                    GrainFactory.For<IConversationGrain>(conversationId).SetMemberRoutesAsync(UserId, _announcedRoutes).Ignore();
                }

                return await SavedAsync(conversationId);
            }

            _index[conversationId] = row with { ReadDiffusion = readDiffusion };
            Update(conversationId, e => e with { Removed = false });
        }
        else
        {
            _index[conversationId] = new IndexRow(
                new ConversationEntry(conversationId, address.Kind, 0, null, 0, 0, false, false, false, null, false, false, NextVersion()),
                readDiffusion);
        }

        if (joinAtHead)
        {
            StartAtHead(conversationId, last);
        }

        if (!await SaveNowAsync(conversationId))
        {
            return false;
        }

        if (readDiffusion && _announcedRoutes.Length > 0)
        {
            GrainFactory.For<IConversationGrain>(conversationId).SetMemberRoutesAsync(UserId, _announcedRoutes).Ignore();
        }

        await PushAsync(new ConversationUpdatedEvent(_index[conversationId].Entry));
        return true;
    }

    /// <summary>
    /// A new member's entry, in memory: read up to the head (<paramref name="last"/>; what was said before is history to
    /// pull, not unread), with no mention left from before a removal (reading up to the head would not clear it, the read
    /// position being there already).
    /// </summary>
    private void StartAtHead(string conversationId, ChatMessage? last)
    {
        // Also when the entry is past the head already (an attempt that could not save was told the group's notice that
        // added the user meanwhile): its read position still goes to the head, or the retry would save the whole history
        // as unread.
        var entry = _index[conversationId].Entry;
        if (last is not null && (last.Seq > entry.LastSeq || last.Seq > entry.ReadSeq))
        {
            Advance(conversationId, Math.Max(last.Seq, entry.LastSeq), last.Seq >= entry.LastSeq ? MessagePreviews.From(last) : null, last.Seq);
        }

        if (_index[conversationId].Entry.Mentioned)
        {
            Update(conversationId, e => e with { Mentioned = false });
        }
    }

    public async Task<bool> AddConversationAtHeadAsync(string conversationId, ChatMessage? last, long readSeq)
    {
        if (!await AddConversationAsync(conversationId, readDiffusion: false))
        {
            return false;
        }

        if (last is not null && last.Seq > _index[conversationId].Entry.LastSeq)
        {
            Advance(conversationId, last.Seq, MessagePreviews.From(last), 0);
        }

        var entry = _index[conversationId].Entry;
        var read = Math.Min(Math.Max(readSeq, entry.ReadSeq), entry.LastSeq);
        if (read > entry.ReadSeq)
        {
            Update(conversationId, e => e with { ReadSeq = read });
        }

        if (!await SaveNowAsync(conversationId))
        {
            return false;
        }

        await PushAsync(new ConversationUpdatedEvent(_index[conversationId].Entry));
        if (last is not null)
        {
            await PushAsync(new MessageEvent(last));
        }

        return true;
    }

    public Task<bool> AddReadDiffusionConversationAtHeadAsync(string conversationId, ChatMessage? last) =>
        JoinConversationAtHeadAsync(conversationId, readDiffusion: true, last);

    public Task<bool> JoinConversationAtHeadAsync(string conversationId, bool readDiffusion, ChatMessage? last) =>
        JoinAtHeadAsync(conversationId, readDiffusion, last, anew: false);

    public Task<bool> JoinConversationAnewAtHeadAsync(string conversationId, bool readDiffusion, ChatMessage? last) =>
        JoinAtHeadAsync(conversationId, readDiffusion, last, anew: true);

    /// <summary>
    /// A join at the head, unless the entry exists and the join is not <paramref name="anew"/> (a repeated join keeps
    /// the read position it had). Marked as a join not saved until it is: a retry of either call (the answer lost)
    /// still starts at the head.
    /// </summary>
    private async Task<bool> JoinAtHeadAsync(string conversationId, bool readDiffusion, ChatMessage? last, bool anew)
    {
        // An entry an earlier attempt made in memory but could not save is still a new member's: its retry starts it at
        // the head too, not at seq 0 (where the whole history would count as unread).
        var retried = _joinsNotSaved?.Contains(conversationId) == true;
        var existed = !anew && _index.TryGetValue(conversationId, out var before) && !before.Entry.Removed && !retried;
        if (!existed)
        {
            (_joinsNotSaved ??= new(StringComparer.Ordinal)).Add(conversationId);
        }

        if (!await AddConversationAsync(conversationId, readDiffusion, joinAtHead: !existed, last))
        {
            return false;
        }

        _joinsNotSaved?.Remove(conversationId);
        return true;
    }

    public async Task<int> DeliverInstantAsync(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var woken = WakeDevicesForCall(message);
        if (_devices.Count == 0)
        {
            return woken;
        }

        await PushAsync(new MessageEvent(message));
        return _devices.Count + woken;
    }

    public async Task<bool> RemoveConversationAsync(string conversationId)
    {
        // A group left: its members must not see the status from now on.
        _groupPeers = null;
        if (!_index.TryGetValue(conversationId, out var row) || row.Entry.Removed)
        {
            return !_index.ContainsKey(conversationId) || await SavedAsync(conversationId);
        }

        var entry = Update(conversationId, e => e with { Removed = true });
        var saved = await SaveNowAsync(conversationId);
        await PushAsync(new ConversationUpdatedEvent(entry));
        return saved;
    }

    public async Task OnMessageAsync(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Class == MessageClass.Instant)
        {
            await PushAsync(new MessageEvent(message));
            return;
        }

        if (!_index.TryGetValue(message.ConversationId, out var row) || row.Entry.Removed)
        {
            // Not (or no longer) in this conversation as far as the index knows: a stale notice. Nothing to show.
            return;
        }

        var own = message.SenderId == UserId || message.ActingSenderId == UserId;
        // Told before (a conversation's new activation announces its last minutes again; a notice repeated after a lost
        // answer): this activation has notified the devices of it already, and a phone must not ring twice for one message.
        var fresh = message.Seq > row.Entry.LastSeq;
        var readsTo = ReadsTo(message, row.Entry);
        var recounted = false;
        if (fresh)
        {
            // Told of it only now, already taken back (announced again after a restart): never unread.
            Advance(message.ConversationId, message.Seq, MessagePreviews.From(message), readsTo,
                UnreadCounting.Counts(message) ? null : [message.Seq]);
            MarkDirty(message.ConversationId);
        }
        else if (readsTo > row.Entry.ReadSeq)
        {
            // The user's own message, whose seq a sync in progress had already taken from the conversation's head: still
            // read up to it (the user's own message must not show as unread to the user).
            var entry = Update(message.ConversationId, e => e with { ReadSeq = Math.Max(e.ReadSeq, Math.Min(readsTo, e.LastSeq)) });
            MarkDirty(message.ConversationId);
            recounted = entry.UnreadCount != row.Entry.UnreadCount;
        }

        // The peer's message says they read everything before it, even when they never opened the conversation (a reply
        // from a notification, or from a device that shows no conversation): without this the user's last messages
        // stayed unread on the user's screens until the peer read a later one of the user's.
        var peerRead = !own && fresh && row.Entry.Kind == ConversationKind.P2P && message.Seq > row.Entry.PeerReadSeq
            && !RobotReplyIds.TryParseSource(message.ClientMsgId, out _);
        // Told to the devices only when it shows something: a message of the user's own not yet shown read.
        var receipt = peerRead && row.Entry.LastMessage is { } before && before.SenderId == UserId && before.Seq > row.Entry.PeerReadSeq;
        if (peerRead)
        {
            Update(message.ConversationId, e => e with { PeerReadSeq = Math.Max(e.PeerReadSeq, message.Seq) });
            MarkDirty(message.ConversationId);
        }

        // A message that does not count is followed by the entry, for devices that count what is pushed to them.
        recounted |= fresh && !own && !UnreadCounting.Counts(message);
        if (!fresh && !UnreadCounting.Counts(message) && UnreadCounting.IsNewlyUncounted(row.Uncounted, row.Entry.ReadSeq, message.Seq))
        {
            // Told again, taken back since (a recall whose notice was lost with a silo): it stops counting now.
            var entry = Update(message.ConversationId, e => e, [message.Seq]);
            MarkDirty(message.ConversationId);
            recounted = entry.UnreadCount != row.Entry.UnreadCount;
        }

        if (message.RevisedAt is { } revisedAt)
        {
            // Told again, already changed (a conversation announcing its recent messages after a restart): a change that
            // was stored but never announced still reaches the devices' next sync.
            NoteChange(message.ConversationId, revisedAt);
        }

        // A mention flags the entry whether or not the conversation is muted: muting silences notifications, and a
        // mention is exactly what a muted user still wants to find.
        ConversationEntry? mentioned = null;
        if (!own && MentionList.Includes(message.Mentions, UserId) && message.Seq > row.Entry.MentionSeq)
        {
            mentioned = Update(message.ConversationId, e => e with { MentionSeq = message.Seq, Mentioned = e.ReadSeq < message.Seq });
            MarkDirty(message.ConversationId);
        }

        if (!own && fresh)
        {
            // Before the pushes, which may fail (a stream that does not take the event): devices not in the app are told
            // all the same.
            NotifyDevicesNotConnected(message);
        }

        if (mentioned is not null)
        {
            await PushAsync(new ConversationUpdatedEvent(mentioned));
        }

        // The device that sent it has it already (the ack carries seq and time): only the user's other devices are told.
        // In one-device chat that is every sender's copy, half of all pushes of a p2p message.
        await PushAsync(new MessageEvent(message), exceptDeviceId: message.SenderId == UserId ? message.SenderDeviceId : null);
        if (recounted)
        {
            await PushAsync(new ConversationUpdatedEvent(_index[message.ConversationId].Entry));
        }

        if (receipt)
        {
            await PushAsync(new ReadReceiptEvent(message.ConversationId, message.Seq, message.SenderId));
        }
    }

    /// <summary>
    /// How far <paramref name="message"/>, if the user's own, reads the conversation (0: not at all). Writing is reading
    /// what came before; a group's notice of a change the user made (from the group's settings, say) is not: it is read
    /// only when all before it was. Nor is a robot's reply: it is stored while its handler may still run, and only the
    /// robot's own mark says the handler finished (read up to the reply, a restarted robot could not tell a finished
    /// question from one its handler died in, and ran it again).
    /// </summary>
    private long ReadsTo(ChatMessage message, ConversationEntry entry) =>
        (message.SenderId == UserId || message.ActingSenderId == UserId)
        && !RobotReplyIds.TryParseSource(message.ClientMsgId, out _)
        && (!GroupNotices.Is(message.Content) || entry.ReadSeq >= message.Seq - 1) ? message.Seq : 0;

    public async Task OnMessageChangedAsync(ChatMessage message, string actorId)
    {
        ArgumentNullException.ThrowIfNull(message);
        ConversationEntry? recounted = null;
        if (_index.TryGetValue(message.ConversationId, out var row) && !row.Entry.Removed)
        {
            var isLast = row.Entry.LastMessage?.Seq == message.Seq;
            // Unread, and no longer to be read: it stops counting (a seq not told of yet too, once it is).
            var uncount = !UnreadCounting.Counts(message) && UnreadCounting.IsNewlyUncounted(row.Uncounted, row.Entry.ReadSeq, message.Seq);
            if (isLast || uncount)
            {
                var entry = Update(message.ConversationId,
                    e => isLast ? e with { LastMessage = MessagePreviews.From(message) } : e,
                    uncount ? [message.Seq] : null);
                MarkDirty(message.ConversationId);
                recounted = entry.UnreadCount != row.Entry.UnreadCount ? entry : null;
            }
        }

        if (message.RevisedAt is { } revisedAt && _index.TryGetValue(message.ConversationId, out row) && !row.Entry.Removed)
        {
            // Synced with the list: a device that was away sees the conversation changed and fetches what it missed (a
            // change to any message, not only the last, which the preview shows).
            NoteChange(message.ConversationId, revisedAt);
        }

        if (message.State == MessageState.Recalled && _index.TryGetValue(message.ConversationId, out row)
            && row.Entry.Mentioned && row.Entry.MentionSeq == message.Seq)
        {
            // The mention was taken back: the list's "@you" goes with it (only the newest mention is known, so an earlier
            // unread one loses its badge too; showing one for a recalled message would be worse).
            Update(message.ConversationId, e => e with { Mentioned = false });
            MarkDirty(message.ConversationId);
        }

        await PushAsync(new MessageChangedEvent(message, actorId));
        if (recounted is not null && _index.TryGetValue(message.ConversationId, out row))
        {
            // After the change, so a device that counts unread itself and adjusts on a change ends at the count given; the
            // entry as it is now (the mention flag and the change time above moved it on).
            await PushAsync(new ConversationUpdatedEvent(row.Entry));
        }
    }

    public async Task OnReadReceiptAsync(string conversationId, string readerId, long seq)
    {
        if (readerId != UserId && _index.TryGetValue(conversationId, out var row))
        {
            if (seq <= row.Entry.PeerReadSeq)
            {
                // Not news (one-way receipts may arrive out of order): devices already show the peer read further.
                return;
            }

            Update(conversationId, e => e with { PeerReadSeq = seq });
            MarkDirty(conversationId);
        }

        await PushAsync(new ReadReceiptEvent(conversationId, seq, readerId));
    }

    private long NextVersion() => ++_version;

    /// <summary>The entry's latest change (edit, recall, deletion) moves to <paramref name="changedAt"/> if that is later.</summary>
    private void NoteChange(string conversationId, DateTimeOffset changedAt)
    {
        if (_index[conversationId].Entry.ChangedAt is { } known && changedAt <= known)
        {
            return;
        }

        Update(conversationId, e => e with { ChangedAt = changedAt });
        MarkDirty(conversationId);
    }

    /// <summary>
    /// Changes an entry, with a new version; its unread count follows its last seq, its read position and the seqs that
    /// stopped counting (<paramref name="uncount"/> adds to those), whatever the change.
    /// </summary>
    private ConversationEntry Update(string conversationId, Func<ConversationEntry, ConversationEntry> change, IEnumerable<long>? uncount = null)
    {
        var row = _index[conversationId];
        var changed = change(row.Entry);
        var uncounted = UnreadCounting.Settle(row.Uncounted, changed.ReadSeq, uncount);
        var entry = changed with
        {
            UnreadCount = UnreadCounting.Count(changed.LastSeq, changed.ReadSeq, uncounted),
            Version = NextVersion(),
        };
        _index[conversationId] = row with { Entry = entry, Uncounted = uncounted };
        return entry;
    }

    /// <summary>Moves an entry to a newer last seq; <paramref name="ownSeq"/> (the user's own message) counts as read.</summary>
    private void Advance(string conversationId, long lastSeq, MessagePreview? preview, long ownSeq, IEnumerable<long>? uncount = null)
    {
        Update(conversationId, uncount: uncount, change: e =>
        {
            var readSeq = Math.Max(e.ReadSeq, Math.Min(ownSeq, lastSeq));
            return e with
            {
                LastSeq = lastSeq,
                LastMessage = preview ?? e.LastMessage,
                ReadSeq = readSeq,
                Hidden = false,
            };
        });
    }

    /// <summary>
    /// After activation: the stored index may lag the log (a crash before a flush, notices lost with a silo). Each
    /// entry's last seq comes from the log, and the user's own last message counts as read, so unread counts agree
    /// with the log.
    /// </summary>
    private async Task ReconcileWithLogAsync()
    {
        var live = _index.Values.Where(r => !r.Entry.Removed).ToDictionary(r => r.Entry.ConversationId, r => r.Entry.LastSeq, StringComparer.Ordinal);
        if (live.Count == 0)
        {
            return;
        }

        var positions = await log.ReadPositionsAsync(UserId, live);
        foreach (var (conversationId, position) in positions)
        {
            var row = _index[conversationId];
            var entry = row.Entry;
            var readSeq = Math.Max(entry.ReadSeq, position.LastOwnSeq);
            if (position.LastSeq <= entry.LastSeq && readSeq == entry.ReadSeq
                && entry.UnreadCount == UnreadCounting.Count(entry.LastSeq, entry.ReadSeq, row.Uncounted))
            {
                continue;
            }

            var last = position.LastSeq > entry.LastSeq
                ? await log.ReadAsync(conversationId, position.LastSeq - 1, position.LastSeq + 1, 1, newest: false)
                : [];
            Update(conversationId, e => e with
            {
                LastSeq = Math.Max(e.LastSeq, position.LastSeq),
                LastMessage = last.Count == 1 ? MessagePreviews.From(last[0]) : e.LastMessage,
                ReadSeq = readSeq,
            });
            MarkDirty(conversationId);
        }

        await FlushAsync(CancellationToken.None);
    }

    /// <summary>Read diffusion: group and official-account entries catch up with their conversations' heads.</summary>
    private async Task ReconcileGroupsAsync()
    {
        var groups = _index.Values
            .Where(r => !r.Entry.Removed && (r.ReadDiffusion || r.Entry.Kind == Conversations.ConversationKind.Group))
            .Select(r => r.Entry.ConversationId)
            .ToList();
        await Task.WhenAll(groups.Select(ReconcileOrSkipAsync));
    }

    /// <summary>
    /// Squares one entry with its conversation, or leaves it as it is when the conversation cannot answer (its activation
    /// failing on storage, a timeout): one group must not fail the user's whole sync. It is squared at the next sync.
    /// </summary>
    private async Task ReconcileOrSkipAsync(string conversationId)
    {
        try
        {
            await ReconcileAsync(conversationId);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            LogReconcileSkipped(logger, UserId, conversationId, ex.Message);
        }
    }

    private async Task ReconcileAsync(string conversationId)
    {
        var head = await GrainFactory.For<IConversationGrain>(conversationId).GetHeadWithChangesAsync(UserId);
        if (head.Status == AccessStatus.Ok && head.LastChangeAt is { } changedAt)
        {
            // Changes to its messages while the user was offline (read diffusion told only online members): the devices
            // see the conversation changed and fetch them.
            NoteChange(conversationId, changedAt);
        }

        var row = _index[conversationId];
        var entry = row.Entry;
        if (head.Status == AccessStatus.NoAccess)
        {
            // Removed while the notice was lost: the group's answer is the truth.
            Update(conversationId, e => e with { Removed = true });
            MarkDirty(conversationId);
            return;
        }

        if (head.Status != AccessStatus.Ok)
        {
            return;
        }

        // Unread messages taken back or superseded while the user was not told (read diffusion tells only online members).
        var uncount = head.NotCounted?.Where(seq => UnreadCounting.IsNewlyUncounted(row.Uncounted, entry.ReadSeq, seq)).ToList() is { Count: > 0 } seqs
            ? seqs
            : null;
        var last = head.Last;
        if (head.LastSeq > entry.LastSeq)
        {
            // The head the user's own message (its notice still on its way, or lost with a silo): read up to it, as the
            // notice would have made it.
            var headIsLast = last?.Seq == head.LastSeq;
            Advance(conversationId, head.LastSeq, headIsLast ? MessagePreviews.From(last!) : null, headIsLast ? ReadsTo(last!, entry) : 0, uncount);
            MarkDirty(conversationId);
            return;
        }

        // The same last message, changed since (recalled or edited while the user was offline: read diffusion tells only
        // online members): the list must not keep showing what was recalled.
        var preview = last is not null && last.Seq == entry.LastSeq && MessagePreviews.From(last) is var p && p != entry.LastMessage ? p : null;
        if (preview is not null || uncount is not null)
        {
            Update(conversationId, e => preview is not null ? e with { LastMessage = preview } : e, uncount);
            MarkDirty(conversationId);
        }
    }

    /// <summary>
    /// Read diffusion: the user's large groups and official accounts push to the user's devices by their edges' routes
    /// (see <see cref="IConversationGrain.SetMemberRoutesAsync"/>), so they are told whenever the set of routes changes:
    /// the first device connecting, the last leaving, a device on another edge. Not for a device that only reconnects
    /// through the same edge.
    /// </summary>
    private void AnnounceRoutesIfChanged()
    {
        var routes = _pushRoutes.Values.Distinct().ToArray();
        if (routes.Length == _announcedRoutes.Length && routes.All(_announcedRoutes.Contains))
        {
            return;
        }

        _announcedRoutes = routes;
        TellRoutesTo(_index.Values.Where(r => r.ReadDiffusion && !r.Entry.Removed), routes);
    }

    private void TellRoutesTo(IEnumerable<IndexRow> conversations, IEdgePushObserver?[] routes)
    {
        foreach (var row in conversations)
        {
            GrainFactory.For<IConversationGrain>(row.Entry.ConversationId).SetMemberRoutesAsync(UserId, routes).Ignore();
        }
    }

    /// <summary>
    /// Writes one entry now, with whatever else is pending. False when storage could not commit, or refused this entry
    /// (another entry refused does not make this one unsaved).
    /// </summary>
    private async Task<bool> SaveNowAsync(string conversationId)
    {
        MarkDirty(conversationId);
        return await FlushAsync(CancellationToken.None) is { } refused && !refused.Contains(conversationId, StringComparer.Ordinal);
    }

    /// <summary>
    /// True when the entry as it is in memory is stored: a retry that finds the entry as it asks (the first try changed
    /// it in memory, then could not save it) must save it, not answer "saved" for a row only waiting for the next flush,
    /// which a deactivation whose flush fails loses.
    /// </summary>
    private async Task<bool> SavedAsync(string conversationId) =>
        !_dirty.Contains(conversationId) || await SaveNowAsync(conversationId);

    /// <summary>Notes an entry to write, and arms the flush timer if it is not armed yet.</summary>
    private void MarkDirty(string conversationId)
    {
        if (_dirty.Add(conversationId) && _dirty.Count == 1)
        {
            _flushTimer?.Change(options.Value.IndexFlushInterval, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Writes the dirty entries: the conversation ids the store refused as invalid, or null when it could not commit.</summary>
    private async Task<IReadOnlyList<string>?> FlushAsync(CancellationToken cancellationToken)
    {
        if (_dirty.Count == 0)
        {
            return [];
        }

        var rows = _dirty.Select(id => _index[id]).ToList();
        _dirty.Clear();
        IReadOnlyList<string> refused;
        try
        {
            refused = await indexStore.SaveAsync(UserId, rows);
        }
        catch (Exception ex)
        {
            // Whatever failed, none of the rows is known to be stored: keep them dirty for the next flush (the log still
            // holds the truth meanwhile). A row's own fault does not come here: the store refuses that row alone.
            foreach (var row in rows)
            {
                MarkDirty(row.Entry.ConversationId);
            }

            if (!StorageFailures.IsTransient(ex))
            {
                throw;
            }

            LogIndexNotSaved(logger, UserId, ex.Message);
            return null;
        }

        foreach (var conversationId in refused)
        {
            // Not kept dirty: it would fail every flush the same way. Admission refuses what the database cannot store.
            LogIndexRowRefused(logger, UserId, conversationId);
        }

        if (_joinsNotSaved is { Count: > 0 })
        {
            // A join whose own save failed, stored now (at the head, where the join put it in memory): a later add naming
            // the user is a repeat from here on, which keeps the read position, not a retry that moves it to the head.
            foreach (var row in rows)
            {
                if (!refused.Contains(row.Entry.ConversationId, StringComparer.Ordinal))
                {
                    _joinsNotSaved.Remove(row.Entry.ConversationId);
                }
            }
        }

        return refused;
    }

    /// <summary>Pushes to the user's devices, all of them or all but <paramref name="exceptDeviceId"/>.</summary>
    private Task PushAsync(UserEvent userEvent, string? exceptDeviceId = null)
    {
        if (_devices.Count == 0 || (exceptDeviceId is not null && _devices.Count == 1 && _devices.ContainsKey(exceptDeviceId)))
        {
            return Task.CompletedTask;
        }

        // An excepted device's route still carries the batch when another device of the user shares it: the edge skips
        // a device's own message there.
        var routes = exceptDeviceId is null ? _pushRoutes.Values : _pushRoutes.Where(r => r.Key != exceptDeviceId).Select(r => r.Value);
        return publisher.PublishAsync(new UserEventBatch(UserId, [userEvent]), routes);
    }

    [LoggerMessage(1, LogLevel.Warning, "User {UserId}: conversation index not saved: {Reason}")]
    private static partial void LogIndexNotSaved(ILogger logger, string userId, string reason);

    [LoggerMessage(2, LogLevel.Information, "User {UserId}: device {DeviceId} dropped: edge host {EdgeId} did not renew it within {Lease}")]
    private static partial void LogDeviceLeaseLapsed(ILogger logger, string userId, string deviceId, string edgeId, TimeSpan lease);

    [LoggerMessage(26, LogLevel.Information, "User {UserId}: device {DeviceId} dropped: its edge host {EdgeId} was lost")]
    private static partial void LogDeviceEdgeLost(ILogger logger, string userId, string deviceId, string edgeId);

    [LoggerMessage(3, LogLevel.Error, "User {UserId}: the database refused the index entry of {ConversationId} as invalid; it is not saved")]
    private static partial void LogIndexRowRefused(ILogger logger, string userId, string conversationId);

    [LoggerMessage(4, LogLevel.Warning, "User {UserId}: last-seen time not saved (offline is announced all the same): {Reason}")]
    private static partial void LogLastSeenNotSaved(ILogger logger, string userId, string reason);

    [LoggerMessage(5, LogLevel.Warning, "User {UserId}: presence not announced to peers (tried again shortly; a device connecting stays connected): {Reason}")]
    private static partial void LogPresenceNotAnnounced(ILogger logger, string userId, string reason);

    [LoggerMessage(6, LogLevel.Warning, "User {UserId}: presence hidden from a query: who may see it could not be told: {Reason}")]
    private static partial void LogPresenceNotShown(ILogger logger, string userId, string reason);

    [LoggerMessage(25, LogLevel.Warning, "User {UserId}: {ConversationId} not squared with its head at this sync (at the next): {Reason}")]
    private static partial void LogReconcileSkipped(ILogger logger, string userId, string conversationId, string reason);

    [LoggerMessage(27, LogLevel.Warning, "User {UserId}: the members of group {ConversationId} could not be read for presence (its members are not told this time): {Reason}")]
    private static partial void LogGroupMembersNotRead(ILogger logger, string userId, string conversationId, string reason);
}
