using Orleans.Im.Messages;

namespace Orleans.Im.Conversations;

/// <summary>Where a conversation stands, for a member reconciling its entry (see <see cref="IConversationGrain.GetHeadWithChangesAsync"/>).</summary>
/// <param name="Status">Ok, or NoAccess for one who is no member.</param>
/// <param name="Last">The last message as the member sees it, if held.</param>
/// <param name="LastSeq">The last seq.</param>
/// <param name="LastChangeAt">When the latest edit or recall of any of its messages was made; null when none.</param>
[GenerateSerializer, Immutable, Alias("im.ConversationHead")]
public sealed record ConversationHead(
    [property: Id(0)] AccessStatus Status,
    [property: Id(1)] ChatMessage? Last,
    [property: Id(2)] long LastSeq,
    [property: Id(3)] DateTimeOffset? LastChangeAt);
