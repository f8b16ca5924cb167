using Orleans.Concurrency;
using Orleans.Im.Groups;
using Orleans.Im.Messages;
using Orleans.Im.PublicAccounts;
using Orleans.Im.Push;

namespace Orleans.Im.Conversations;

/// <summary>
/// A conversation: the single writer of its log. Assigns dense seqs from 1, dedups retries by client message id,
/// acks only after the database committed, fans out to members. Key: a conversation id from <see cref="GrainKeys"/>.
/// Every operation names the acting user; a non-member gets the same answer as for a conversation that does not exist.
/// </summary>
[Alias("im.IConversationGrain")]
public interface IConversationGrain : IGrainWithStringKey
{
    /// <summary>Sends a message. Idempotent by (sender, client message id).</summary>
    [Alias("Send")]
    Task<SendResult> SendAsync(SendRequest request);

    /// <summary>
    /// Sends several messages, each as by <see cref="SendAsync"/>, in array order (their seqs follow it), at most
    /// <see cref="MessageLimits.MaxSendsPerCall"/>; one result per request, in order. What is admitted is committed in one
    /// append: edges send a conversation's messages this way when they arrive while an earlier call to it is under way.
    /// </summary>
    [Alias("SendMany")]
    Task<SendResult[]> SendManyAsync(SendRequest[] requests);

    /// <summary>A range of the log, as <paramref name="userId"/> sees it (their deletions applied).</summary>
    [Alias("Pull")]
    Task<PullResult> PullAsync(string userId, PullRequest request);

    /// <summary>
    /// The messages revised (edited, recalled) after <paramref name="after"/>, at most <paramref name="limit"/> (1 to
    /// <see cref="Messages.MessageLimits.MaxPullLimit"/>), as <paramref name="userId"/> sees them: what a device that was
    /// away missed of changes to messages it already has (a pull goes forward by seq and never shows them again).
    /// </summary>
    [Alias("PullChanges")]
    Task<ChangesResult> PullChangesAsync(string userId, DateTimeOffset after, int limit);

    /// <summary>
    /// Recalls a message: the sender within the recall window, a group's owner or admins at any time.
    /// Leaves a tombstone under the same seq and pushes a change event.
    /// </summary>
    [Alias("Recall")]
    Task<AccessStatus> RecallAsync(string userId, long seq);

    /// <summary>Replaces a message's content, by its sender within the edit window: a new revision of the same seq.</summary>
    [Alias("Edit")]
    Task<AccessStatus> EditAsync(string userId, long seq, MessageContent content);

    /// <summary>Hides a message from <paramref name="userId"/>'s own pulls; others still see it.</summary>
    [Alias("DeleteForSelf")]
    Task<AccessStatus> DeleteForSelfAsync(string userId, long seq);

    /// <summary>How many members other than the sender have read up to <paramref name="seq"/> ("read by N").</summary>
    [Alias("GetReadCount")]
    Task<(AccessStatus Status, int ReadBy)> GetReadCountAsync(string userId, long seq);

    /// <summary>The last seq and last message, for a member reconciling its conversation entry (read diffusion).</summary>
    /// <remarks>
    /// Interleaves, like <see cref="GetMembersAsync"/>: a pure read, and a user grain asks it while syncing, when this grain
    /// may be waiting on that very user grain (removing or adding members calls them): both would wait for the call timeout.
    /// </remarks>
    [Alias("GetHead"), AlwaysInterleave]
    Task<(AccessStatus Status, ChatMessage? Last, long LastSeq)> GetHeadAsync(string userId);

    /// <summary>
    /// As <see cref="GetHeadAsync"/>, and when the latest change (edit, recall) to any of its messages was made: read
    /// diffusion tells only online members of changes, so the others' entries learn of them here, at sync.
    /// </summary>
    /// <remarks>Interleaves, as <see cref="GetHeadAsync"/> does, for the same reason.</remarks>
    [Alias("GetHeadWithChanges"), AlwaysInterleave]
    Task<ConversationHead> GetHeadWithChangesAsync(string userId);

    /// <summary>A member's read position moved (called by the member's user grain).</summary>
    [Alias("OnRead"), OneWay]
    Task OnReadAsync(string userId, long seq);

    /// <summary>
    /// A member of a large group (or a subscriber of an official account) came online or went offline (called by the
    /// member's user grain). A member online by this call alone is told of messages through their user grain; user grains
    /// now call <see cref="SetMemberRoutesAsync"/>, and this stays for those of a silo from before it.
    /// </summary>
    [Alias("SetMemberOnline"), OneWay]
    Task SetMemberOnlineAsync(string userId, bool online);

    /// <summary>
    /// Where a member of a large group (or a subscriber of an official account) takes pushes now (called by the member's
    /// user grain whenever that changes): one entry per edge holding a device of theirs, its push observer, or null for
    /// devices that take pushes from the user's stream; empty when the member went offline. Read diffusion pushes each
    /// message to its online members by these routes, without a call to each member's user grain.
    /// </summary>
    [Alias("SetMemberRoutes"), OneWay]
    Task SetMemberRoutesAsync(string userId, IEdgePushObserver?[] routes);

    /// <summary>P2P: <paramref name="userId"/> blocks (or stops blocking) the other user of this conversation.</summary>
    [Alias("SetBlocked")]
    Task SetBlockedAsync(string userId, bool blocked);

    /// <summary>Creates the group this grain's key names; the caller becomes its owner.</summary>
    [Alias("CreateGroup")]
    Task<GroupResult> CreateGroupAsync(CreateGroupRequest request);

