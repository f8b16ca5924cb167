using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Im.Events;
using Orleans.Im.Groups;
using Orleans.Im.Messages;
using Orleans.Im.PublicAccounts;
using Orleans.Im.Push;
using Orleans.Im.Storage;
using Orleans.Im.Users;

namespace Orleans.Im.Conversations;

/// <summary>
/// The single writer of a conversation's log (p2p, groups, official accounts and customer service). Non-reentrant: one send at a time is what makes seqs
/// dense and ordered; the log's group commit across conversations keeps that cheap.
/// </summary>
public sealed partial class ConversationGrain(
    [PersistentState("conversation", StorageNames.Grains)] IPersistentState<ConversationState> state,
    IMessageLog log,
    IConversationIndexStore index,
    IEventFirehose firehose,
    ISubscriptionStore subscriptions,
    IUserEventPublisher publisher,
    IOptions<ConversationOptions> options,
    ImClock clock,
    ILogger<ConversationGrain> logger) : Grain, IConversationGrain, IIncomingGrainCallFilter
{
    private readonly ConversationOptions _options = options.Value;
    private readonly RecentMessages _recent = new(options.Value.RecentWindowSize);
    private readonly ClientMsgIdCache _clientMsgIds = new(options.Value.DedupWindowSize);
    private readonly Dictionary<string, SendRateLimiter> _rates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<long>> _hiddenByUser = new(StringComparer.Ordinal);

    /// <summary>How recent a stored message is announced again by a new activation (see AnnounceRecentAfterActivation).</summary>
    private static readonly TimeSpan AnnounceOnActivationWindow = TimeSpan.FromMinutes(2);

    /// <summary>Members whose hidden messages are kept in memory at most (see <see cref="HiddenForAsync"/>).</summary>
    private const int MaxHiddenSetsCached = 4096;

    /// <summary>
    /// Per-sender state kept at most before the idle is forgotten: a large group or official account stays active for
    /// days while members come and go, and kept one entry for every sender it ever heard.
    /// </summary>
    private const int MaxSendersKept = 1024;

    private static readonly IReadOnlySet<long> NothingHidden = new HashSet<long>();

    /// <summary>Members who hid any message here (read once per activation; null until then).</summary>
    private HashSet<string>? _usersWithHidden;
    private readonly TypingThrottle _typing = new();

    /// <summary>When <see cref="ForgetIdleSenders"/> last forgot (it walks every sender kept).</summary>
    private DateTimeOffset _idleSendersForgotten = DateTimeOffset.MinValue;
    private Dictionary<string, long>? _readPositions;

    /// <summary>
    /// Members added or subscribed whose entry has not answered yet: their join is retried anew (see
    /// <c>JoinEntryAsync</c>). Memory only: a retry after this grain moved falls back to an ordinary join.
    /// </summary>
    private HashSet<string>? _joinsAnewPending;
    private ConversationAddress? _address;
    private long _lastSeq;

    /// <summary>When a reply past the head last made the head be read again (see <c>RepliesAheadOfHead</c>).</summary>
    private DateTimeOffset _headCheckedForReply;

    /// <summary>At most one head read a second for replies past the head.</summary>
    private static readonly TimeSpan ReplyHeadCheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>How far past the known head a reply may name a seq and have the head read again: a failover's lag is a few messages.</summary>
    private const long MaxReplyAheadOfHead = 1_000;

    /// <summary>
    /// An append failed in a way that may have committed (the database's answer was lost): the head is reloaded, and
    /// what it holds beyond the known one announced, before this activation serves another send or pull.
    /// </summary>
    private bool _headInDoubt;
    // Customer service: whether the conversation's shop is a shop account (asked before the first message only).
    private bool? _isShop;

    /// <summary>Changes (recall, edit) whose write failed, by seq: the revision tried, which may have been stored, and by whom.</summary>
    private Dictionary<long, (int Revision, string ActorId)>? _revisionsInDoubt;

    /// <summary>
    /// A write of the state failed and it could not be read back at once: memory may claim what storage refused (a
    /// member added, say), so it is read again before the next call is served (<see cref="Invoke"/>).
    /// </summary>
    private bool _stateInDoubt;

    /// <summary>When this activation last revised a message (see <see cref="NextRevisionTime"/>).</summary>
    private DateTimeOffset _lastRevisionAt;

    /// <summary>The latest revision time stored before this activation (see <see cref="GetHeadWithChangesAsync"/>).</summary>
    private Task<DateTimeOffset?>? _lastRevisionLoad;

    private string ConversationId => this.GetPrimaryKeyString();

    private bool IsGroup => _address?.Kind == ConversationKind.Group;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        // P2P, groups, official accounts and customer service have a log here; other kinds get their own grains.
        if (GrainKeys.TryParseConversation(ConversationId, out var address)
            && address.Kind is ConversationKind.P2P or ConversationKind.Group or ConversationKind.CustomerService or ConversationKind.PublicAccount)
        {
            _address = address;
            await LoadHeadAsync();
            if (address.Kind == ConversationKind.PublicAccount && state.State.Initialized)
            {
                await LoadSubscribersAsync();
            }

            AnnounceRecentAfterActivation();
            if (address.Kind == ConversationKind.CustomerService)
            {
                TellQueueOfRecentUserMessage();
            }
            if (state.State.PendingNotices.Count > 0)
            {
                // The previous activation stored a change but not its notice (its silo died, or the log refused it).
                await PostPendingNoticesAsync();
            }

            if (IsGroup && (state.State.EntriesOwed.Count > 0 || state.State.DiffusionSwitchPending))
            {
                // Not awaited here: the user grains asked may call this grain back, which cannot answer while activating.
                ArmOwedEntriesRetry();
            }
        }
    }

    /// <summary>
    /// A silo that crashed between a commit and its fan-out left messages nobody was told of (and a peer's sync does not
    /// compare one-to-one entries with the log). The next activation — usually the sender's retry of the unacked send —
    /// announces again what was stored in the last moments: an activation that follows an idle one (collected after
    /// many idle minutes) finds nothing that recent, and members told twice keep messages by seq.
    /// </summary>
    private void AnnounceRecentAfterActivation()
    {
        var since = clock.UtcNow - AnnounceOnActivationWindow;
        var held = _recent.TryRange(Math.Max(0, _recent.FirstSeq - 1), long.MaxValue, int.MaxValue, newest: false, _lastSeq) ?? [];
        // A notice superseded by one stored in those moments was collapsed then, whenever it was sent itself.
        var supersededBy = new Dictionary<long, DateTimeOffset>();
        var lastOfKey = new Dictionary<(string Sender, string Key), long>();
        foreach (var message in held)
        {
            if (message.CollapseKey is { } key)
            {
                if (lastOfKey.TryGetValue((message.SenderId, key), out var earlier))
                {
                    supersededBy[earlier] = message.ServerTime;
                }

                lastOfKey[(message.SenderId, key)] = message.Seq;
            }
        }

        foreach (var message in held)
        {
            var toldAt = message.State == MessageState.Collapsed && supersededBy.TryGetValue(message.Seq, out var at) ? at : message.ServerTime;
            if (toldAt >= since)
            {
                AnnounceAgain(message);
            }
        }
    }

    public async Task<PullResult> PullAsync(string userId, PullRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!IsMember(userId))
        {
            return new PullResult(AccessStatus.NoAccess, [], 0);
        }

        if (request.Limit is < 1 or > MessageLimits.MaxPullLimit || request.AfterSeq < 0 || request.BeforeSeq < 1)
        {
            return new PullResult(AccessStatus.Invalid, [], _lastSeq);
        }

        var newest = request.BeforeSeq is not null;
        var before = request.BeforeSeq ?? long.MaxValue;
        // Nothing from before the caller's history starts: the range ends there, as a conversation's ends at seq 1.
        var historyStart = HistoryStartFor(userId);
        var after = Math.Max(request.AfterSeq, historyStart);
        try
        {
            if (_headInDoubt)
            {
                await ReloadHeadAsync();
            }

            if (_revisionsInDoubt is { Count: > 0 })
            {
                // A change whose answer was lost may be stored: shown (and told) from now on, not only once its author
                // retries it, which they may never do.
                foreach (var seq in _revisionsInDoubt.Keys.ToList())
                {
                    await SettleRevisionInDoubtAsync(seq);
                }
            }

            var messages = before - after <= 1
                ? []
                : _recent.TryRange(after, before, request.Limit, newest, _lastSeq)
                    ?? await log.ReadAsync(ConversationId, after, before, request.Limit, newest);
            var hidden = await HiddenForAsync(userId);
            if (hidden.Count > 0)
            {
                messages = messages.Select(m => hidden.Contains(m.Seq) ? m with { Content = null, State = MessageState.Deleted } : m).ToList();
            }

            if (_address!.Kind is ConversationKind.CustomerService or ConversationKind.PublicAccount)
            {
                messages = messages.Select(m => ViewFor(userId, m)).ToList();
            }

            return new PullResult(AccessStatus.Ok, messages, _lastSeq,
                IsGroup && state.State.Members.TryGetValue(userId, out var member) ? member.JoinedAfterSeq : 0, historyStart);
        }
        catch (StorageUnavailableException ex)
        {
            LogStorageUnavailable(logger, ConversationId, ex.Message);
            return new PullResult(AccessStatus.Unavailable, [], _lastSeq);
        }
    }

    public async Task<ConversationHead> GetHeadWithChangesAsync(string userId)
    {
        var (status, last, lastSeq) = await GetHeadAsync(userId);
        if (status != AccessStatus.Ok)
        {
            return new ConversationHead(status, null, 0, null);
        }

        DateTimeOffset? stored;
        IReadOnlySet<long>? hidden = null;
        try
        {
            hidden = await HiddenForAsync(userId);
            if (last is not null && hidden.Contains(last.Seq))
            {
                // Deleted for this user: the entry's preview says so, and a sync must not bring the message back into it.
                last = last with { Content = null, State = MessageState.Deleted };
            }

            stored = await LastStoredRevisionTimeAsync();
        }
        catch (StorageUnavailableException ex)
        {
            // Asked again next time; the head itself is still worth answering.
            LogStorageUnavailable(logger, ConversationId, ex.Message);
            stored = null;
        }

        var latest = _lastRevisionAt > (stored ?? DateTimeOffset.MinValue) ? _lastRevisionAt : stored;
        // Only what is held: older unread messages taken back keep counting (a member rarely has that much unread here).
        var notCounted = _recent.Where(m => !UnreadCounting.Counts(m) || hidden?.Contains(m.Seq) == true).ConvertAll(m => m.Seq);
        return new ConversationHead(status, last, lastSeq, latest == DateTimeOffset.MinValue ? null : latest, notCounted);
    }

    /// <summary>
    /// The latest revision time stored before this activation, read once (members sync at once after a restart: one read
    /// for all of them; this activation's own revisions are later). A failed read is tried again next time.
    /// </summary>
    private async Task<DateTimeOffset?> LastStoredRevisionTimeAsync()
    {
        _lastRevisionLoad ??= log.ReadLastRevisionTimeAsync(ConversationId);
        try
        {
            return await _lastRevisionLoad;
        }
        catch (StorageUnavailableException)
        {
            _lastRevisionLoad = null;
            throw;
        }
    }

    /// <summary>Every call: after a failed write, the stored state first (see <see cref="_stateInDoubt"/>).</summary>
    public Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return _stateInDoubt ? ReloadThenInvokeAsync(context) : context.Invoke();
    }

    private async Task ReloadThenInvokeAsync(IIncomingGrainCallContext context)
    {
        // Fails the call while storage is still down, as an activation that cannot read its state would.
        await state.ReadStateAsync();
        _stateInDoubt = false;
        await context.Invoke();
    }

    /// <summary>
    /// After a write of the state failed: back to what is stored, now or before the next call. Not by a new activation:
    /// who is online (and where) lives only in this one, and a large group would stop pushing to them.
    /// </summary>
    private async Task RestoreStoredStateAsync()
    {
        _stateInDoubt = true;
        try
        {
            await state.ReadStateAsync();
            _stateInDoubt = false;
        }
        catch (Exception ex) when (StorageFailures.IsTransient(ex))
        {
            // Read before the next call instead.
        }
    }

    public Task<(AccessStatus Status, ChatMessage? Last, long LastSeq)> GetHeadAsync(string userId) =>
        Task.FromResult(IsMember(userId)
            ? (AccessStatus.Ok, _recent.Last is { } last ? ViewFor(userId, HeadFor(userId, last)) : null, _lastSeq)
            : (AccessStatus.NoAccess, (ChatMessage?)null, 0L));

    public async Task SetBlockedAsync(string userId, bool blocked)
    {
        if (_address?.Kind != ConversationKind.P2P || !IsMember(userId)
            || (blocked ? !state.State.BlockedBy.Add(userId) : !state.State.BlockedBy.Remove(userId)))
        {
            return;
        }

        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Memory must not claim what storage refused: the caller's retry (the account already lists the block) finds
            // the change still to make, and writes it. A stale state's write fails again, so the activation goes too.
            if (blocked)
            {
                state.State.BlockedBy.Remove(userId);
            }
            else
            {
                state.State.BlockedBy.Add(userId);
            }

            DeactivateOnIdle();
            throw;
        }
    }

    /// <summary>P2P: the other user.</summary>
    private string PeerOf(string userId) => userId == _address!.First ? _address.Second! : _address.First;

    private bool IsMember(string? userId) =>
        _address is not null && userId is not null && _address.Kind switch
        {
            ConversationKind.P2P => userId == _address.First || userId == _address.Second,
            ConversationKind.Group => state.State.Initialized && state.State.Members.ContainsKey(userId),
            ConversationKind.CustomerService => IsCustomerServiceMember(userId),
            ConversationKind.PublicAccount => state.State.Initialized && (_subscribers.Contains(userId) || IsBroadcaster(userId)),
            _ => false,
        };

    private IReadOnlyCollection<string> Members() => _address!.Kind switch
    {
        ConversationKind.P2P => new[] { _address.First, _address.Second! },
        ConversationKind.CustomerService => CustomerServiceRecipients(),
        ConversationKind.PublicAccount => _subscribers,
        _ => state.State.Members.Keys,
    };

    private int MemberCount => _address!.Kind == ConversationKind.P2P ? 2 : state.State.Members.Count;

    private bool IsLargeGroup => IsGroup && MemberCount > _options.LargeGroupThreshold;

    /// <summary>Large groups and official accounts: members are not told of every message; they reconcile at sync.</summary>
    private bool IsReadDiffusion => IsLargeGroup || IsPublicAccount;

    private SendResult SendInstant(SendRequest request, DateTimeOffset now, ActingAgent? acting)
    {
        // Not logged, no seq: pushed to whoever is online now, and gone.
        var message = new ChatMessage(ConversationId, 0, request.SenderId, request.SenderDeviceId, request.ClientMsgId,
            MessageClass.Instant, request.Content, now, ActingSenderId: acting?.AgentId, SenderName: acting?.Name);
        foreach (var member in ImmediateRecipients(request.SenderId))
        {
            GrainFactory.For<IUserGrain>(member).OnMessageAsync(ViewFor(member, message)).Ignore();
        }

        return new SendResult(SendStatus.Sent, 0, now);
    }

    private void Accept(ChatMessage message)
    {
        _lastSeq = message.Seq;
        _recent.Add(message);
        _clientMsgIds.Remember(message.SenderId, message.ClientMsgId, message.Seq, message.ServerTime);
        if (message.CollapseKey is { } key)
        {
            foreach (var held in _recent.WithCollapseKey(message.SenderId, key, message.Seq))
            {
                // A revision of its own, so a client that takes changes by revision takes this one over the original.
                var superseded = held with { Content = null, State = MessageState.Collapsed, Revision = held.Revision + 1 };
                _recent.Replace(superseded);
                // Before the notification that supersedes it: a phone told of the new one counts the old one out already.
                FanOutCollapsed(superseded);
            }
        }

        Announce(message);
    }

    /// <summary>A stored message, made known: other systems hear of it, and members are told.</summary>
    private void Announce(ChatMessage message)
    {
        // Stored: other systems hear of it (enqueued only; Redis is never waited for).
        firehose.Publish(FirehoseEvents.MessageSent(message));
        PublishMentions(message);

        FanOut(message);
    }

    /// <summary>
    /// Reloads the head from the log after it proved stale (a seq taken, a retry found stored beyond the head) or may be
    /// (an append failed after it may have committed), and announces the messages stored beyond the head this activation
    /// knew: an append whose commit succeeded but whose answer was lost was never fanned out, and without this nobody
    /// would be told of it, nor could pull it from this activation, until the next message. Another activation's
    /// messages (two for a moment, across a silo failure) may be announced twice: clients keep messages by seq.
    /// </summary>
    private async Task ReloadHeadAsync()
    {
        var known = _lastSeq;
        var shown = _recent.Where(m => m.State != MessageState.Collapsed && m.Seq <= known).Select(m => m.Seq).ToHashSet();
        await LoadHeadAsync();
        _headInDoubt = false;
        foreach (var collapsed in _recent.Where(m => m.State == MessageState.Collapsed && shown.Contains(m.Seq)))
        {
            // Superseded by a message stored beyond the head this activation knew, whose fan-out never happened.
            FanOutCollapsed(collapsed);
        }

        foreach (var message in _recent.TryRange(known, long.MaxValue, int.MaxValue, newest: false, _lastSeq) ?? [])
        {
            AnnounceAgain(message);
            if (message.State != MessageState.Collapsed)
            {
                OnCustomerServiceAppended(message.SenderId,
                    message.ActingSenderId is { } actor ? new ActingAgent(actor, message.SenderName) : null, message.Seq);
            }
        }
    }

    /// <summary>
    /// A stored message told again (members may have missed it): as a message, or, superseded since, as the change that
    /// it collapsed — which members who missed that change still count as unread.
    /// </summary>
    private void AnnounceAgain(ChatMessage message)
    {
        if (message.State == MessageState.Collapsed)
        {
            FanOutCollapsed(message);
        }
        else
        {
            Announce(message);
        }
    }

    private async Task LoadHeadAsync()
    {
        var newest = await log.ReadAsync(ConversationId, 0, long.MaxValue, _options.RecentWindowSize, newest: true);
        _recent.Reset(newest);
        _lastSeq = _recent.Last?.Seq ?? 0;
        foreach (var message in newest)
        {
            _clientMsgIds.Remember(message.SenderId, message.ClientMsgId, message.Seq, message.ServerTime);
        }
    }

    /// <summary>
    /// Before a p2p conversation's first message, both users' entries are created durably, so that a crash can never
    /// leave a conversation out of a user's list.
    /// </summary>
    private async Task EnsureInitializedAsync()
    {
        if (state.State.Initialized)
        {
            return;
        }

        if (_address!.Kind == ConversationKind.CustomerService)
        {
            await InitializeCustomerServiceAsync();
            return;
        }

        if (_address.Kind != ConversationKind.P2P)
        {
            return;
        }

        var added = await Task.WhenAll(Members().Select(m => GrainFactory.For<IUserGrain>(m).AddConversationAsync(ConversationId, readDiffusion: false)));
        if (added.Contains(false))
        {
            throw new StorageUnavailableException("a member's conversation entry could not be saved");
        }

        var now = clock.UtcNow;
        state.State.Initialized = true;
        state.State.CreatedAt = now;
        foreach (var member in Members())
        {
            state.State.Members[member] = new GroupMember(member, GroupRole.Member, now);
        }

        await state.WriteStateAsync();
    }

    private SendRateLimiter RateLimiterFor(string senderId, DateTimeOffset now)
    {
        if (!_rates.TryGetValue(senderId, out var limiter))
        {
            ForgetIdleSenders(now);
            limiter = new SendRateLimiter(_options.SendRatePerSecond, _options.SendBurst);
            _rates[senderId] = limiter;
        }

        return limiter;
    }

    /// <summary>
    /// Once more senders are kept than <see cref="MaxSendersKept"/>: forgets the send rates that are full again and the
    /// typing throttles past their interval, which loses nothing (a new entry starts the same). At most once a minute.
    /// </summary>
    private void ForgetIdleSenders(DateTimeOffset now)
    {
        if (_rates.Count + _typing.Count < MaxSendersKept || now - _idleSendersForgotten < TimeSpan.FromMinutes(1))
        {
            return;
        }

        _idleSendersForgotten = now;
        foreach (var senderId in _rates.Where(r => r.Value.IsFull(now)).Select(r => r.Key).ToList())
        {
            _rates.Remove(senderId);
        }

        _typing.ForgetPast(now);
    }

    /// <summary>
    /// The seqs <paramref name="userId"/> hid. Most members hide nothing: who hid anything is read once per activation,
    /// and only their sets are read and kept, so a large group or official account pulled by its members neither asks
    /// the database at every pull nor keeps a set for every member who ever pulled.
    /// </summary>
    private async Task<IReadOnlySet<long>> HiddenForAsync(string userId)
    {
        if (!(await UsersWithHiddenAsync()).Contains(userId))
        {
            return NothingHidden;
        }

        return await HiddenSetOfAsync(userId);
    }

    /// <summary>
    /// The members who hid anything, read once per activation. Head reads interleave (see
    /// <see cref="IConversationGrain.GetHeadWithChangesAsync"/>): a read that started before a hide may end after it, so
    /// what it brings is merged into the set the hide added to, never put in its place.
    /// </summary>
    private async Task<HashSet<string>> UsersWithHiddenAsync()
    {
        if (_usersWithHidden is { } known)
        {
            return known;
        }

        var read = await log.ReadUsersWithHiddenAsync(ConversationId);
        _usersWithHidden ??= new HashSet<string>(StringComparer.Ordinal);
        _usersWithHidden.UnionWith(read);
        return _usersWithHidden;
    }

    /// <summary>
    /// The user's hidden seqs as the set kept for them (read when not kept; the cache starts over when full); merged, as
    /// in <see cref="UsersWithHiddenAsync"/>, with a set an interleaved call made meanwhile.
    /// </summary>
    private async Task<HashSet<long>> HiddenSetOfAsync(string userId)
    {
        if (_hiddenByUser.TryGetValue(userId, out var hidden))
        {
            return hidden;
        }

        var read = await log.ReadHiddenAsync(userId, ConversationId);
        if (_hiddenByUser.TryGetValue(userId, out hidden))
        {
            hidden.UnionWith(read);
            return hidden;
        }

        if (_hiddenByUser.Count >= MaxHiddenSetsCached)
        {
            // Only members who hid something are here; past this many, the cache starts over rather than grow.
            _hiddenByUser.Clear();
        }

        hidden = [.. read];
        _hiddenByUser[userId] = hidden;
        return hidden;
    }

    [LoggerMessage(1, LogLevel.Warning, "Conversation {ConversationId}: storage unavailable: {Reason}")]
    private static partial void LogStorageUnavailable(ILogger logger, string conversationId, string reason);

    [LoggerMessage(2, LogLevel.Warning, "Conversation {ConversationId}: the log holds seq {Seq} already (a lost commit answer, or another writer); reloading the log head")]
    private static partial void LogSeqTaken(ILogger logger, string conversationId, long seq);

    [LoggerMessage(3, LogLevel.Error, "Conversation {ConversationId}: the log refused a message of {SenderId} ({ClientMsgId}) as invalid; admission should have refused it")]
    private static partial void LogAppendRejected(ILogger logger, string conversationId, string senderId, string clientMsgId);

    [LoggerMessage(4, LogLevel.Warning, "Conversation {ConversationId}: members' blocklists or group settings could not be asked: {Reason}")]
    private static partial void LogGroupAddsUnavailable(ILogger logger, string conversationId, string reason);

    [LoggerMessage(5, LogLevel.Warning, "Conversation {ConversationId}: the group notice {Type} is not posted (the change stands; it is tried again later): {Reason}")]
    private static partial void LogNoticeNotPosted(ILogger logger, string conversationId, string type, string reason);

    [LoggerMessage(21, LogLevel.Error, "Conversation {ConversationId}: the group notice {Type} was refused by the message log for good and is dropped (the change stands): {Reason}")]
    private static partial void LogNoticeDropped(ILogger logger, string conversationId, string type, string reason);

    [LoggerMessage(23, LogLevel.Warning, "Conversation {ConversationId}: {UserId} left the group, but their entry could not be marked removed now (their next sync does): {Reason}")]
    private static partial void LogEntryNotRemoved(ILogger logger, string conversationId, string userId, string reason);
}
