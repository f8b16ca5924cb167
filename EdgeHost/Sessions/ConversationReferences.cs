using System.Collections.Concurrent;
using Orleans.Im.Conversations;

namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>
/// Conversation grain references for this edge's sends, kept for reuse. Orleans builds a new proxy for every reference it
/// hands out, and the conversation proxy's constructor resolves the codecs of its many methods through the service
/// provider: made per send, that was ~2.3 % of the edge's CPU at 4,000 p2p messages a second (docs/BENCHMARKS.md,
/// seventh session). References are immutable and safe to share; at most <see cref="Capacity"/> are kept, and all are
/// dropped when that is reached — cheaper than tracking use, and the busy ones are back after their next send.
/// </summary>
public sealed class ConversationReferences(IClusterClient client)
{
    /// <summary>The most references kept (a few hundred bytes each).</summary>
    public const int Capacity = 4_096;

    private readonly ConcurrentDictionary<string, IConversationGrain> _references = new(StringComparer.Ordinal);

    // Counted here: the dictionary's own Count takes every one of its locks, too much for each miss on the send path.
    // Racing adds and clears may leave it a little off, which only moves the next clear a little.
    private int _kept;

    /// <summary>References kept now.</summary>
    public int Count => _references.Count;

    /// <summary>The reference to conversation <paramref name="conversationId"/>.</summary>
    public IConversationGrain For(string conversationId)
    {
        if (_references.TryGetValue(conversationId, out var kept))
        {
            return kept;
        }

        var grain = client.For<IConversationGrain>(conversationId, out var keepable);
        if (!keepable)
        {
            return grain;
        }

        if (Volatile.Read(ref _kept) >= Capacity)
        {
            _references.Clear();
            Volatile.Write(ref _kept, 0);
        }

        if (_references.TryAdd(conversationId, grain))
        {
            Interlocked.Increment(ref _kept);
        }

        return grain;
    }
}
