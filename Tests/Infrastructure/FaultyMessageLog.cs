using Orleans.Im.Conversations;
using Orleans.Im.Messages;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// The silo's message log with <see cref="StorageFaults"/> in front of its appends: a conversation whose
/// <see cref="For"/> id the tests make fail cannot append to its log, as when the message table is unreachable, while
/// its grain state (members, settings) is still saved. Reads pass.
/// </summary>
public sealed class FaultyMessageLog(IMessageLog inner, StorageFaults faults) : IMessageLog
{
    /// <summary>The id to fail (<see cref="StorageFaults.Fail"/>) for the appends of <paramref name="conversationId"/>'s log.</summary>
    public static GrainId For(string conversationId) => GrainId.Create("message-log", conversationId);

    /// <summary>The conversation's read of who hid messages, for <see cref="StorageFaults.HoldNext"/>.</summary>
    public static GrainId UsersWithHiddenRead(string conversationId) => GrainId.Create("message-log-hiders", conversationId);

    public Task<IReadOnlyList<AppendOutcome>> AppendRunAsync(IReadOnlyList<ChatMessage> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        foreach (var conversationId in run.Select(m => m.ConversationId).Distinct())
        {
            faults.ThrowIfFailing(For(conversationId));
        }

        return inner.AppendRunAsync(run);
    }

    public Task<IReadOnlyList<ChatMessage>> ReadAsync(string conversationId, long afterSeq, long beforeSeq, int limit, bool newest) =>
        inner.ReadAsync(conversationId, afterSeq, beforeSeq, limit, newest);

    public Task<IReadOnlyList<ChatMessage>> ReadChangedAsync(string conversationId, string userId, long afterSeq, DateTimeOffset after, int limit) =>
        inner.ReadChangedAsync(conversationId, userId, afterSeq, after, limit);

    public Task<DateTimeOffset?> ReadLastRevisionTimeAsync(string conversationId) => inner.ReadLastRevisionTimeAsync(conversationId);

    public Task AppendRevisionAsync(string conversationId, long seq, int revision, MessageState state, MessageContent? content, string actorId, DateTimeOffset at) =>
        inner.AppendRevisionAsync(conversationId, seq, revision, state, content, actorId, at);

    public Task HideAsync(string userId, string conversationId, long seq, DateTimeOffset at) => inner.HideAsync(userId, conversationId, seq, at);

    public Task<IReadOnlyList<long>> ReadHiddenAsync(string userId, string conversationId) => inner.ReadHiddenAsync(userId, conversationId);

    public Task<IReadOnlyList<string>> ReadHidersAsync(string conversationId, long seq) => inner.ReadHidersAsync(conversationId, seq);

    public async Task<IReadOnlyList<string>> ReadUsersWithHiddenAsync(string conversationId)
    {
        var read = await inner.ReadUsersWithHiddenAsync(conversationId);
        await faults.WhileHeldAsync(UsersWithHiddenRead(conversationId));
        return read;
    }

    public Task<IReadOnlyDictionary<string, LogPosition>> ReadPositionsAsync(string userId, IReadOnlyDictionary<string, long> knownLastSeqs) =>
        inner.ReadPositionsAsync(userId, knownLastSeqs);
}
