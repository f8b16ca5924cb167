using Orleans.Im.Messages;

namespace Orleans.Im.Users;

/// <summary>
/// A conversation entry's unread count: the messages after its read position, less those that stopped counting while
/// unread — recalled, deleted for the user, or a notification superseded by a newer one with its collapse key. A user
/// told "2 unread" of a conversation that shows one new line (the other recalled before they looked) sees a count that
/// does not add up; so do the badge and the title that sum it.
/// </summary>
/// <remarks>
/// The seqs that stopped counting are kept per entry (above the read position only, so the set empties as the user
/// reads), which makes a change told twice — a conversation announcing its recent changes again after a restart —
/// count once.
/// </remarks>
public static class UnreadCounting
{
    /// <summary>
    /// The most seqs an entry remembers as not counting. Beyond it the oldest count again: an unread count too high by
    /// what a flood of superseded notices left, rather than an entry that grows without bound until read.
    /// </summary>
    public const int MaxUncounted = 256;

    /// <summary>
    /// False for a message that is no longer there to read: recalled, deleted for the user, or a notification superseded
    /// by a newer one with its collapse key.
    /// </summary>
    public static bool Counts(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.State is not (MessageState.Recalled or MessageState.Deleted or MessageState.Collapsed);
    }

    /// <summary>Unread messages of an entry at <paramref name="lastSeq"/>, read to <paramref name="readSeq"/>.</summary>
    public static long Count(long lastSeq, long readSeq, IReadOnlyList<long>? uncounted)
    {
        var unread = Math.Max(0, lastSeq - readSeq);
        if (uncounted is null || unread == 0)
        {
            return unread;
        }

        var notCounted = 0;
        foreach (var seq in uncounted)
        {
            if (seq > readSeq && seq <= lastSeq)
            {
                notCounted++;
            }
        }

        return unread - notCounted;
    }

    /// <summary>
    /// True when <paramref name="seq"/> would stop counting now: above the read position and not counted out already.
    /// </summary>
    public static bool IsNewlyUncounted(IReadOnlyList<long>? uncounted, long readSeq, long seq) =>
        seq > readSeq && (uncounted is null || !uncounted.Contains(seq));

    /// <summary>
    /// The seqs not counting once the entry is read to <paramref name="readSeq"/>, with <paramref name="add"/> (if any,
    /// and above the read position): ascending, at most <see cref="MaxUncounted"/>; null when none. The same instance when
    /// nothing changed.
    /// </summary>
    public static IReadOnlyList<long>? Settle(IReadOnlyList<long>? uncounted, long readSeq, IEnumerable<long>? add = null)
    {
        var adding = add?.Where(seq => IsNewlyUncounted(uncounted, readSeq, seq)).ToList();
        var stale = uncounted is not null && uncounted.Count > 0 && uncounted[0] <= readSeq;
        if (!stale && (adding is null || adding.Count == 0))
        {
            return uncounted;
        }

        var settled = (uncounted ?? []).Where(seq => seq > readSeq).Concat(adding ?? []).Distinct().Order().ToList();
        if (settled.Count > MaxUncounted)
        {
            settled.RemoveRange(0, settled.Count - MaxUncounted);
        }

        return settled.Count == 0 ? null : settled;
    }
}
