using Orleans.Concurrency;
using Orleans.Im.Messages;

namespace Orleans.Im.Contacts;

/// <summary>A user's friends and friend requests. Key: the user id. Both sides of a relation keep their own view.</summary>
[Alias("im.IContactsGrain")]
public interface IContactsGrain : IGrainWithStringKey
{
    /// <summary>Friends and requests of the user's own that one user may have.</summary>
    const int MaxContacts = 5000;

    /// <summary>
    /// Requests from others waiting for the user's answer, counted apart: requests others send must not use up the
    /// user's own room (many senders would leave the user unable to ask or accept anyone). Past it, new ones are refused
    /// until the user answers some.
    /// </summary>
    const int MaxIncomingRequests = 1000;

    /// <summary>The longest request message, in characters.</summary>
    const int MaxRequestMessageLength = 200;

    /// <summary>
    /// Asks <paramref name="userId"/> to be friends. <c>Ok</c> also when they had asked first (then both are friends at
    /// once); <c>NotAllowed</c> when either blocks the other; <c>NotFound</c> when there is no such account;
    /// <c>Invalid</c> for oneself, a bad id or a full contact list.
    /// </summary>
    [Alias("Request")]
    Task<AccessStatus> RequestAsync(string userId, string? message);

    /// <summary>Accepts an incoming request; <c>NotFound</c> when there is none; <c>NotAllowed</c> when either blocks the other.</summary>
    [Alias("Accept")]
    Task<AccessStatus> AcceptAsync(string userId);

    /// <summary>Declines an incoming request, withdraws an outgoing one, or ends a friendship.</summary>
    [Alias("Remove")]
    Task RemoveAsync(string userId);

    /// <summary>
    /// This user blocked <paramref name="userId"/>: a request between the two, either way, is declined or withdrawn. A
    /// friendship stays (unblocking gives it back); the block keeps messages and presence from the blocked user.
    /// </summary>
    [Alias("EndRequest")]
    Task EndRequestAsync(string userId);

    /// <summary>Contacts changed after <paramref name="afterVersion"/> (0: all current ones).</summary>
    [Alias("GetChanges")]
    Task<ContactChanges> GetChangesAsync(long afterVersion);

    /// <summary>
    /// True when <paramref name="userId"/> is a friend, as storage holds it. Interleaves (a read of what is committed):
    /// a group adding this user asks it through the user's account, and must not wait behind a contact change in flight.
    /// </summary>
    [Alias("IsFriend"), AlwaysInterleave]
    Task<bool> IsFriendAsync(string userId);

    /// <summary>
    /// The other side's view changed from <paramref name="theirBefore"/> to <paramref name="theirState"/> (called by the
    /// other user's contacts grain). Interleaves, so that two users changing their relation at the same moment do not wait
    /// on each other; the state before tells this side whether the change knew of its own change on the way, or met it.
    /// The answer says where this side ended, for the caller to end in its mirror.
    /// </summary>
    [Alias("OnPeerChange"), AlwaysInterleave]
    Task<PeerChangeAnswer> OnPeerChangeAsync(string userId, ContactState theirBefore, ContactState theirState, string? message);

    /// <summary>
    /// The same call from silos not yet upgraded, which do not ask where this side ended. Kept so that a rolling upgrade
    /// keeps friend requests working; remove in the release after.
    /// </summary>
    [Alias("OnPeerChangedFrom"), AlwaysInterleave]
    Task<AccessStatus> OnPeerChangedAsync(string userId, ContactState theirBefore, ContactState theirState, string? message);

    /// <summary>
    /// The same call from silos not yet upgraded, which do not say what they saw before: their change is taken as the later
    /// one, as before. Kept so that a rolling upgrade keeps friend requests working; remove in the release after.
    /// </summary>
    [Alias("OnPeerChanged"), AlwaysInterleave]
    Task<AccessStatus> OnPeerChangedAsync(string userId, ContactState theirState, string? message);
}
