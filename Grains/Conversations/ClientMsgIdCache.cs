namespace Orleans.Im.Conversations;

/// <summary>
/// The most recent (sender, client message id) → (seq, time) pairs of a conversation, so that most retries are
/// answered without the database. Bounded; the database's unique key catches retries older than it remembers.
/// </summary>
public sealed class ClientMsgIdCache(int capacity)
{
    private readonly Dictionary<(string Sender, string ClientMsgId), (long Seq, DateTimeOffset Time)> _byId = [];
    private readonly Queue<(string, string)> _order = new();

    public bool TryGet(string senderId, string clientMsgId, out (long Seq, DateTimeOffset Time) original) =>
        _byId.TryGetValue((senderId, clientMsgId), out original);

    public void Remember(string senderId, string clientMsgId, long seq, DateTimeOffset time)
    {
        if (!_byId.TryAdd((senderId, clientMsgId), (seq, time)))
        {
            return;
        }

        _order.Enqueue((senderId, clientMsgId));
        if (_order.Count > capacity)
        {
            _byId.Remove(_order.Dequeue());
        }
    }
}
