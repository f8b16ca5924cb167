using System.Diagnostics.CodeAnalysis;
using Orleans.Im.Accounts;
using Orleans.Im.Events;
using Orleans.Im.Groups;
using Orleans.Im.Messages;
using Orleans.Im.Storage;
using Orleans.Im.Users;

namespace Orleans.Im.Conversations;

// Group management: creation, members and roles, announcement.
public sealed partial class ConversationGrain
{
    /// <summary>Notices waiting for the log (see <see cref="PendingGroupNotice"/>) before the oldest is given up.</summary>
    private const int MaxPendingNotices = 100;

    public async Task<GroupResult> CreateGroupAsync(CreateGroupRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!IsGroup)
        {
            return new GroupResult(AccessStatus.NoAccess, null, "not a group conversation id");
        }

        if (state.State.Initialized)
        {
            // A retry of the same creation (its first attempt may have failed after the state was written) finishes
            // the members' entries; anything else is a conflict.
            if (state.State.OwnerId != request.OwnerId)
            {
                return new GroupResult(AccessStatus.Conflict, null, "the group exists");
            }

            if (request.MemberIds?.Count > _options.MaxGroupMembers)
            {
                // Checked on a retry too: each id named is asked of its account grain below.
                return new GroupResult(AccessStatus.Invalid, null, $"a group has at most {_options.MaxGroupMembers} members");
            }

            // Owed ones are made by the settling (anew); made here too, a later settling would start them at the head
            // again, over what they had not read yet.
            var owedBefore = state.State.EntriesOwed.ToHashSet(StringComparer.Ordinal);
            var settled = await SettleEntriesOwedAsync();
            var finished = await AddEntriesAsync(Members().Where(m => !owedBefore.Contains(m))) ?? settled;
            await PostPendingNoticesAsync();
            if (finished is not null)
            {
                return finished;
            }

            // Told again who was left out: the first answer, which said so, may be the one that was lost.
            var named = (request.MemberIds ?? []).Where(id => GrainKeys.IsValidUserId(id) && !state.State.Members.ContainsKey(id)).Distinct(StringComparer.Ordinal);
            return await RefusingAsync(request.OwnerId, named) is { } refused
                ? Ok() with { NotAdded = refused.Told }
                : new GroupResult(AccessStatus.Unavailable, Info(), "could not check the members' privacy settings; try again");
        }

        if (!GrainKeys.IsValidUserId(request.OwnerId)
            || request.Name is null || !IsValidName(request.Name.Trim())
            || request.MemberIds is null || request.MemberIds.Any(id => !GrainKeys.IsValidUserId(id)))
        {
            return new GroupResult(AccessStatus.Invalid, null, "a group needs a valid owner, a name of 1-" + CreateGroupRequest.MaxNameLength + " characters and valid member ids");
        }

        var members = request.MemberIds.Append(request.OwnerId).Distinct(StringComparer.Ordinal).ToList();
        if (members.Count > _options.MaxGroupMembers)
        {
            return new GroupResult(AccessStatus.Invalid, null, $"a group has at most {_options.MaxGroupMembers} members");
        }

        if (await RefusingAsync(request.OwnerId, members) is not { } refusals)
        {
            return new GroupResult(AccessStatus.Unavailable, null, "could not check the members' privacy settings; try again");
        }

        members.RemoveAll(refusals.Refused.Contains);

        var now = clock.UtcNow;
        state.State.Initialized = true;
        state.State.Name = request.Name.Trim();
        state.State.OwnerId = request.OwnerId;
        state.State.CreatedAt = now;
        state.State.HidesHistoryFromNewMembers = request.HidesHistoryFromNewMembers ?? true;
        state.State.Members = members.ToDictionary(
            id => id,
            id => new GroupMember(id, id == request.OwnerId ? GroupRole.Owner : GroupRole.Member, now),
            StringComparer.Ordinal);
        Stage(GroupNotice.About(GroupNotices.Created, request.OwnerId, [.. members.Where(m => m != request.OwnerId)])
            with { Name = state.State.Name });
        var created = GroupEvent("group.created", request.OwnerId, new GroupEventData([.. members], Name: state.State.Name));
        state.State.EntriesOwed = [.. members];
        if (await SaveAsync(created) is { } failed)
        {
            return failed;
        }

