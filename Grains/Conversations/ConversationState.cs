using Orleans.Im.Groups;

namespace Orleans.Im.Conversations;

/// <summary>
/// The small, rarely changing part of a conversation that lives in grain state: members, roles, group metadata.
/// The message log never lives here (see <see cref="IMessageLog"/>).
/// </summary>
[GenerateSerializer, Alias("im.ConversationState")]
public sealed class ConversationState
{
    /// <summary>P2P: both users' entries exist. Group: created.</summary>
    [Id(0)]
    public bool Initialized { get; set; }

    [Id(1)]
    public string? Name { get; set; }

    [Id(2)]
    public string? Announcement { get; set; }

    [Id(3)]
    public Dictionary<string, GroupMember> Members { get; set; } = new(StringComparer.Ordinal);

    [Id(4)]
    public DateTimeOffset CreatedAt { get; set; }

    [Id(5)]
    public string? OwnerId { get; set; }

    /// <summary>P2P: the users of this conversation who block the other one.</summary>
    [Id(6)]
    public HashSet<string> BlockedBy { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Customer service: the agent answering for the shop now; null while queued or closed.</summary>
    [Id(7)]
    public string? CustomerServiceAgentId { get; set; }

    /// <summary>Customer service: the name users see with the agent's replies; null when the shop hides it.</summary>
    [Id(8)]
    public string? CustomerServiceAgentName { get; set; }

    /// <summary>Official accounts: the users who broadcast for the account (people or robot accounts).</summary>
    [Id(9)]
    public List<string> PublicAccountOperators { get; set; } = [];

    /// <summary>
    /// Customer service: former agents whose user grains have not yet dropped this conversation from their lists (a
    /// removal that failed); the next hand-over retries them. They lost access when the agent id changed.
    /// </summary>
    [Id(10)]
    public List<string> CustomerServiceFormerAgents { get; set; } = [];

    /// <summary>
    /// Groups: the group crossed the large-group threshold and not every member's entry could be switched to the other
    /// way of learning of messages yet; the next membership change tries again (see ConversationGrain.AddMembersAsync).
    /// </summary>
    [Id(11)]
    public bool DiffusionSwitchPending { get; set; }

    /// <summary>
    /// Groups: notices of changes stored but not yet in the log, oldest first (see <see cref="PendingGroupNotice"/>).
    /// </summary>
    [Id(12)]
    public List<PendingGroupNotice> PendingNotices { get; set; } = [];

    /// <summary>
    /// Groups: when the owner dissolved it; from then on nobody writes to it or changes it, and its members keep its
    /// history until they leave.
    /// </summary>
    [Id(13)]
    public DateTimeOffset? DissolvedAt { get; set; }

    /// <summary>
    /// Groups: members added from now on read only what is said from their join on (see
    /// <see cref="GroupMember.HistoryStartsAfterSeq"/>). False in groups stored before it could be set, which show their
    /// history as they did.
    /// </summary>
    [Id(14)]
    public bool HidesHistoryFromNewMembers { get; set; }

    /// <summary>
    /// Groups: members stored as members whose entry their user grain has not yet confirmed (added while it could not
    /// commit); without one, the group is missing from their list and its messages never reach them. Stored with the
    /// membership, made until confirmed (see ConversationGrain.SettleEntriesOwedAsync).
    /// </summary>
    [Id(15)]
    public List<string> EntriesOwed { get; set; } = [];
}
