using Orleans.Im.Conversations;
using Orleans.Im.Users;

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>One entry of the user's conversation list.</summary>
public sealed record ConversationView(string ConversationId, ConversationKind Kind, long LastSeq, long ReadSeq, long Unread, MessagePreview? LastMessage, bool Muted, bool Pinned, bool Hidden, string? Draft, bool Mentioned, bool Removed, long Version, long PeerReadSeq, long MentionSeq = 0);
