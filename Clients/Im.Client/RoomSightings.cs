using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Client;

/// <summary>
/// The room messages this client has shown lately, per room, by sender and client message id (a room's seqs start over
/// when the room comes back on another silo, so they cannot say it): a push of a message the join's history held
/// already, or the history a rejoin answers, shows only what was not shown. Bounded per room by
/// <see cref="MaxPerRoom"/>, oldest forgotten first, which is more than a room's history holds.
/// </summary>
internal sealed class RoomSightings
{
    /// <summary>Messages remembered per room: more than the history a join answers (the server's default is 50).</summary>
    public const int MaxPerRoom = 256;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Seen> _rooms = new(StringComparer.Ordinal);

    /// <summary>Notes <paramref name="message"/> as shown; true when it was not shown before.</summary>
    public bool FirstSight(Message message)
    {
        lock (_lock)
        {
            if (!_rooms.TryGetValue(message.ConversationId, out var seen))
            {
                _rooms[message.ConversationId] = seen = new Seen();
            }

            return seen.Add(string.Concat(message.SenderId, "\n", message.ClientMsgId));
        }
    }

    /// <summary>The room was left: nothing of it is kept.</summary>
    public void Forget(string roomId)
    {
        lock (_lock)
        {
            _rooms.Remove(roomId);
        }
    }

    private sealed class Seen
    {
        private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
        private readonly Queue<string> _order = new();

        public bool Add(string key)
        {
            if (!_keys.Add(key))
            {
                return false;
            }

            _order.Enqueue(key);
            if (_order.Count > MaxPerRoom)
            {
                _keys.Remove(_order.Dequeue());
            }

            return true;
        }
    }
}
