using Orleans.Im.Accounts;
using Orleans.Im.Messages;
using Orleans.Im.Users;

namespace Orleans.Im.Contacts;

/// <inheritdoc cref="IContactsGrain"/>
/// <remarks>
/// Both sides keep their own view and tell the other of each change of theirs. Changes of one relation made at the same
/// moment from both sides (an acceptance and a withdrawal, two requests) meet: each side sees the other's arrive while its
/// own is on its way, and both settle on the same state (friends when both asked, otherwise the change of the user whose
/// id sorts first) instead of each writing its own last. A change that was made knowing ours is simply the later one.
/// </remarks>
public sealed class ContactsGrain(
    [PersistentState("contacts", StorageNames.Grains)] IPersistentState<ContactsState> state,
    ImClock clock) : Grain, IContactsGrain
{
    /// <inheritdoc cref="IContactsGrain.MaxContacts"/>
    public const int MaxContacts = IContactsGrain.MaxContacts;

    /// <inheritdoc cref="IContactsGrain.MaxIncomingRequests"/>
    public const int MaxIncomingRequests = IContactsGrain.MaxIncomingRequests;

    /// <inheritdoc cref="IContactsGrain.MaxRequestMessageLength"/>
    public const int MaxRequestMessageLength = IContactsGrain.MaxRequestMessageLength;

    /// <summary>Removals kept for incremental sync; older ones are pruned, and a client that synced before them gets the whole list.</summary>
    public const int MaxTombstones = 1000;

    /// <summary>This user's change waiting for the other side's answer (changes of this user's own do not interleave).</summary>
    private PendingContactChange? _pending;

    /// <summary>
    /// The state write in progress. The other side's notices interleave with this user's calls: a second write with the
    /// same version of the state would be refused by storage, so each waits for the one before it.
    /// </summary>
    private Task _writing = Task.CompletedTask;

    /// <summary>
    /// The state storage holds while a write of a newer one is in progress (null otherwise): what the user's reads answer
    /// meanwhile. The other side's notices interleave, so a read could otherwise hand a client a contact and a version
    /// that storage then refused, and the client's later incremental sync would never take that contact back.
    /// </summary>
    private ContactsState? _committedWhileWriting;

    /// <summary>
    /// Peers with a notice between its block check and its write, and those of them whose requests a block ended
    /// meanwhile: such a notice must not land a request from a user just blocked (the block found nothing to end).
    /// </summary>
    private readonly Dictionary<string, int> _noticesInFlight = new(StringComparer.Ordinal);

    private readonly HashSet<string> _endedInFlight = new(StringComparer.Ordinal);

    private string UserId => this.GetPrimaryKeyString();

    public async Task<AccessStatus> RequestAsync(string userId, string? message)
    {
        if (!GrainKeys.IsValidUserId(userId) || userId == UserId || message?.Length > MaxRequestMessageLength)
        {
            return AccessStatus.Invalid;
        }

        var current = StateOf(userId);
        if (current is ContactState.Friend or ContactState.Outgoing)
        {
            return AccessStatus.Ok;
        }

        if (current is ContactState.None or ContactState.Incoming && OwnCount() >= MaxContacts)
        {
            return AccessStatus.Invalid;
        }

        if (current == ContactState.None && await GrainFactory.For<IAccountGrain>(userId).GetCredentialsAsync() is null)
        {
            return AccessStatus.NotFound;
        }

        if (await BlocksAsync(userId))
        {
            return AccessStatus.NotAllowed;
        }

        // Read again: their request may have arrived meanwhile (it interleaves).
        current = StateOf(userId);
        if (current is ContactState.Friend or ContactState.Outgoing)
        {
            return AccessStatus.Ok;
        }

        // They asked first: this is an acceptance.
        return await ChangeAsync(userId, current == ContactState.Incoming ? ContactState.Friend : ContactState.Outgoing, message);
    }

    public async Task<AccessStatus> AcceptAsync(string userId)
    {
        var current = StateOf(userId);
        if (current != ContactState.Incoming)
        {
            return current == ContactState.Friend ? AccessStatus.Ok : AccessStatus.NotFound;
        }

        if (OwnCount() >= MaxContacts)
        {
            return AccessStatus.Invalid;
        }

        if (await BlocksAsync(userId))
        {
            return AccessStatus.NotAllowed;
        }

        // Read again: they may have withdrawn it meanwhile (it interleaves).
        current = StateOf(userId);
        if (current != ContactState.Incoming)
        {
            return current == ContactState.Friend ? AccessStatus.Ok : AccessStatus.NotFound;
        }

        // Settled as they answered: a request listed here that their side never made (its answer lost to them) ends at
        // none, and the user hears that there was no request, not that they are friends now.
        var status = await ChangeAsync(userId, ContactState.Friend, null);
        return status == AccessStatus.Ok && StateOf(userId) != ContactState.Friend ? AccessStatus.NotFound : status;
    }

    public async Task RemoveAsync(string userId)
    {
        if (StateOf(userId) != ContactState.None)
        {
            await ChangeAsync(userId, ContactState.None, null);
        }
    }

    public async Task EndRequestAsync(string userId)
    {
        if (_noticesInFlight.ContainsKey(userId))
        {
            _endedInFlight.Add(userId);
        }

        if (StateOf(userId) is ContactState.Incoming or ContactState.Outgoing)
        {
            await ChangeAsync(userId, ContactState.None, null);
        }
    }

    public Task<ContactChanges> GetChangesAsync(long afterVersion)
    {
        // A version from another history (newer than anything here), or from before a removal no longer kept, cannot be
        // trusted: send everything current.
        var committed = Committed;
        var full = afterVersion <= 0 || afterVersion > committed.Version || afterVersion < committed.ResyncFloor;
        var changed = full
            ? committed.Contacts.Values.Where(c => c.State != ContactState.None)
            : committed.Contacts.Values.Where(c => c.Version > afterVersion);
        return Task.FromResult(new ContactChanges(committed.Version, [.. changed.OrderBy(c => c.Version)], full));
    }

    public Task<bool> IsFriendAsync(string userId) =>
        Task.FromResult(Committed.Contacts.TryGetValue(userId, out var contact) && contact.State == ContactState.Friend);

    public Task<AccessStatus> OnPeerChangedAsync(string userId, ContactState theirState, string? message) =>
        // As if made knowing this side's change on the way, if any: the later one, which is how it was taken before.
        OnPeerChangedAsync(userId, Mirror(_pending is { } pending && pending.UserId == userId ? pending.Next : StateOf(userId)), theirState, message);

    public async Task<AccessStatus> OnPeerChangedAsync(string userId, ContactState theirBefore, ContactState theirState, string? message) =>
        (await OnPeerChangeAsync(userId, theirBefore, theirState, message)).Status;

    public async Task<PeerChangeAnswer> OnPeerChangeAsync(string userId, ContactState theirBefore, ContactState theirState, string? message)
    {
        var mine = Mirror(theirState);
        // Read before any wait: a change of ours on its way to them may end (and clear _pending) while this waits on the
        // block check, and theirs must still be settled against it.
        var pending = _pending is { } onItsWay && onItsWay.UserId == userId ? onItsWay : null;
        _noticesInFlight[userId] = _noticesInFlight.GetValueOrDefault(userId) + 1;
        try
        {
            return await SettlePeerChangeAsync(userId, pending, theirBefore, mine, message);
        }
        finally
        {
            if (--_noticesInFlight[userId] == 0)
            {
                _noticesInFlight.Remove(userId);
                _endedInFlight.Remove(userId);
            }
        }
    }

    /// <summary>Settles the other side's change (see <see cref="OnPeerChangeAsync"/>) against this side's.</summary>
    private async Task<PeerChangeAnswer> SettlePeerChangeAsync(string userId, PendingContactChange? pending, ContactState theirBefore,
        ContactState mine, string? message)
    {
        // A block between the check and the write (either waits) ended no request of theirs: it must refuse this one.
        var refused = () => mine is ContactState.Incoming or ContactState.Friend && _endedInFlight.Contains(userId);
        if (mine is ContactState.Incoming or ContactState.Friend && await BlocksAsync(userId) || refused())
        {
            return Refuse(AccessStatus.NotAllowed, userId);
        }

        if (mine == ContactState.Incoming && StateOf(userId) == ContactState.None && IncomingCount() >= MaxIncomingRequests)
        {
            return Refuse(AccessStatus.Invalid, userId);
        }

        // Or one of ours that set out while this waited: made without knowing of it, theirs met it. Not one they refused:
        // they end in its mirror already, and theirs, made knowing that, is the later change.
        pending ??= _pending is { } setOut && setOut.UserId == userId ? setOut : null;
        if (pending is { Refused: true })
        {
            pending = null;
        }

        var target = mine;
        if (pending is not null)
        {
            // Ours is (or was, a moment ago) on its way to them. Made knowing ours (their state before was ours to be),
            // theirs is the later change; otherwise the two met, and this side settles as theirs will.
            pending.Theirs = (mine, message);
            target = Mirror(theirBefore) == pending.Next ? mine : Settle(pending.Next, mine, userId);
            pending.Settled = target;
        }
        else if (Mirror(theirBefore) != StateOf(userId))
        {
            // Theirs was made knowing another state of this side's. Either a change of ours met it and was done here, by
            // their answer, before theirs arrived: they settled the two on their side, and end there whatever this answers,
            // which is where this side is already (settling again, from the result, could part the two: two requests that
            // met are friends, and friend against their request would go by the ids). Or one of ours reached them but not
            // our storage: they end as this answers, and this side stays where its storage is.
            target = StateOf(userId);
        }

        return await SetAsync(userId, target, message, unless: refused)
            ? new PeerChangeAnswer(AccessStatus.Ok, target)
            : Refuse(AccessStatus.NotAllowed, userId);
    }

    /// <summary>
    /// Refuses the other side's change, answering where this side ends, for them to end in its mirror (see
    /// <see cref="ChangeAsync"/>): with a change of ours to them on its way, that change as made (they may have settled it
    /// against the refused one, and must not end there), otherwise where this side is.
    /// </summary>
    private PeerChangeAnswer Refuse(AccessStatus status, string userId)
    {
        if (_pending is { } ours && ours.UserId == userId)
        {
            ours.Settled = ours.Next;
            ours.RefusedTheirs = true;
            return new PeerChangeAnswer(status, ours.Next);
        }

        return new PeerChangeAnswer(status, StateOf(userId));
    }

    /// <summary>Tells the other side of this user's change, then makes it here (or what a change of theirs that met it settled).</summary>
    private async Task<AccessStatus> ChangeAsync(string userId, ContactState next, string? message)
    {
        // Read as the change sets out (no wait in between): the other side tells by it whether theirs knew of ours.
        var before = StateOf(userId);
        var pending = new PendingContactChange(userId, next);
        _pending = pending;
        try
        {
            PeerChangeAnswer answer;
            try
            {
                answer = await GrainFactory.For<IContactsGrain>(userId).OnPeerChangeAsync(UserId, before, next, message);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // No answer (a timeout, their write committed and its answer lost): they may have taken it. The change
                // failed for the user, so it must not stand there either: a decline made next would otherwise meet their
                // "friends" from this acceptance, and be settled into a friendship. Told back as when storage here failed;
                // when they had not taken it, it changes nothing there.
                await TakeBackAsync(userId, next);
                throw;
            }

            if (answer.Status != AccessStatus.Ok)
            {
                // Refused, so ours did not happen there: this side ends where they are, in its mirror. That is where a
                // change of theirs that arrived meanwhile left it, unless they settled theirs against ours, which they
                // then refused (theirs, and the settling here, were on the way at once). A change of theirs arriving
                // after this is no longer one that met ours.
                pending.Refused = true;
                if (pending.RefusedTheirs)
                {
                    // Each refused the other's (both inboxes full, both blocking): neither change happened anywhere, and
                    // both sides stay where they are, as the other does (adopting its answer, each would list a request
                    // the other never took).
                    return answer.Status;
                }

                var theirEnd = Mirror(answer.Settled);
                if (StateOf(userId) != theirEnd)
                {
                    await SetAsync(userId, theirEnd, pending.Theirs is { } theirs && theirs.State == theirEnd ? theirs.Message : MessageOf(userId));
                }

                return answer.Status;
            }

            // Where they ended, in this side's terms: this change as made, unless they settled it against another (see
            // PeerChangeAnswer). Again when a change of theirs arrived while this one was being written.
            var agreed = Mirror(answer.Settled);
            try
            {
                while (StateOf(userId) != (pending.Settled ?? agreed))
                {
                    var settled = pending.Settled ?? agreed;
                    await SetAsync(userId, settled, settled == next ? message : pending.Theirs?.Message);
                }
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // They took it, storage here did not: the change failed for the user, so it must not stand on their side
                // either (an ex-friend would go on seeing the user's presence, and a request of theirs would make them
                // friends again at once). Told as this side's change back, made knowing where they ended.
                await TakeBackAsync(userId, agreed);
                throw;
            }

            return AccessStatus.Ok;
        }
        finally
        {
            _pending = null;
        }
    }

    /// <summary>
    /// Tells <paramref name="userId"/> that this side is still where its storage says, after a change of ours that they
    /// took (<paramref name="told"/>, in this side's terms) could not be written here. Best effort: when they cannot take
    /// it either, the two settle at the next change between them, as before (see <see cref="OnPeerChangeAsync"/>).
    /// </summary>
    private async Task TakeBackAsync(string userId, ContactState told)
    {
        var actual = StateOf(userId);
        if (actual == told)
        {
            return;
        }

        try
        {
            await GrainFactory.For<IContactsGrain>(userId).OnPeerChangeAsync(UserId, told, actual, MessageOf(userId));
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The caller's own failure is what the user is told; this one only leaves the settling to later.
        }
    }

    /// <summary>
    /// Where two changes that met end, on this side: the same on both sides (each sees the other's as its own mirrored),
    /// friends when both asked, otherwise the change of the user whose id sorts first.
    /// </summary>
    private ContactState Settle(ContactState ours, ContactState theirs, string userId) =>
        ours == theirs ? ours
        : (ours, theirs) is (ContactState.Outgoing, ContactState.Incoming) or (ContactState.Incoming, ContactState.Outgoing) ? ContactState.Friend
        : string.CompareOrdinal(UserId, userId) < 0 ? ours : theirs;

    /// <summary>The other side's view in this side's terms: their outgoing is our incoming; friend and none are the same.</summary>
    private static ContactState Mirror(ContactState theirs) => theirs switch
    {
        ContactState.Outgoing => ContactState.Incoming,
        ContactState.Incoming => ContactState.Outgoing,
        _ => theirs,
    };

    private Task<bool> BlocksAsync(string userId) => GrainFactory.For<IAccountGrain>(UserId).IsBlockingAsync(userId);

    /// <summary>What storage holds: the state, or the one before it while a write is in progress.</summary>
    private ContactsState Committed => _committedWhileWriting ?? state.State;

    private ContactState StateOf(string userId) =>
        state.State.Contacts.TryGetValue(userId, out var contact) ? contact.State : ContactState.None;

    private string? MessageOf(string userId) =>
        state.State.Contacts.TryGetValue(userId, out var contact) ? contact.Message : null;

    /// <summary>Friends and the user's own open requests: what <see cref="MaxContacts"/> bounds.</summary>
    private int OwnCount() => state.State.Contacts.Values.Count(c => c.State is ContactState.Friend or ContactState.Outgoing);

    /// <summary>Others' requests waiting for the user: what <see cref="MaxIncomingRequests"/> bounds.</summary>
    private int IncomingCount() => state.State.Contacts.Values.Count(c => c.State == ContactState.Incoming);

    /// <summary>
    /// Writes <paramref name="next"/> for <paramref name="userId"/>, after any write in progress (and not at all when that
    /// one left it so). The change is made on a copy that becomes the state; if storage refuses it, the state before comes
    /// back and the activation goes (a stale state would be refused again), so memory never holds what storage does not,
    /// and the caller's retry makes the change again. False, with nothing written, when <paramref name="unless"/> holds
    /// once the write before is done.
    /// </summary>
    private async Task<bool> SetAsync(string userId, ContactState next, string? message, Func<bool>? unless = null)
    {
        while (!_writing.IsCompleted)
        {
            await _writing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);
        }

        if (unless?.Invoke() == true)
        {
            return false;
        }

        var was = StateOf(userId);
        if (was == next)
        {
            return true;
        }

        var before = state.State;
        // Versions grow across activations even after a write that failed once it had been handed out: time-based, as the
        // user grain's conversation versions are.
        var version = Math.Max(before.Version + 1, clock.UtcNow.ToUnixTimeMilliseconds() * 1000);
        var after = new ContactsState
        {
            Contacts = new Dictionary<string, Contact>(before.Contacts, StringComparer.Ordinal)
            {
                [userId] = new Contact(userId, next, message, clock.UtcNow, version),
            },
            Version = version,
            ResyncFloor = before.ResyncFloor,
        };
        PruneTombstones(after);

        _committedWhileWriting = before;
        state.State = after;
        var write = state.WriteStateAsync();
        _writing = write;
        try
        {
            await write;
        }
        catch
        {
            state.State = before;
            DeactivateOnIdle();
            throw;
        }
        finally
        {
            _committedWhileWriting = null;
        }

        // The user's devices fetch the change (a request comes in, an answer, a removal): without this they learned of a
        // friend request only by asking.
        var user = GrainFactory.For<IUserGrain>(UserId);
        user.OnContactsChangedAsync(version).Ignore();
        if ((was == ContactState.Friend) != (next == ContactState.Friend))
        {
            // A new friend sees the user's presence now, not at its next change; an ex-friend stops showing it.
            user.OnFriendshipChangedAsync(userId).Ignore();
        }

        return true;
    }

    /// <summary>Drops the oldest removals beyond <see cref="MaxTombstones"/>; clients that synced before them get the whole list.</summary>
    private static void PruneTombstones(ContactsState contacts)
    {
        var tombstones = contacts.Contacts.Values.Count(c => c.State == ContactState.None);
        if (tombstones <= MaxTombstones)
        {
            return;
        }

        foreach (var pruned in contacts.Contacts.Values.Where(c => c.State == ContactState.None).OrderBy(c => c.Version).Take(tombstones - MaxTombstones).ToList())
        {
            contacts.Contacts.Remove(pruned.UserId);
            contacts.ResyncFloor = Math.Max(contacts.ResyncFloor, pruned.Version);
        }
    }
}
