namespace Orleans.Im.Firehose;

/// <summary>The last N event ids seen, to drop duplicates; the oldest is forgotten first.</summary>
internal sealed class RecentIds(int capacity)
{
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();

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

        _order.Enqueue(id);
        if (_order.Count > capacity)
        {
            _ids.Remove(_order.Dequeue());
        }

        return true;
    }
}
