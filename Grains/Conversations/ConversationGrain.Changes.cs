using Orleans.Im.Events;
using Orleans.Im.Groups;
using Orleans.Im.Messages;
using Orleans.Im.Storage;
using Orleans.Im.Users;

namespace Orleans.Im.Conversations;

// Changes to sent messages (recall, edit, delete for self) and read positions.
public sealed partial class ConversationGrain
{
    public async Task<AccessStatus> RecallAsync(string userId, long seq)
    {
        if (!IsMember(userId))
        {
            return AccessStatus.NoAccess;
        }

        if (!InHistoryOf(userId, seq))
        {
            // Not theirs to see, so not theirs to take back either (an admin who joined after it; a member added back).
            return AccessStatus.NotFound;
        }

        if (state.State.DissolvedAt is not null)
        {
            // Read-only: its history stays as it was when it was dissolved.
            return AccessStatus.NotAllowed;
        }

        try
        {
            await SettleRevisionInDoubtAsync(seq);
            var message = await FindAsync(seq);
            if (message is null)
            {
                return AccessStatus.NotFound;
            }

            if (GroupNotices.Is(message.Content))
            {
                // The group's record of a change (who added whom), not its actor's to take back.
                return AccessStatus.NotAllowed;
            }

            // Recalling twice is a success, for those allowed to recall it at all: even past the window, since the retry of
            // a recall whose answer was lost (a reconnect's backoff may carry it past the window) must hear it was done.
            // So is recalling a superseded notice: it is gone already (a recall would bring back a line to show).
            if (message.State is MessageState.Recalled or MessageState.Collapsed && (SentBy(message, userId) || IsManager(userId)))
            {
                return AccessStatus.Ok;
            }

            var bySenderInTime = SentBy(message, userId) && clock.UtcNow - message.ServerTime <= _options.RecallWindow;
            if (!bySenderInTime && !IsManager(userId))
            {
                return AccessStatus.NotAllowed;
            }

            await ReviseAsync(message with { Content = null, State = MessageState.Recalled, Revision = message.Revision + 1 }, userId);
            return AccessStatus.Ok;
        }
        catch (StorageUnavailableException ex)
        {
            LogStorageUnavailable(logger, ConversationId, ex.Message);
            return AccessStatus.Unavailable;
        }
    }

    public async Task<AccessStatus> EditAsync(string userId, long seq, MessageContent content)
    {
        if (!IsMember(userId))
        {
            return AccessStatus.NoAccess;
        }

        if (!InHistoryOf(userId, seq))
        {
            return AccessStatus.NotFound;
        }

        if (state.State.DissolvedAt is not null)
        {
            return AccessStatus.NotAllowed;
        }

        // What a message answers is not the edit's to say (kept below): a client's value, whatever it is, is not looked at.
        if (content is null)
        {
            return AccessStatus.Invalid;
        }

        content = content with { ReplyToSeq = null };

        // Typing and call signals are instant: a stored message edited into one would be stored as one.
        if (MessageValidator.Validate(content) is not null || TypingIndicator.Is(content) || CallSignal.Is(content))
        {
            return AccessStatus.Invalid;
        }

        try
        {
            await SettleRevisionInDoubtAsync(seq);
            var message = await FindAsync(seq);
            if (message is null)
            {
                return AccessStatus.NotFound;
            }

            if (!SentBy(message, userId)
                || message.State is MessageState.Recalled or MessageState.Collapsed
                || message.Class != MessageClass.Persistent
                || GroupNotices.Is(message.Content)
                || clock.UtcNow - message.ServerTime > _options.EditWindow
                // An edit reaches the peer as a message does (pushed, the list's preview): one who blocked the sender
                // takes neither. Recalling stays allowed: it only takes something back.
                || (_address!.Kind == ConversationKind.P2P && state.State.BlockedBy.Contains(PeerOf(message.SenderId))))
            {
                return AccessStatus.NotAllowed;
            }

            // What a message answers is part of where it stands, not of what it says: an edit (which need not repeat it)
            // keeps it, and cannot make it a reply to something else.
            content = content with { ReplyToSeq = message.Content?.ReplyToSeq };
            await ReviseAsync(message with { Content = content, State = MessageState.Edited, Revision = message.Revision + 1 }, userId);
            return AccessStatus.Ok;
        }
        catch (StorageUnavailableException ex)
        {
            LogStorageUnavailable(logger, ConversationId, ex.Message);
            return AccessStatus.Unavailable;
        }
    }

    /// <summary>
    /// Whether <paramref name="userId"/> wrote the message: as its sender, or as the person who sent it in a shop's or an
    /// official account's name (an agent, an operator), whose message is stored under that name, while they still act
    /// for it (an operator removed from the account, now only a subscriber, does not; an agent who lost the session is
    /// no member any more).
    /// </summary>
    private bool SentBy(ChatMessage message, string userId) =>
        message.SenderId == userId || (message.ActingSenderId == userId && (!IsPublicAccount || IsBroadcaster(userId)));

