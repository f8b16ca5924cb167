using Orleans.Concurrency;

namespace Orleans.Im.Accounts;

/// <summary>
/// A user's account: credentials, roles, login sessions and blocklist. Key: the user id. A separate grain from
/// the user grain so that logins never wait behind message fan-out.
/// </summary>
[Alias("im.IAccountGrain")]
public interface IAccountGrain : IGrainWithStringKey
{
    /// <summary>Creates the account; <c>Conflict</c> when it exists, <c>Invalid</c> for a bad id or name.</summary>
    [Alias("Create")]
    Task<Messages.AccessStatus> CreateAsync(NewAccount account);

    /// <summary>The credentials, or null when there is no such account.</summary>
    [Alias("GetCredentials")]
    Task<AccountCredentials?> GetCredentialsAsync();

    /// <summary>
    /// Replaces the password hash and ends every session but <paramref name="keepSessionId"/>'s device (the session, the
    /// login it was issued under and the connections issued under that login; none when null). False when there is no
    /// such account.
    /// </summary>
    [Alias("SetPassword")]
    Task<bool> SetPasswordAsync(string passwordHash, string? keepSessionId);

    /// <summary>
    /// Like <see cref="SetPasswordAsync(string, string?)"/>, after a check of the current password: <c>Conflict</c> (and
    /// nothing changed) when the hash is no longer <paramref name="checkedPasswordHash"/>, so a change that raced an
    /// admin's reset does not overwrite it; <c>NotFound</c> when there is no such account.
    /// </summary>
    [Alias("SetPasswordChecked")]
    Task<Messages.AccessStatus> SetPasswordAsync(string passwordHash, string? keepSessionId, string checkedPasswordHash);

    /// <summary>Disables (ending every session) or enables the account.</summary>
    [Alias("SetDisabled")]
    Task<bool> SetDisabledAsync(bool disabled);

    /// <summary>Ends every session (kick all devices: they must log in again); false when there is no such account.</summary>
    [Alias("EndAllSessions")]
    Task<bool> EndAllSessionsAsync();

    /// <summary>Records a new login session; false when the account does not exist or is disabled.</summary>
    [Alias("StartSession")]
    Task<bool> StartSessionAsync(LoginSession session);

    /// <summary>
    /// Records a new login session after a password check: false also when the password changed since
    /// <paramref name="checkedPasswordHash"/> was read, so a login that raced a password change does not outlive it.
    /// </summary>
    [Alias("StartSessionChecked")]
    Task<bool> StartSessionAsync(LoginSession session, string? checkedPasswordHash);

    /// <summary>
    /// Swaps the refresh token of a live session for its successor, which the caller derives from the token (so the same
    /// token always has the same successor). Each refresh token renews once, except that the swap just made may be
    /// repeated within <paramref name="reuseGrace"/> of it, for a caller who lost its answer or a second browser tab of
    /// the same session renewing at the same moment: they get the session back unchanged, and the successor they
    /// derive is the current token. Returns the session, or null when the session is gone, expired, the account
    /// disabled, or the token neither the current one nor the one just swapped out. The one just swapped out, presented
    /// again after the grace, ends the session (and its connections), announced like a logout: a refresh token spent
    /// twice has two holders, one of them a thief.
    /// </summary>
    [Alias("RefreshSessionWithGrace")]
    Task<LoginSession?> RefreshSessionAsync(string sessionId, string refreshTokenHash, string newRefreshTokenHash, DateTimeOffset newExpiresAt, TimeSpan reuseGrace);

    /// <summary>
    /// The refresh of edge hosts from before the reuse grace (no grace: their successors are random). Kept so that silos
    /// upgraded first still serve them; remove in the release after.
    /// </summary>
    [Alias("RefreshSession")]
    Task<LoginSession?> RefreshSessionAsync(string sessionId, string refreshTokenHash, string newRefreshTokenHash, DateTimeOffset newExpiresAt);

