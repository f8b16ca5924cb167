using Orleans.Im.Accounts;
using Orleans.Im.Messages;

namespace Orleans.Im.Contacts;

/// <inheritdoc cref="IContactsGrain"/>
public sealed class ContactsGrain(
    [PersistentState("contacts", StorageNames.Grains)] IPersistentState<ContactsState> state,
    ImClock clock) : Grain, IContactsGrain
{
    /// <summary>Contacts (friends and open requests) one user may have.</summary>
    public const int MaxContacts = 5000;

    /// <summary>The longest request message, in characters.</summary>
    public const int MaxRequestMessageLength = 200;

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

        if (current == ContactState.None && LiveCount() >= MaxContacts)
        {
            return AccessStatus.Invalid;
        }

        // They asked first: this is an acceptance.
        var next = current == ContactState.Incoming ? ContactState.Friend : ContactState.Outgoing;
        var peer = GrainFactory.For<IContactsGrain>(userId);
        var answer = await peer.OnPeerChangedAsync(UserId, next, message);
        if (answer != AccessStatus.Ok)
        {
            return answer;
        }

        // They asked us while we asked them (their call interleaved with ours): that makes us friends.
        if (next == ContactState.Outgoing && StateOf(userId) is ContactState.Incoming or ContactState.Friend)
        {
            next = ContactState.Friend;
            await peer.OnPeerChangedAsync(UserId, next, message);
        }

        await SetAsync(userId, next, message);
        return AccessStatus.Ok;
    }

    public async Task<AccessStatus> AcceptAsync(string userId)
    {
        if (StateOf(userId) != ContactState.Incoming)
        {
            return StateOf(userId) == ContactState.Friend ? AccessStatus.Ok : AccessStatus.NotFound;
        }

        var answer = await GrainFactory.For<IContactsGrain>(userId).OnPeerChangedAsync(UserId, ContactState.Friend, null);
        if (answer != AccessStatus.Ok)
        {
            return answer;
        }

        await SetAsync(userId, ContactState.Friend, null);
        return AccessStatus.Ok;
    }

    public async Task RemoveAsync(string userId)
    {
        if (StateOf(userId) == ContactState.None)
        {
            return;
        }

        await GrainFactory.For<IContactsGrain>(userId).OnPeerChangedAsync(UserId, ContactState.None, null);
        await SetAsync(userId, ContactState.None, null);
    }

    public Task<ContactChanges> GetChangesAsync(long afterVersion)
    {
        // A version from another history (newer than anything here) cannot be trusted: send everything current.
        var changed = afterVersion <= 0 || afterVersion > state.State.Version
            ? state.State.Contacts.Values.Where(c => c.State != ContactState.None)
            : state.State.Contacts.Values.Where(c => c.Version > afterVersion);
        return Task.FromResult(new ContactChanges(state.State.Version, [.. changed.OrderBy(c => c.Version)]));
    }

    public Task<bool> IsFriendAsync(string userId) => Task.FromResult(StateOf(userId) == ContactState.Friend);

    public async Task<AccessStatus> OnPeerChangedAsync(string userId, ContactState theirState, string? message)
    {
        // Their view mirrored into ours: their outgoing is our incoming; friend and none are the same on both sides.
        var mine = theirState switch
        {
            ContactState.Outgoing => ContactState.Incoming,
            ContactState.Incoming => ContactState.Outgoing,
            _ => theirState,
        };
        if (mine == ContactState.Incoming && await GrainFactory.For<IAccountGrain>(UserId).IsBlockingAsync(userId))
        {
            return AccessStatus.NotAllowed;
        }

        if (mine == ContactState.Incoming && StateOf(userId) == ContactState.None && LiveCount() >= MaxContacts)
        {
            return AccessStatus.Invalid;
        }

        if (StateOf(userId) != mine)
        {
            await SetAsync(userId, mine, message);
        }

        return AccessStatus.Ok;
    }

    private ContactState StateOf(string userId) =>
        state.State.Contacts.TryGetValue(userId, out var contact) ? contact.State : ContactState.None;

    private int LiveCount() => state.State.Contacts.Values.Count(c => c.State != ContactState.None);

    private async Task SetAsync(string userId, ContactState next, string? message)
    {
        var version = ++state.State.Version;
        state.State.Contacts[userId] = new Contact(userId, next, message, clock.UtcNow, version);
        await state.WriteStateAsync();
    }
}
