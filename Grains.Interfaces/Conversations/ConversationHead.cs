using Orleans.Im.Messages;

namespace Orleans.Im.Conversations;

/// <summary>Where a conversation stands, for a member reconciling its entry (see <see cref="IConversationGrain.GetHeadWithChangesAsync"/>).</summary>
/// <param name="Status">Ok, or NoAccess for one who is no member.</param>
/// <param name="Last">The last message as the member sees it, if held.</param>
/// <param name="LastSeq">The last seq.</param>
/// <param name="LastChangeAt">When the latest edit or recall of any of its messages was made; null when none.</param>
/// <param name="NotCounted">
/// Seqs among the newest messages (those the conversation holds in memory) that are no longer there to read for the member:
/// recalled, deleted for them, superseded notifications. They do not count as unread. Null from a silo that predates it.
/// </param>
[GenerateSerializer, Immutable, Alias("im.ConversationHead")]
public sealed record ConversationHead(
    [property: Id(0)] AccessStatus Status,
    [property: Id(1)] ChatMessage? Last,
    [property: Id(2)] long LastSeq,
    [property: Id(3)] DateTimeOffset? LastChangeAt,
    [property: Id(4)] IReadOnlyList<long>? NotCounted = null);
