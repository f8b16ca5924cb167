using Orleans.Concurrency;
using Orleans.Im.Messages;

namespace Orleans.Im.Contacts;

/// <summary>A user's friends and friend requests. Key: the user id. Both sides of a relation keep their own view.</summary>
[Alias("im.IContactsGrain")]
public interface IContactsGrain : IGrainWithStringKey
{
    /// <summary>
    /// Asks <paramref name="userId"/> to be friends. <c>Ok</c> also when they had asked first (then both are friends at
    /// once); <c>NotAllowed</c> when they block this user; <c>Invalid</c> for oneself or a bad id.
    /// </summary>
    [Alias("Request")]
    Task<AccessStatus> RequestAsync(string userId, string? message);

    /// <summary>Accepts an incoming request; <c>NotFound</c> when there is none.</summary>
    [Alias("Accept")]
    Task<AccessStatus> AcceptAsync(string userId);

    /// <summary>Declines an incoming request, withdraws an outgoing one, or ends a friendship.</summary>
    [Alias("Remove")]
    Task RemoveAsync(string userId);

    /// <summary>Contacts changed after <paramref name="afterVersion"/> (0: all current ones).</summary>
    [Alias("GetChanges")]
    Task<ContactChanges> GetChangesAsync(long afterVersion);

    /// <summary>True when <paramref name="userId"/> is a friend.</summary>
    [Alias("IsFriend")]
    Task<bool> IsFriendAsync(string userId);

    /// <summary>
    /// The other side's view changed (called by the other user's contacts grain). Interleaves, so that two users asking
    /// each other at the same moment do not wait on each other.
    /// </summary>
    [Alias("OnPeerChanged"), AlwaysInterleave]
    Task<AccessStatus> OnPeerChangedAsync(string userId, ContactState theirState, string? message);
}