    public async Task<AccessStatus> DeleteForSelfAsync(string userId, long seq)
    {
        if (!IsMember(userId))
        {
            return AccessStatus.NoAccess;
        }

        if (seq < 1 || seq > _lastSeq || !InHistoryOf(userId, seq))
        {
            return AccessStatus.NotFound;
        }

        try
        {
            if (!(await HiddenForAsync(userId)).Contains(seq))
            {
                var message = await FindAsync(seq);
                // The same clock as revisions: devices fetch this user's changes after the last one they saw.
                var at = NextRevisionTime();
                await log.HideAsync(userId, ConversationId, seq, at);
                (await UsersWithHiddenAsync()).Add(userId);
                (await HiddenSetOfAsync(userId)).Add(seq);
                if (message is not null)
                {
                    // The user's other devices stop showing it, and the list's preview with them (if it was the last).
                    var deleted = ViewFor(userId, message with { Content = null, State = MessageState.Deleted, RevisedAt = at });
                    GrainFactory.For<IUserGrain>(userId).OnMessageChangedAsync(deleted, userId).Ignore();
                }
            }

            return AccessStatus.Ok;
        }
        catch (StorageUnavailableException ex)
        {
            _hiddenByUser.Remove(userId);
            LogStorageUnavailable(logger, ConversationId, ex.Message);
            return AccessStatus.Unavailable;
        }
    }

    public async Task<(AccessStatus Status, int ReadBy)> GetReadCountAsync(string userId, long seq)
    {
        if (!IsMember(userId))
        {
            return (AccessStatus.NoAccess, 0);
        }

        if (!InHistoryOf(userId, seq))
        {
            return (AccessStatus.NotFound, 0);
        }

        try
        {
            var message = await FindAsync(seq);
            if (message is null)
            {
                return (AccessStatus.NotFound, 0);
            }

            var positions = await ReadPositionsAsync();
            // A member who joined after the message starts reading at the head: that is not having read it.
            var readBy = positions.Count(p => p.Value >= seq && p.Key != message.SenderId && IsMember(p.Key) && JoinedBefore(p.Key, seq));
            return (AccessStatus.Ok, readBy);
        }
        catch (StorageUnavailableException ex)
        {
            LogStorageUnavailable(logger, ConversationId, ex.Message);
            return (AccessStatus.Unavailable, 0);
        }
    }

    /// <summary>Whether <paramref name="userId"/> was a member when <paramref name="seq"/> was sent (p2p: always).</summary>
    private bool JoinedBefore(string userId, long seq) =>
        !IsGroup || !state.State.Members.TryGetValue(userId, out var member) || member.JoinedAfterSeq < seq;

    public async Task OnReadAsync(string userId, long seq)
    {
        if (!IsMember(userId))
        {
            return;
        }

        firehose.Publish(FirehoseEvents.Read(ConversationId, userId, seq, clock.UtcNow));
        if (_readPositions is not null)
        {
            _readPositions[userId] = Math.Max(seq, _readPositions.GetValueOrDefault(userId));
        }

        // P2P: the peer is told at once (read receipt), unless the reader blocks them (a receipt would show the blocked
        // user when the blocker is active). Groups: positions are read as "read by N" on demand.
        if (_address!.Kind == ConversationKind.P2P && !state.State.BlockedBy.Contains(userId))
        {
            await GrainFactory.For<IUserGrain>(PeerOf(userId)).OnReadReceiptAsync(ConversationId, userId, seq);
        }
    }

    /// <summary>
    /// Who may recall anybody's message at any time: a group's owner and admins, and an official account itself (a
    /// broadcast found wrong later must not stay in every subscriber's history for good; its operators keep to their
    /// own broadcasts within the window).
    /// </summary>
    private bool IsManager(string userId) =>
        (IsGroup && state.State.Members.TryGetValue(userId, out var member) && member.Role >= GroupRole.Admin)
        || (IsPublicAccount && state.State.Initialized && userId == _address!.First);

    private async Task<ChatMessage?> FindAsync(long seq)
    {
        if (seq < 1 || seq > _lastSeq)
        {
            return null;
        }

        if (_recent.Find(seq) is { } held)
        {
            return held;
        }

        var found = await log.ReadAsync(ConversationId, seq - 1, seq + 1, 1, newest: false);
        return found.Count == 1 ? found[0] : null;
    }

    private async Task ReviseAsync(ChatMessage revised, string actorId)
    {
        // After every revision stored before this activation too (another silo's clock may have been ahead).
        if (await LastStoredRevisionTimeAsync() is { } stored && stored > _lastRevisionAt)
        {
            _lastRevisionAt = stored;
        }

        revised = revised with { RevisedAt = NextRevisionTime() };
        try
        {
            await log.AppendRevisionAsync(ConversationId, revised.Seq, revised.Revision, revised.State, revised.Content, actorId, revised.RevisedAt.Value);
        }
        catch (StorageUnavailableException)
        {
            // It may have been stored all the same (the answer lost): then every retry would meet its own revision
            // number taken, and the held copy would keep serving the old content. The next change reads it back first.
            (_revisionsInDoubt ??= [])[revised.Seq] = (revised.Revision, actorId);
            throw;
        }

        await AnnounceRevisionAsync(revised, actorId);
    }