    /// <summary>Adds members (owner and admins only).</summary>
    [Alias("AddMembers")]
    Task<GroupResult> AddMembersAsync(string actorId, IReadOnlyList<string> userIds);

    /// <summary>Removes a member (owner: anyone but themselves; admins: plain members).</summary>
    [Alias("RemoveMember")]
    Task<GroupResult> RemoveMemberAsync(string actorId, string userId);

    /// <summary>Leaves the group. An owner who leaves hands ownership to the longest-standing admin, else member.</summary>
    [Alias("Leave")]
    Task<GroupResult> LeaveAsync(string userId);

    /// <summary>Makes a member an admin or a plain member (owner only).</summary>
    [Alias("SetRole")]
    Task<GroupResult> SetRoleAsync(string actorId, string userId, GroupRole role);

    /// <summary>
    /// Renames the group (owner and admins only): 1 to <see cref="CreateGroupRequest.MaxNameLength"/> characters, as at
    /// its creation. A notice says so; the name it has already posts nothing.
    /// </summary>
    [Alias("RenameGroup")]
    Task<GroupResult> RenameGroupAsync(string actorId, string name);

    /// <summary>Sets the announcement (owner and admins only); null clears it.</summary>
    [Alias("SetAnnouncement")]
    Task<GroupResult> SetAnnouncementAsync(string actorId, string? announcement);

    /// <summary>
    /// Whether members added from now on read what was said before they joined (owner and admins only; see
    /// <see cref="GroupInfo.HidesHistoryFromNewMembers"/>). A notice says so; setting what it is already posts nothing.
    /// </summary>
    [Alias("SetHistoryHidden")]
    Task<GroupResult> SetHistoryHiddenFromNewMembersAsync(string actorId, bool hidden);

    /// <summary>
    /// Dissolves the group (owner only): a notice says so, and from then on nobody writes to it, adds to it or changes it;
    /// its members keep its history and may leave it. Dissolving a dissolved group answers as the first time did.
    /// </summary>
    [Alias("DissolveGroup")]
    Task<GroupResult> DissolveGroupAsync(string actorId);

    /// <summary>The group as a member sees it.</summary>
    [Alias("GetGroup")]
    Task<GroupResult> GetGroupAsync(string userId);

    /// <summary>The members with their roles, for a member.</summary>
    /// <remarks>
    /// Interleaves: a pure read, and user grains ask it while this grain may be waiting on them (adding members calls
    /// the user grains), which would otherwise deadlock until the call timeout.
    /// </remarks>
    [Alias("GetMembers"), AlwaysInterleave]
    Task<(AccessStatus Status, IReadOnlyList<GroupMember> Members)> GetMembersAsync(string userId);

    /// <summary>
    /// Customer service (<c>cs:{shop}:{user}</c>, called by the shop's queue grain): the agent who answers for the shop
    /// from now on, or null for none. The agent gets the conversation (with its earlier history) in their list; a
    /// previous agent loses it. <paramref name="agentName"/> is shown to the user with the agent's replies when set;
    /// the agent's unread count starts after <paramref name="agentReadSeq"/> (the messages before the session).
    /// </summary>
    [Alias("SetCustomerServiceAgent")]
    Task<AccessStatus> SetCustomerServiceAgentAsync(string? agentId, string? agentName, long agentReadSeq);

    /// <summary>
    /// Customer service (called by the shop's queue grain): the queue has stored the user's message <paramref name="seq"/>
    /// (and so every earlier one), so the conversation stops telling it again. Until this comes, the conversation repeats
    /// the tell: the first one is one-way and is lost with a silo or a failed write of the queue's state.
    /// </summary>
    [Alias("OnCustomerServiceTold"), OneWay]
    Task OnCustomerServiceToldAsync(long seq);

    /// <summary>
    /// Official accounts (<c>pub:{id}</c>, admin API): creates the account's conversation, or renames it and replaces its
    /// operators. Only operators (and the account itself) broadcast; subscribers read.
    /// </summary>
    [Alias("SetupPublicAccount")]
    Task<AccessStatus> SetupPublicAccountAsync(string name, IReadOnlyList<string> operatorIds);

    /// <summary>Official accounts: the account, or null when this is not a set-up official account.</summary>
    [Alias("GetPublicAccount")]
    Task<PublicAccountInfo?> GetPublicAccountAsync();

    /// <summary>
    /// Official accounts: <paramref name="userId"/> subscribes (idempotent). The subscription is one database row; the
    /// user's conversation entry starts at the current head (earlier broadcasts are not unread) and follows by read diffusion.
    /// </summary>
    [Alias("Subscribe")]
    Task<AccessStatus> SubscribeAsync(string userId);

    /// <summary>Official accounts: <paramref name="userId"/> unsubscribes (idempotent); the entry is marked removed.</summary>
    [Alias("Unsubscribe")]
    Task<AccessStatus> UnsubscribeAsync(string userId);

    /// <summary>Official accounts: a page of subscribers in user-id order, after <paramref name="afterUserId"/>.</summary>
    [Alias("ListSubscribers")]
    Task<IReadOnlyList<string>> ListSubscribersAsync(string? afterUserId, int limit);

    /// <summary>Official accounts: which of <paramref name="userIds"/> are subscribed (for targeted pushes).</summary>
    [Alias("FilterSubscribers")]
    Task<IReadOnlyList<string>> FilterSubscribersAsync(IReadOnlyList<string> userIds);
}
