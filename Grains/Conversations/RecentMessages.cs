using Orleans.Im.Messages;

namespace Orleans.Im.Conversations;

/// <summary>The newest messages of a conversation, in memory, in seq order, at most a fixed number.</summary>
public sealed class RecentMessages(int capacity)
{
    private readonly List<ChatMessage> _messages = new(capacity + 1);

    /// <summary>The seq of the oldest message held; 0 when none is held.</summary>
    public long FirstSeq => _messages.Count == 0 ? 0 : _messages[0].Seq;

    /// <summary>The newest message held.</summary>
    public ChatMessage? Last => _messages.Count == 0 ? null : _messages[^1];

    /// <summary>Replaces everything held with <paramref name="messages"/> (ascending seq).</summary>
    public void Reset(IEnumerable<ChatMessage> messages)
    {
        _messages.Clear();
        foreach (var message in messages)
        {
            Add(message);
        }
    }

    /// <summary>Adds the newest message, dropping the oldest beyond capacity.</summary>
    public void Add(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        _messages.Add(message);
        if (_messages.Count > capacity)
        {
            _messages.RemoveAt(0);
        }
    }

    /// <summary>The message with <paramref name="seq"/>, if held.</summary>
    public ChatMessage? Find(long seq)
    {
        var index = IndexOf(seq);
        return index < 0 ? null : _messages[index];
    }

    /// <summary>Replaces the held message with the same seq (after an edit, recall or collapse); ignored when not held.</summary>
    public void Replace(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var index = IndexOf(message.Seq);
        if (index >= 0)
        {
            _messages[index] = message;
        }
    }

    /// <summary>The held messages that <paramref name="match"/>, in seq order.</summary>
    public List<ChatMessage> Where(Predicate<ChatMessage> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        return _messages.FindAll(match);
    }

    /// <summary>
    /// Held notifications of <paramref name="senderId"/> with <paramref name="collapseKey"/> older than <paramref name="seq"/>:
    /// a key collapses only its own sender's notices, or any member could blank out another's.
    /// </summary>
    public IEnumerable<ChatMessage> WithCollapseKey(string senderId, string collapseKey, long seq) =>
        _messages.Where(m => m.Seq < seq && m.CollapseKey == collapseKey && m.SenderId == senderId && m.State != MessageState.Collapsed).ToList();

    /// <summary>
    /// Messages with <paramref name="afterSeq"/> &lt; seq &lt; <paramref name="beforeSeq"/>, at most <paramref name="limit"/>, the
    /// oldest or newest of the range; null when the held messages cannot answer for the whole range (it reaches older
    /// than the oldest held, and the log has older messages).
    /// </summary>
    public IReadOnlyList<ChatMessage>? TryRange(long afterSeq, long beforeSeq, int limit, bool newest, long lastSeq)
    {
        if (lastSeq == 0)
        {
            return [];
        }

        var first = FirstSeq;
        var holdsWholeLog = first == 1;
        var high = Math.Min(beforeSeq - 1, lastSeq);
        var low = afterSeq + 1;
        if (high < low)
        {
            return [];
        }

        // The lowest seq the answer needs: the range's start when catching up, or the limit's worth below its end.
        var needed = newest ? Math.Max(low, high - limit + 1) : low;
        if (!holdsWholeLog && (first == 0 || needed < first))
        {
            return null;
        }

        var inRange = _messages.Where(m => m.Seq >= low && m.Seq <= high);
        return (newest ? inRange.TakeLast(limit) : inRange.Take(limit)).ToList();
    }

    private int IndexOf(long seq)
    {
        if (_messages.Count == 0)
        {
            return -1;
        }

        // Seqs are dense while held: the position follows from the first.
        var index = (int)(seq - _messages[0].Seq);
        return index >= 0 && index < _messages.Count && _messages[index].Seq == seq ? index : -1;
    }
}
