using System.Globalization;
using Orleans.Im.Conversations;
using Orleans.Im.Messages;

namespace Orleans.Im.Bench.GroupCommit;

/// <summary>
/// Builds the benchmark's messages: persistent text messages of a typical chat size in fresh conversations, so that
/// runs never collide with each other or with data already in the database. Remembers every conversation it made,
/// so that the benchmark can delete exactly its own rows afterwards.
/// </summary>
public sealed class BenchMessageFactory
{
    // About the size of a chat line; the JSON stored is about 90 bytes.
    private const string Filler = "The quick brown fox jumps over the lazy dog. ";

    private readonly List<string> _conversations = [];

    public IReadOnlyList<string> Conversations => _conversations;

    /// <summary>A conversation id no earlier run used.</summary>
    public string NewConversation()
    {
        var id = GrainKeys.Group("bench-" + Guid.NewGuid().ToString("N"));
        _conversations.Add(id);
        return id;
    }

    /// <summary>
    /// Messages 1..<paramref name="count"/> of <paramref name="conversationId"/> from <paramref name="senderId"/>,
    /// with dense seqs and unique client ids, as the conversation grain would log them.
    /// </summary>
    public static ChatMessage[] Sequence(string conversationId, string senderId, int count)
    {
        // Server times are whole milliseconds, as the grain stamps them.
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        var messages = new ChatMessage[count];
        for (var i = 0; i < count; i++)
        {
            var seq = i + 1;
            messages[i] = new ChatMessage(
                conversationId,
                seq,
                senderId,
                "bench-device",
                Guid.NewGuid().ToString("N"),
                MessageClass.Persistent,
                MessageContent.FromText(Filler + seq.ToString(CultureInfo.InvariantCulture)),
                now.AddMilliseconds(i));
        }

        return messages;
    }

    /// <summary>Throws unless every outcome is a fresh append: anything else means the run did not measure appends.</summary>
    public static void EnsureAppended(IReadOnlyList<AppendOutcome> outcomes)
    {
        foreach (var outcome in outcomes)
        {
            EnsureAppended(outcome);
        }
    }

    /// <inheritdoc cref="EnsureAppended(IReadOnlyList{AppendOutcome})"/>
    public static void EnsureAppended(AppendOutcome outcome)
    {
        if (outcome.Status != AppendStatus.Appended)
        {
            throw new InvalidOperationException($"a benchmark message was not appended: {outcome.Status} at seq {outcome.Seq}");
        }
    }
}
