namespace Orleans.Im.Users;

/// <summary>One stored entry of a user's conversation index, with how the user learns of new messages in it.</summary>
/// <param name="Entry">The entry as devices see it.</param>
/// <param name="ReadDiffusion">True for large groups: the user is not told of every message and reconciles at sync.</param>
/// <param name="Uncounted">
/// Seqs above the read position that no longer count as unread (see <see cref="UnreadCounting"/>), ascending; null when
/// none.
/// </param>
public sealed record IndexRow(ConversationEntry Entry, bool ReadDiffusion, IReadOnlyList<long>? Uncounted = null);
