using Orleans.Im.Users;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// The silo's conversation index store with <see cref="StorageFaults"/> in front of its saves: a user grain that the
/// tests make fail (its grain id) cannot save its index either, as when the database is unreachable. Loads pass.
/// </summary>
public sealed class FaultyConversationIndexStore(IConversationIndexStore inner, StorageFaults faults) : IConversationIndexStore
{
    public Task<IReadOnlyList<IndexRow>> LoadAsync(string userId) => inner.LoadAsync(userId);

    public Task<IReadOnlyList<string>> SaveAsync(string userId, IReadOnlyList<IndexRow> rows)
    {
        faults.ThrowIfFailing(GrainId.Create("user", userId));
        return inner.SaveAsync(userId, rows);
    }

    public Task<IReadOnlyDictionary<string, long>> LoadReadPositionsAsync(string conversationId) => inner.LoadReadPositionsAsync(conversationId);
}