    /// <summary>
    /// Now, to the millisecond (what the wire carries), and after every revision this activation made: devices fetch the
    /// changes after the last one they saw, so two changes at one instant would hide the second.
    /// </summary>
    private DateTimeOffset NextRevisionTime()
    {
        var now = clock.UtcNow;
        now = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMillisecond), TimeSpan.Zero);
        _lastRevisionAt = now > _lastRevisionAt ? now : _lastRevisionAt.AddMilliseconds(1);
        return _lastRevisionAt;
    }

    public async Task<ChangesResult> PullChangesAsync(string userId, DateTimeOffset after, int limit)
    {
        if (!IsMember(userId))
        {
            return new ChangesResult(AccessStatus.NoAccess, [], false);
        }

        if (limit is < 1 or > MessageLimits.MaxPullLimit)
        {
            return new ChangesResult(AccessStatus.Invalid, [], false);
        }

        try
        {
            // One more than asked: whether more follow.
            var revised = await log.ReadChangedAsync(ConversationId, userId, HistoryStartFor(userId), after, limit + 1);
            var hidden = await HiddenForAsync(userId);
            var messages = revised.Take(limit)
                .Select(m => ViewFor(userId, hidden.Contains(m.Seq) ? m with { Content = null, State = MessageState.Deleted } : m))
                .ToList();
            return new ChangesResult(AccessStatus.Ok, messages, revised.Count > limit);
        }
        catch (StorageUnavailableException ex)
        {
            LogStorageUnavailable(logger, ConversationId, ex.Message);
            return new ChangesResult(AccessStatus.Unavailable, [], false);
        }
    }

    /// <summary>
    /// Before a change to <paramref name="seq"/> whose previous change failed: reads the message back, and when that
    /// change was stored after all, the held copy catches up and members are told of it now.
    /// </summary>
    private async Task SettleRevisionInDoubtAsync(long seq)
    {
        if (_revisionsInDoubt is null || !_revisionsInDoubt.TryGetValue(seq, out var tried))
        {
            return;
        }

        var found = await log.ReadAsync(ConversationId, seq - 1, seq + 1, 1, newest: false);
        _revisionsInDoubt.Remove(seq);
        if (found.Count == 1 && found[0].Revision >= tried.Revision)
        {
            // Told as the change of whoever made it, not of whoever asks next.
            await AnnounceRevisionAsync(found[0], tried.ActorId);
        }
    }

    private async Task AnnounceRevisionAsync(ChatMessage revised, string actorId)
    {
        _recent.Replace(revised);
        firehose.Publish(FirehoseEvents.MessageChanged(revised, actorId, clock.UtcNow));
        IReadOnlySet<string>? hiders = null;
        try
        {
            hiders = await HidersOfAsync(revised.Seq);
        }
        catch (StorageUnavailableException ex)
        {
            // The change is stored: it is told all the same (a member who hid the message may see the edit once).
            LogStorageUnavailable(logger, ConversationId, ex.Message);
        }

        foreach (var member in ImmediateRecipients(actorId))
        {
            if (hiders?.Contains(member) == true || !InHistoryOf(member, revised.Seq))
            {
                // Deleted for them (an edit must not bring its content back to their devices or their list), or said
                // before their history starts.
                continue;
            }

            // An agent's or operator's change is the shop's or account's to those who never see who wrote it (the
            // customer, subscribers): their view of the message hides the writer, and so does the change's actor.
            var view = ViewFor(member, revised);
            var actorShown = view.ActingSenderId is null && revised.ActingSenderId == actorId ? revised.SenderId : actorId;
            GrainFactory.For<IUserGrain>(member).OnMessageChangedAsync(view, actorShown).Ignore();
        }
    }

    /// <summary>
    /// The members who hid <paramref name="seq"/>; null when none did. One query for the message, not one per member who
    /// ever hid anything (an official account's edit read every such subscriber's set in turn), and none while nobody
    /// has hidden anything here.
    /// </summary>
    private async Task<IReadOnlySet<string>?> HidersOfAsync(long seq)
    {
        if ((await UsersWithHiddenAsync()).Count == 0)
        {
            return null;
        }

        var hiders = await log.ReadHidersAsync(ConversationId, seq);
        return hiders.Count == 0 ? null : hiders.ToHashSet(StringComparer.Ordinal);
    }

    private async Task<Dictionary<string, long>> ReadPositionsAsync()
    {
        if (_readPositions is null)
        {
            var stored = await index.LoadReadPositionsAsync(ConversationId);
            _readPositions = new Dictionary<string, long>(stored, StringComparer.Ordinal);
        }

        return _readPositions;
    }
}
