using Orleans.Im.Messages;

namespace Orleans.Im.Conversations;

/// <summary>
/// The append-only message log of all conversations: the system of record for messages. Implementations group-commit
/// appends across conversations; every method completes only after the database committed, and throws
/// <see cref="Storage.StorageUnavailableException"/> when it could not.
/// </summary>
public interface IMessageLog
{
    /// <summary>
    /// Appends a run of one conversation's messages under their (consecutive) seqs, whole or not at all: either every
    /// message comes back <see cref="AppendStatus.Appended"/>, or none was stored. Idempotent by (conversation, sender,
    /// client message id): a message already stored comes back as <see cref="AppendStatus.Duplicate"/> with its
    /// original seq and time, one whose seq is taken as <see cref="AppendStatus.SeqTaken"/>, one the database refuses as
    /// invalid as <see cref="AppendStatus.Rejected"/> (never failing the appends of other conversations batched with it),
    /// and the others of such a run as <see cref="AppendStatus.NotStored"/>. One outcome per message, in order.
    /// </summary>
    Task<IReadOnlyList<AppendOutcome>> AppendRunAsync(IReadOnlyList<ChatMessage> run);

    /// <summary>
    /// Messages with <paramref name="afterSeq"/> &lt; seq &lt; <paramref name="beforeSeq"/>, at most <paramref name="limit"/>:
    /// the oldest of the range, or the newest when <paramref name="newest"/>. Always in ascending seq, with the latest
    /// revision applied (edits, recalls) and superseded notifications marked collapsed.
    /// </summary>
    Task<IReadOnlyList<ChatMessage>> ReadAsync(string conversationId, long afterSeq, long beforeSeq, int limit, bool newest);

    /// <summary>
    /// The messages after <paramref name="afterSeq"/> revised (edited, recalled) after <paramref name="after"/>, or hidden
    /// by <paramref name="userId"/> after it, at most <paramref name="limit"/>, in the order of those changes, as <see cref="ReadAsync"/> reads them
    /// with <see cref="ChatMessage.RevisedAt"/> the time of the latest one: what a device of that user that was away
    /// missed of changes to messages it already has.
    /// </summary>
    Task<IReadOnlyList<ChatMessage>> ReadChangedAsync(string conversationId, string userId, long afterSeq, DateTimeOffset after, int limit);

    /// <summary>When the latest revision of any of the conversation's messages was made; null when none was.</summary>
    Task<DateTimeOffset?> ReadLastRevisionTimeAsync(string conversationId);

    /// <summary>Records a new revision of a message: an edit (with content) or a recall (a tombstone).</summary>
    Task AppendRevisionAsync(string conversationId, long seq, int revision, MessageState state, MessageContent? content, string actorId, DateTimeOffset at);

    /// <summary>Hides a message from one user's pulls, at <paramref name="at"/> (once: hiding it again changes nothing).</summary>
    Task HideAsync(string userId, string conversationId, long seq, DateTimeOffset at);

    /// <summary>The seqs a user hid in a conversation.</summary>
    Task<IReadOnlyList<long>> ReadHiddenAsync(string userId, string conversationId);

    /// <summary>The users who hid at least one message of a conversation.</summary>
    Task<IReadOnlyList<string>> ReadUsersWithHiddenAsync(string conversationId);

    /// <summary>The users who hid message <paramref name="seq"/> of a conversation.</summary>
    Task<IReadOnlyList<string>> ReadHidersAsync(string conversationId, long seq);

    /// <summary>
    /// For each conversation, its last seq and the last seq <paramref name="userId"/> sent after the seq given for it
    /// (0 when none): rebuilding a user's index. Only the tail after the stored entry is searched for the user's own
    /// messages, because the stored read position already counts the ones before it, and of that tail only the newest
    /// messages (a store may bound the search: an unrecorded own message is one sent just before a crash).
    /// </summary>
    Task<IReadOnlyDictionary<string, LogPosition>> ReadPositionsAsync(string userId, IReadOnlyDictionary<string, long> knownLastSeqs);
}
