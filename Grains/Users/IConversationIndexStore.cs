namespace Orleans.Im.Users;

/// <summary>
/// Durable per-user conversation indexes. Implementations batch writes of many users into one commit; a save
/// completes only after the commit, and throws <see cref="Storage.StorageUnavailableException"/> when it could not.
/// </summary>
public interface IConversationIndexStore
{
    /// <summary>Every stored entry of a user.</summary>
    Task<IReadOnlyList<IndexRow>> LoadAsync(string userId);

    /// <summary>
    /// Upserts entries of a user. A row never goes back to an older version. Returns the conversation ids of the rows
    /// the database refused as invalid (a value it cannot store; a retry fails the same way): those alone are not
    /// stored, and never fail the other rows, of this user or of others batched with them.
    /// </summary>
    Task<IReadOnlyList<string>> SaveAsync(string userId, IReadOnlyList<IndexRow> rows);

    /// <summary>Every member's stored read position in a conversation.</summary>
    Task<IReadOnlyDictionary<string, long>> LoadReadPositionsAsync(string conversationId);
}
