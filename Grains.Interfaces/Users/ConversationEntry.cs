using Orleans.Im.Conversations;

namespace Orleans.Im.Users;

/// <summary>One conversation in a user's conversation list, as synced to every device of the user.</summary>
/// <param name="ConversationId">The conversation.</param>
/// <param name="Kind">Its kind.</param>
/// <param name="LastSeq">The conversation's last seq as far as this user knows.</param>
/// <param name="LastMessage">A preview of the last message, if any.</param>
/// <param name="ReadSeq">The user's read position: every message up to it is read.</param>
/// <param name="UnreadCount">Messages after the read position.</param>
/// <param name="Muted">No notifications (the unread count still counts).</param>
/// <param name="Pinned">Shown on top.</param>
/// <param name="Hidden">Not shown in the list until a new message arrives.</param>
/// <param name="Draft">Unsent text, synced across devices.</param>
/// <param name="Mentioned">The user was @-mentioned after the read position; survives muting.</param>
/// <param name="Removed">The user left or was removed; the entry stays so that devices can drop it.</param>
/// <param name="Version">The user's sync version at the entry's last change.</param>
/// <param name="PeerReadSeq">One-to-one conversations: how far the other user has read (for "read" marks).</param>
/// <param name="MentionSeq">
/// The seq of the latest message that @-mentioned the user (0: none); <see cref="Mentioned"/> holds while it is after the
/// read position.
/// </param>
/// <param name="ChangedAt">
/// When the latest change to one of its messages (edit, recall) the user was told of was made; null when none. A device
/// that saw changes only up to an earlier time fetches the rest (<see cref="IConversationGrain.PullChangesAsync"/>).
/// </param>
[GenerateSerializer, Immutable, Alias("im.ConversationEntry")]
public sealed record ConversationEntry(
    [property: Id(0)] string ConversationId,
    [property: Id(1)] ConversationKind Kind,
    [property: Id(2)] long LastSeq,
    [property: Id(3)] MessagePreview? LastMessage,
    [property: Id(4)] long ReadSeq,
    [property: Id(5)] long UnreadCount,
    [property: Id(6)] bool Muted,
    [property: Id(7)] bool Pinned,
    [property: Id(8)] bool Hidden,
    [property: Id(9)] string? Draft,
    [property: Id(10)] bool Mentioned,
    [property: Id(11)] bool Removed,
    [property: Id(12)] long Version,
    [property: Id(13)] long PeerReadSeq = 0,
    [property: Id(14)] long MentionSeq = 0,
    [property: Id(15)] DateTimeOffset? ChangedAt = null);
