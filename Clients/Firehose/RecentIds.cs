namespace Orleans.Im.Firehose;

/// <summary>
/// The event ids seen lately, to drop duplicates: at least the last <c>capacity</c> ids, and every id seen within
/// <c>minAge</c> however many came since (a publisher's retry comes seconds after the original, and at a busy
/// deployment's rate a count alone covers less than a second), up to <c>hardCap</c> ids. The oldest go first.
/// </summary>
internal sealed class RecentIds(int capacity, TimeSpan minAge, int hardCap, TimeProvider time)
{
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);
    private readonly Queue<(string Id, long SeenAt)> _order = new();

    /// <summary>True when the id was added recently (never when nothing is remembered).</summary>
    public bool Contains(string id) => capacity > 0 && _ids.Contains(id);

    /// <summary>False when the id was seen recently.</summary>
    public bool Add(string id)
    {
        if (capacity <= 0)
        {
            return true;
        }

        if (!_ids.Add(id))
        {
            return false;
        }

        var now = time.GetTimestamp();
        _order.Enqueue((id, now));
        while (_order.Count > capacity
            && (_order.Count > hardCap || time.GetElapsedTime(_order.Peek().SeenAt, now) > minAge))
        {
            _ids.Remove(_order.Dequeue().Id);
        }

        return true;
    }
}