    /// <summary>
    /// Ends a session (logout) with the connection sessions issued under it; their tokens are refused everywhere within a
    /// second, and connections of them closed. Announced even when the session is not known here: the caller's own
    /// token names it (use <see cref="EndOwnSessionAsync"/> for a session id a caller merely supplies).
    /// </summary>
    [Alias("EndSession")]
    Task EndSessionAsync(string sessionId);

    /// <summary>
    /// Logout with a token of <paramref name="sessionId"/>: ends the device's login that session belongs to (for a
    /// connection's session, the login it was issued under) with every connection session of it, announced like
    /// <see cref="EndSessionAsync"/> (also when not known here). Returns the sessions ended, for the caller to refuse at
    /// once.
    /// </summary>
    [Alias("EndLogin")]
    Task<IReadOnlyList<string>> EndLoginAsync(string sessionId);

    /// <summary>
    /// Signs out one device of this account: like <see cref="EndSessionAsync"/>, but only for a session of this account;
    /// false (and nothing announced) for any other id.
    /// </summary>
    [Alias("EndOwnSession")]
    Task<bool> EndOwnSessionAsync(string sessionId);

    /// <summary>
    /// Ends every session but <paramref name="keepSessionId"/>'s device (see <see cref="SetPasswordAsync(string, string?)"/>): "sign out
    /// my other devices". Returns how many sessions ended.
    /// </summary>
    [Alias("EndOtherSessions")]
    Task<int> EndOtherSessionsAsync(string keepSessionId);

    /// <summary>The sessions that have not expired, oldest first.</summary>
    [Alias("GetSessions")]
    Task<IReadOnlyList<LoginSession>> GetSessionsAsync();

    /// <summary>True when the session exists, has not expired and the account is enabled.</summary>
    [Alias("IsSessionLive")]
    Task<bool> IsSessionLiveAsync(string sessionId);

    /// <summary>Blocks a user: they can no longer message this one in a one-to-one conversation.</summary>
    [Alias("Block")]
    Task<bool> BlockAsync(string userId);

    /// <summary>Lifts a block.</summary>
    [Alias("Unblock")]
    Task UnblockAsync(string userId);

    /// <summary>
    /// A shop account: replaces the agents who answer for it (each must be an agent account). <c>NotFound</c> when this is
    /// not a shop, <c>Invalid</c> when an agent is not an agent account.
    /// </summary>
    [Alias("SetAgents")]
    Task<Messages.AccessStatus> SetAgentsAsync(IReadOnlyList<string> agentIds);

    /// <summary>A shop account's agents (empty for other accounts).</summary>
    [Alias("GetAgents")]
    Task<IReadOnlyList<string>> GetAgentsAsync();

    /// <summary>
    /// True when this user blocks <paramref name="userId"/>. Interleaves (a read): contacts grains ask it while a block of
    /// this account's waits on them.
    /// </summary>
    [Alias("IsBlocking"), AlwaysInterleave]
    Task<bool> IsBlockingAsync(string userId);

    /// <summary>
    /// Whether <paramref name="actorId"/> may put this user into a group: not when this user blocks them, nor, under
    /// <see cref="GroupAddPolicy.Contacts"/>, when they are not friends. Interleaves (a read): conversation grains ask it
    /// while adding members, and it asks the user's contacts grain.
    /// </summary>
    [Alias("GroupAddFrom"), AlwaysInterleave]
    Task<GroupAddAnswer> GroupAddFromAsync(string actorId);

    /// <summary>Who may put this user into a group.</summary>
    [Alias("GetGroupAddPolicy"), AlwaysInterleave]
    Task<GroupAddPolicy> GetGroupAddPolicyAsync();

    /// <summary>Sets who may put this user into a group (groups the user is in already stay).</summary>
    [Alias("SetGroupAddPolicy")]
    Task SetGroupAddPolicyAsync(GroupAddPolicy policy);

    /// <summary>
    /// The users this one blocks. Interleaves (a read): the user grain asks it when it announces presence, and must not
    /// wait behind a call of this account's that waits on the user grain (account creation sets the profile).
    /// </summary>
    [Alias("GetBlocked"), AlwaysInterleave]
    Task<IReadOnlyList<string>> GetBlockedAsync();
}
