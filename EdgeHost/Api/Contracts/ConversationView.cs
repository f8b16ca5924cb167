using Orleans.Im.Conversations;
using Orleans.Im.Users;

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>
/// One entry of the user's conversation list. <c>ChangedAt</c>: when the latest edit or recall of one of its messages was
/// made (null: none); a client that saw changes only up to an earlier time fetches the rest
/// (<c>GET /api/conversations/{id}/changes?after=…</c>).
/// </summary>
public sealed record ConversationView(string ConversationId, ConversationKind Kind, long LastSeq, long ReadSeq, long Unread, MessagePreview? LastMessage, bool Muted, bool Pinned, bool Hidden, string? Draft, bool Mentioned, bool Removed, long Version, long PeerReadSeq, long MentionSeq = 0, DateTimeOffset? ChangedAt = null);
