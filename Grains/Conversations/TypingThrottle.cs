using Orleans.Im.Messages;

namespace Orleans.Im.Conversations;

/// <summary>
/// At most one typing indicator per sender every <see cref="TypingIndicator.ThrottleInterval"/> goes out: a client may
/// send one per keystroke, and the others already show "typing". Shared by conversations and chat rooms.
/// </summary>
public sealed class TypingThrottle
{
    private readonly Dictionary<string, DateTimeOffset> _forwarded = new(StringComparer.Ordinal);

    /// <summary>Senders kept (each until <see cref="ForgetPast"/> finds its interval over).</summary>
    public int Count => _forwarded.Count;

    /// <summary>Whether <paramref name="senderId"/>'s indicator goes out now; if so, the next waits out the interval.</summary>
    public bool TryForward(string senderId, DateTimeOffset now)
    {
        if (_forwarded.TryGetValue(senderId, out var last) && now - last < TypingIndicator.ThrottleInterval)
        {
            return false;
        }

        _forwarded[senderId] = now;
        return true;
    }

    /// <summary>Forgets the senders whose interval is over, which loses nothing (a new entry starts the same).</summary>
    public void ForgetPast(DateTimeOffset now)
    {
        foreach (var senderId in _forwarded.Where(t => now - t.Value >= TypingIndicator.ThrottleInterval).Select(t => t.Key).ToList())
        {
            _forwarded.Remove(senderId);
        }
    }
}
