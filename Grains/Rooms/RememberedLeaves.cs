namespace Orleans.Im.Rooms;

/// <summary>
/// The users who left a room on their own (not by going offline), each with the latest membership that ended, so that a
/// device that was away then and asks after its reconnect to join again as that membership is refused rather than bring
/// the user back. Bounded by users: the oldest leave is forgotten first.
/// </summary>
public sealed class RememberedLeaves(int capacity)
{
    private readonly int _capacity = Math.Max(0, capacity);
    private readonly Dictionary<string, long> _ended = new(StringComparer.Ordinal);

    // In the order remembered; also holds leaves that a later one of the same user replaced, skipped on eviction and
    // dropped when they pile up.
    private readonly Queue<RoomMembership> _order = new();

    public int Count => _ended.Count;

    /// <summary>The latest membership of the user that ended by a leave, if remembered.</summary>
    public bool TryGet(string userId, out long ended) => _ended.TryGetValue(userId, out ended);

    public void Remember(RoomMembership left)
    {
        ArgumentNullException.ThrowIfNull(left);
        _ended[left.UserId] = left.Membership;
        _order.Enqueue(left);
        while (_ended.Count > _capacity && _order.TryDequeue(out var oldest))
        {
            if (IsLive(oldest))
            {
                _ended.Remove(oldest.UserId);
            }
        }

        if (_order.Count > (2 * _capacity) + 16)
        {
            var live = _order.Where(IsLive).ToArray();
            _order.Clear();
            foreach (var entry in live)
            {
                _order.Enqueue(entry);
            }
        }
    }

    private bool IsLive(RoomMembership entry) => _ended.TryGetValue(entry.UserId, out var membership) && membership == entry.Membership;
}