        // The notice after the entries, so that the members' lists take it as their first message.
        var entries = await SettleEntriesOwedAsync();
        await PostPendingNoticesAsync();
        return entries ?? Ok() with { NotAdded = refusals.Told };
    }

    /// <summary>
    /// Of <paramref name="candidates"/>, those who may not be put in a group by <paramref name="actorId"/>: who block
    /// that user (who could otherwise reach them there: messages, mentions, presence to group peers, past the block; left
    /// out without a word, as a blocked user's messages are), and who let only friends add them, which the caller is told
    /// (<see cref="GroupResult.NotAdded"/>). Null when an account could not be asked.
    /// </summary>
    private async Task<GroupAddRefusals?> RefusingAsync(string actorId, IEnumerable<string> candidates)
    {
        var asked = candidates.Where(id => id != actorId).ToList();
        try
        {
            var answers = await Task.WhenAll(asked.Select(id => GrainFactory.For<IAccountGrain>(id).GroupAddFromAsync(actorId)));
            return new GroupAddRefusals(
                [.. asked.Where((_, i) => answers[i] != GroupAddAnswer.Allowed)],
                [.. asked.Where((_, i) => answers[i] == GroupAddAnswer.ContactsOnly)]);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // Whatever went wrong (a timeout, an account grain whose activation failed on storage): ask again later.
            LogGroupAddsUnavailable(logger, ConversationId, ex.Message);
            return null;
        }
    }

    /// <summary>
    /// Of <paramref name="candidates"/>, those who block <paramref name="actorId"/>: they are not put in a group by that
    /// user, who could otherwise reach them there (messages, mentions, presence to group peers) past the block. Left out
    /// without a word, as a blocked user's messages are. Null when an account could not be asked.
    /// </summary>
    private async Task<HashSet<string>?> BlockingAsync(string actorId, IEnumerable<string> candidates)
    {
        var asked = candidates.Where(id => id != actorId).ToList();
        try
        {
            var blocks = await Task.WhenAll(asked.Select(id => GrainFactory.For<IAccountGrain>(id).IsBlockingAsync(actorId)));
            return [.. asked.Where((_, i) => blocks[i])];
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // Whatever went wrong (a timeout, an account grain whose activation failed on storage): ask again later.
            LogGroupAddsUnavailable(logger, ConversationId, ex.Message);
            return null;
        }
    }

    public async Task<GroupResult> AddMembersAsync(string actorId, IReadOnlyList<string> userIds)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        if (Deny(actorId, GroupRole.Admin) is { } denied)
        {
            return denied;
        }

        if (userIds.Any(id => !GrainKeys.IsValidUserId(id)))
        {
            return new GroupResult(AccessStatus.Invalid, Info(), "invalid user id");
        }

        var requested = userIds.Distinct(StringComparer.Ordinal).ToList();
        if (MemberCount + requested.Count(id => !state.State.Members.ContainsKey(id)) > _options.MaxGroupMembers)
        {
            // Before any account is asked: a list far over the limit costs nothing.
            return new GroupResult(AccessStatus.Invalid, Info(), $"a group has at most {_options.MaxGroupMembers} members");
        }

        if (await RefusingAsync(actorId, requested.Where(id => !state.State.Members.ContainsKey(id))) is not { } refusals)
        {
            return new GroupResult(AccessStatus.Unavailable, Info(), "could not check the members' privacy settings; try again");
        }

        requested.RemoveAll(refusals.Refused.Contains);
        var added = requested.Where(id => !state.State.Members.ContainsKey(id)).ToList();
        if (added.Count == 0)
        {
            // Members already: maybe a retry of an add whose state was saved but not every new member's entry (their
            // user grain could not commit). The entries are made now; one that exists is left as it is.
            // Owed ones are made anew (their read position starts at the join); the others keep theirs.
            var owedBefore = state.State.EntriesOwed.ToHashSet(StringComparer.Ordinal);
            var settled = await SettleEntriesOwedAsync();
            var rejoined = await JoinEntriesAsync(requested.Where(id => !owedBefore.Contains(id))) ?? settled;
            var switchedNow = await SwitchEntriesIfPendingAsync(requested);
            await PostPendingNoticesAsync();
            return switchedNow ?? rejoined ?? Ok() with { NotAdded = refusals.Told };
        }

        if (_headInDoubt)
        {
            // A commit whose answer was lost may have stored messages past what this activation knows: a new member joins
            // after them (their history starts at the join), not before, where they could read what was said before.
            try
            {
                await ReloadHeadAsync();
            }
            catch (Exception ex) when (StorageFailures.IsTransient(ex))
            {
                LogStorageUnavailable(logger, ConversationId, ex.Message);
                return new GroupResult(AccessStatus.Unavailable, Info(), "storage unavailable; retry");
            }
        }

        if (state.State.PendingNotices.Count > 0)
        {
            // Notices of changes made before the join go into the log before it: posted after, they would be in the new
            // members' history (who was removed, the announcement as it was).
            await PostPendingNoticesAsync();
            if (state.State.PendingNotices.Count > 0)
            {
                return new GroupResult(AccessStatus.Unavailable, Info(), "storage unavailable; retry");
            }
        }

        var wasLarge = IsLargeGroup;
        var now = clock.UtcNow;
        foreach (var id in added)
        {
            state.State.Members[id] = new GroupMember(id, GroupRole.Member, now, _lastSeq,
                state.State.HidesHistoryFromNewMembers ? _lastSeq : 0);
        }

        // Crossing the large-group threshold changes how every member learns of messages: they are all told, and until
        // they all were, the group remembers to tell them (stored with the members, so a failed attempt is retried).
        state.State.DiffusionSwitchPending |= wasLarge != IsLargeGroup;
        // Owed until their user grains confirm, stored with the membership: made again by a timer if not now.
        state.State.EntriesOwed.AddRange(added);
        Stage(GroupNotice.About(GroupNotices.MembersAdded, actorId, added));
        var addedEvent = GroupEvent("group.members_added", actorId, new GroupEventData([.. added]));
        if (await SaveAsync(addedEvent) is { } failed)
        {
            return failed;
        }

        // Both, whatever the first answers: a new member's entry that could not be saved must not leave the others
        // learning of messages the old way (a large group pushes only to members whose entries say so).
        var joined = await SettleEntriesOwedAsync();
        var switched = await SwitchEntriesIfPendingAsync(added);
        if (switched is not null)
        {
            ArmOwedEntriesRetry();
        }
        // The notice after the new members' entries start at the head, so that they are told it too ("alice added you").
        await PostPendingNoticesAsync();
        return switched ?? joined ?? Ok() with { NotAdded = refusals.Told };
    }

    /// <summary>
    /// After the group crossed the large-group threshold: every member's entry (but <paramref name="joined"/>', made
    /// just now the new way) learns of messages the group's way now; done, the group stops remembering to.
    /// </summary>
    private async Task<GroupResult?> SwitchEntriesIfPendingAsync(IEnumerable<string> joined)
    {
        if (!state.State.DiffusionSwitchPending)
        {
            return null;
        }

        // As joins: an entry that exists is only switched, and one that does not (a join whose entry was never stored)
        // starts at the head, not at seq 0 with the whole history, hidden part included, unread.
        // Owed entries are left to their settling, which makes them the group's way now.
        if (await JoinEntriesAsync(Members().Except(joined, StringComparer.Ordinal).Except(state.State.EntriesOwed, StringComparer.Ordinal)) is { } notAll)
        {
            return notAll;
        }

        state.State.DiffusionSwitchPending = false;
        return await SaveAsync();
    }

    public async Task<GroupResult> RemoveMemberAsync(string actorId, string userId)
    {
        if (Deny(actorId, GroupRole.Admin) is { } denied)
        {
            return denied;
        }

        if (userId is null || !state.State.Members.TryGetValue(userId, out var target))
        {
            return new GroupResult(AccessStatus.NotFound, Info(), "not a member");
        }

        var actor = state.State.Members[actorId];
        if (userId == actorId || target.Role >= actor.Role)
        {
            return new GroupResult(AccessStatus.NotAllowed, Info(), "owners remove admins and members, admins remove members; to leave, use leave");
        }

        return await RemoveAsync(userId, actorId, "group.member_removed", GroupNotice.About(GroupNotices.MemberRemoved, actorId, [userId]));
    }

    public async Task<GroupResult> LeaveAsync(string userId)
    {
        if (!IsGroup || !IsMember(userId))
        {
            return new GroupResult(AccessStatus.NoAccess, null, "no such group");
        }

        string? newOwnerId = null;
        if (state.State.OwnerId == userId)
        {
            // Ownership passes to the longest-standing admin, else the longest-standing member.
            var heir = state.State.Members.Values
                .Where(m => m.UserId != userId)
                .OrderByDescending(m => m.Role)
                .ThenBy(m => m.JoinedAt)
                .FirstOrDefault();
            state.State.OwnerId = newOwnerId = heir?.UserId;
            if (heir is not null)
            {
                state.State.Members[heir.UserId] = heir with { Role = GroupRole.Owner };
            }
        }

        // Leaving a dissolved group posts nothing: it is read-only, and the members leave it one by one as they please.
        return await RemoveAsync(userId, userId, "group.member_left", state.State.DissolvedAt is not null
            ? null
            : GroupNotice.About(GroupNotices.MemberLeft, userId, [userId]) with { NewOwnerId = newOwnerId });
    }

    public async Task<GroupResult> SetRoleAsync(string actorId, string userId, GroupRole role)
    {
        if (Deny(actorId, GroupRole.Owner) is { } denied)
        {
            return denied;
        }

        if (userId is null || !state.State.Members.TryGetValue(userId, out var target))
        {
            return new GroupResult(AccessStatus.NotFound, Info(), "not a member");
        }

        if (userId == actorId || !Enum.IsDefined(role))
        {
            return new GroupResult(AccessStatus.Invalid, Info(), "set another member's role");
        }

        if (target.Role == role)
        {
            // A retry, or nothing new: no second notice to every member.
            return Ok();
        }

        if (role == GroupRole.Owner)
        {
            // Handing over ownership: the old owner stays as an admin.
            state.State.Members[actorId] = state.State.Members[actorId] with { Role = GroupRole.Admin };
            state.State.OwnerId = userId;
        }

        state.State.Members[userId] = target with { Role = role };
        return await CommitChangeAsync(GroupNotice.About(GroupNotices.RoleChanged, actorId, [userId]) with { Role = role },
            GroupEvent("group.role_changed", actorId, new GroupEventData([userId], role)));
    }

    /// <summary>
    /// A group's name: 1 to <see cref="CreateGroupRequest.MaxNameLength"/> characters, not all blank. Notices quote it, and
    /// a notice the log cannot store (a NUL, half an emoji) would never be posted.
    /// </summary>
    private static bool IsValidName([NotNullWhen(true)] string? name) =>
        !string.IsNullOrWhiteSpace(name) && name.Length <= CreateGroupRequest.MaxNameLength && StorableText.IsStorable(name);

    public async Task<GroupResult> RenameGroupAsync(string actorId, string name)
    {
        if (Deny(actorId, GroupRole.Admin) is { } denied)
        {
            return denied;
        }

        var next = name?.Trim();
        if (!IsValidName(next))
        {
            return new GroupResult(AccessStatus.Invalid, Info(), $"a group's name has 1-{CreateGroupRequest.MaxNameLength} characters, all storable text");
        }

        if (next == state.State.Name)
        {
            // A retry, or nothing new: no second notice.
            return Ok();
        }

        var previous = state.State.Name;
        state.State.Name = next;
        return await CommitChangeAsync(new GroupNotice(GroupNotices.Renamed, actorId, [], 0, Name: next),
            GroupEvent("group.renamed", actorId, new GroupEventData([], Name: next, PreviousName: previous)));
    }

    public async Task<GroupResult> SetAnnouncementAsync(string actorId, string? announcement)
    {
        if (Deny(actorId, GroupRole.Admin) is { } denied)
        {
            return denied;
        }

        if (announcement?.Length > CreateGroupRequest.MaxAnnouncementLength || !StorableText.IsStorable(announcement))
        {
            return new GroupResult(AccessStatus.Invalid, Info(), $"an announcement has at most {CreateGroupRequest.MaxAnnouncementLength} characters, all storable text");
        }

        var next = string.IsNullOrWhiteSpace(announcement) ? null : announcement;
        if (next == state.State.Announcement)
        {
            // A retry, or nothing new: no second notice.
            return Ok();
        }

        state.State.Announcement = next;
        return await CommitChangeAsync(new GroupNotice(GroupNotices.AnnouncementSet, actorId, [], 0, Announcement: next),
            GroupEvent("group.announcement_set", actorId, new GroupEventData([])));
    }

    public async Task<GroupResult> SetHistoryHiddenFromNewMembersAsync(string actorId, bool hidden)
    {
        if (Deny(actorId, GroupRole.Admin) is { } denied)
        {
            return denied;
        }

        if (hidden == state.State.HidesHistoryFromNewMembers)
        {
            // A retry, or nothing new: no second notice.
            return Ok();
        }

        state.State.HidesHistoryFromNewMembers = hidden;
        return await CommitChangeAsync(new GroupNotice(GroupNotices.HistorySet, actorId, [], 0, HistoryHidden: hidden),
            GroupEvent("group.history_set", actorId, new GroupEventData([], HistoryHidden: hidden)));
    }

    public async Task<GroupResult> DissolveGroupAsync(string actorId)
    {
        if (Deny(actorId, GroupRole.Owner, evenDissolved: true) is { } denied)
        {
            return denied;
        }

        if (state.State.DissolvedAt is not null)
        {
            // A retry (its answer lost), or the owner's second click: no second notice.
            return Ok();
        }

        state.State.DissolvedAt = clock.UtcNow;
        return await CommitChangeAsync(new GroupNotice(GroupNotices.Dissolved, actorId, [], state.State.Members.Count),
            GroupEvent("group.dissolved", actorId, new GroupEventData([], MemberCount: state.State.Members.Count)));
    }

    public Task<GroupResult> GetGroupAsync(string userId) =>
        Task.FromResult(IsGroup && IsMember(userId) ? Ok() : new GroupResult(AccessStatus.NoAccess, null, "no such group"));

    public Task<(AccessStatus Status, IReadOnlyList<GroupMember> Members)> GetMembersAsync(string userId) =>
        Task.FromResult(IsGroup && IsMember(userId)
            ? (AccessStatus.Ok, (IReadOnlyList<GroupMember>)state.State.Members.Values.OrderBy(m => m.JoinedAt).ThenBy(m => m.UserId, StringComparer.Ordinal).ToList())
            : (AccessStatus.NoAccess, []));

    /// <summary>
    /// Null when <paramref name="actorId"/> is a member with at least <paramref name="role"/> and the group is not dissolved
    /// (unless <paramref name="evenDissolved"/>); otherwise the refusal.
    /// </summary>
    private GroupResult? Deny(string actorId, GroupRole role, bool evenDissolved = false)
    {
        if (!IsGroup || !IsMember(actorId))
        {
            return new GroupResult(AccessStatus.NoAccess, null, "no such group");
        }

        if (state.State.DissolvedAt is not null && !evenDissolved)
        {
            return new GroupResult(AccessStatus.NotAllowed, Info(), "the group was dissolved; its members may only leave it");
        }

        return state.State.Members[actorId].Role >= role
            ? null
            : new GroupResult(AccessStatus.NotAllowed, Info(), $"needs the {role.ToString().ToLowerInvariant()} role");
    }

    private async Task<GroupResult> RemoveAsync(string userId, string actorId, string eventType, GroupNotice? notice)
    {
        state.State.Members.Remove(userId);
        ForgetOnline(userId);
        _readPositions?.Remove(userId);
        if (notice is not null)
        {
            Stage(notice);
        }

        if (await SaveAsync(GroupEvent(eventType, actorId, new GroupEventData([userId]))) is { } failed)
        {
            return failed;
        }

        await PostPendingNoticesAsync();

        // The membership is gone (the truth) even if the user's entry could not be marked removed now: the user's grain
        // finds out at its next sync, when the group answers "no access". So the change is answered done either way: a
        // failure here answered "unavailable", and the caller's retry "not a member".
        try
        {
            await GrainFactory.For<IUserGrain>(userId).RemoveConversationAsync(ConversationId);
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            LogEntryNotRemoved(logger, ConversationId, userId, ex.Message);
        }

        return Ok();
    }

    /// <summary>
    /// Puts <paramref name="notice"/> in the state, to be written with the change it tells of and posted after it (see
    /// <see cref="PendingGroupNotice"/>). Past <see cref="MaxPendingNotices"/> waiting, the oldest is given up (logged).
    /// </summary>
    private void Stage(GroupNotice notice)
    {
        var pending = state.State.PendingNotices;
        if (pending.Count >= MaxPendingNotices)
        {
            LogNoticeNotPosted(logger, ConversationId, pending[0].Content.CustomType ?? "", "too many notices wait for the log; the oldest is given up");
            pending.RemoveAt(0);
        }

        pending.Add(new PendingGroupNotice(notice.ActorId, $"group-{Guid.CreateVersion7():N}", notice.ToContent()));
    }

    /// <summary>
    /// Posts the notices waiting in the state, oldest first (one that cannot be posted holds back those after it: members
    /// read changes in the order they were made), and forgets those posted. One that stays is posted at the next
    /// activation, send or change; the changes they tell of stand meanwhile (members' devices see them in the member
    /// list and the firehose).
    /// </summary>
    private async Task PostPendingNoticesAsync()
    {
        var posted = 0;
        foreach (var notice in state.State.PendingNotices.ToList())
        {
            if (!await PostNoticeAsync(notice))
            {
                break;
            }

            posted++;
        }

        if (posted > 0)
        {
            state.State.PendingNotices.RemoveRange(0, posted);
            // A write that fails leaves them stored: posted again, they are found in the log by their client message id.
            await SaveAsync();
        }
    }

    /// <summary>
    /// Posts <paramref name="notice"/> into the group as its actor's message, past the checks a member's message goes
    /// through (the actor may have just left). True when it is in the log, now or before.
    /// </summary>
    private async Task<bool> PostNoticeAsync(PendingGroupNotice notice)
    {
        var request = new SendRequest(notice.ActorId, null, notice.ClientMsgId, notice.Content);
        var results = new SendResult?[1];
        try
        {
            if (_headInDoubt)
            {
                await ReloadHeadAsync();
            }

            if (_clientMsgIds.TryGet(notice.ActorId, notice.ClientMsgId, out _))
            {
                return true;
            }

            await AppendRunAsync([new AdmittedSend(0, request, null)], clock.UtcNow, results);
        }
        catch (Exception ex) when (StorageFailures.IsTransient(ex))
        {
            // As for a send: the commit may have succeeded all the same (its answer lost).
            _headInDoubt = true;
            results[0] = SendResult.Refused(SendStatus.Unavailable, ex.Message);
        }

        if (results[0] is { IsAccepted: true })
        {
            return true;
        }

        if (results[0] is { Status: not SendStatus.Unavailable } refused)
        {
            // The log refuses it for good (what it says cannot be stored): kept, it would hold back every later notice and
            // be tried again at every send. Dropped; the change stands, and members see it in the group's details.
            LogNoticeDropped(logger, ConversationId, notice.Content.CustomType ?? "", refused.Error ?? refused.Status.ToString());
            return true;
        }

        LogNoticeNotPosted(logger, ConversationId, notice.Content.CustomType ?? "", results[0]?.Error ?? "not stored");
        return false;
    }

    /// <summary>Writes the group's state; when stored, publishes <paramref name="stored"/> to the firehose.</summary>
    private async Task<GroupResult?> SaveAsync(FirehoseEvent? stored = null)
    {
        try
        {
            await state.WriteStateAsync();
            if (stored is not null)
            {
                firehose.Publish(stored);
            }

            return null;
        }
        catch (Exception ex) when (StorageFailures.IsTransient(ex))
        {
            LogStorageUnavailable(logger, ConversationId, ex.Message);
            // Memory now claims what the database refused.
            await RestoreStoredStateAsync();
            return new GroupResult(AccessStatus.Unavailable, null, "storage unavailable; retry");
        }
    }

    /// <summary>Creates (or updates) the members' conversation entries, awaited, so nobody misses the group.</summary>
    private async Task<GroupResult?> AddEntriesAsync(IEnumerable<string> members)
    {
        var readDiffusion = IsLargeGroup;
        return await EntriesSavedAsync(members.Select(m => GrainFactory.For<IUserGrain>(m).AddConversationAsync(ConversationId, readDiffusion)));
    }

    /// <summary>
    /// Null when every member's entry was saved; otherwise the answer to retry. A user grain that failed (its activation's
    /// storage, a timeout) is an answer too, not an exception: the change is stored already, and its notice still goes.
    /// </summary>
    private async Task<GroupResult?> EntriesSavedAsync(IEnumerable<Task<bool>> saves)
    {
        try
        {
            return (await Task.WhenAll(saves)).Contains(false)
                ? new GroupResult(AccessStatus.Unavailable, Info(), "members' entries not all saved; retry")
                : null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            LogStorageUnavailable(logger, ConversationId, ex.Message);
            return new GroupResult(AccessStatus.Unavailable, Info(), "members' entries not all saved; retry");
        }
    }

    /// <summary>
    /// Entries for members added to a group that has a history: they start at its head with nothing unread (those who
    /// were members before and come back too); an entry that exists already keeps its read position, unless the member
    /// joins anew, added just now (see <see cref="JoinEntryAsync"/> and <see cref="SettleEntriesOwedAsync"/>).
    /// </summary>
    private async Task<GroupResult?> JoinEntriesAsync(IEnumerable<string> members)
    {
        var readDiffusion = IsLargeGroup;
        var last = _recent.Last;
        return await EntriesSavedAsync(members.Select(m => JoinEntryAsync(m, readDiffusion, last is null ? null : HeadFor(m, last))));
    }

    /// <summary>
    /// The member's entry joins at the head. A member new by this conversation's own state (added, subscribed) whose
    /// entry has not answered yet joins anew: an entry their grain still has from before (a removal or unsubscribe that
    /// never reached it) is from before what was said since, which must be history, not unread; retried, still anew.
    /// </summary>
    private async Task<bool> JoinEntryAsync(string member, bool readDiffusion, ChatMessage? head)
    {
        var user = GrainFactory.For<IUserGrain>(member);
        if (_joinsAnewPending?.Contains(member) != true)
        {
            return await user.JoinConversationAtHeadAsync(ConversationId, readDiffusion, head);
        }

        var joined = await user.JoinConversationAnewAtHeadAsync(ConversationId, readDiffusion, head);
        if (joined)
        {
            _joinsAnewPending.Remove(member);
        }

        return joined;
    }

    /// <summary>
    /// A change of the group made in its state: stored with its notice waiting beside it (and its firehose event), then
    /// the notice posted. The answer is the group, or why the change was not stored.
    /// </summary>
    private async Task<GroupResult> CommitChangeAsync(GroupNotice notice, FirehoseEvent changed)
    {
        Stage(notice);
        if (await SaveAsync(changed) is { } failed)
        {
            return failed;
        }

        await PostPendingNoticesAsync();
        return Ok();
    }

    private GroupInfo Info() => new(ConversationId, state.State.Name ?? "", state.State.OwnerId ?? "", state.State.Announcement,
        state.State.Members.Count, state.State.CreatedAt, state.State.DissolvedAt, state.State.HidesHistoryFromNewMembers);

    private FirehoseEvent GroupEvent(string type, string actorId, GroupEventData data) =>
        FirehoseEvents.GroupChanged(type, ConversationId, actorId, data with { MemberCount = state.State.Members.Count }, clock.UtcNow);

    private GroupResult Ok() => new(AccessStatus.Ok, Info());
}
