using System.Collections.Frozen;

namespace Orleans.Im.Bench.Load;

/// <summary>
/// Where every user's received messages go. Client message ids are "{run tag}-{ledger index}"; arrivals from another run
/// (a previous sweep step) or from the user itself (its own message echoed to its devices) are ignored. Who received a
/// message is passed on, so the ledger can tell a duplicate at one user, or an arrival at the wrong one.
/// </summary>
public sealed class DeliverySink
{
    private volatile Target? _target;
    private FrozenDictionary<string, int> _slots = FrozenDictionary<string, int>.Empty;

    /// <summary>How many users are registered (slots 0 … n − 1).</summary>
    public int RegisteredUsers => _slots.Count;

    /// <summary>
    /// Numbers the run's users (their slots) for the ledger's per-recipient tracking; before any of them connects, as
    /// arrivals read the numbering without a lock.
    /// </summary>
    public void Register(IEnumerable<string> userIds)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        _slots = userIds.Distinct(StringComparer.Ordinal).Select((id, slot) => (id, slot))
            .ToFrozenDictionary(p => p.id, p => p.slot, StringComparer.Ordinal);
    }

    /// <summary>Starts counting arrivals of <paramref name="tag"/>'s messages into <paramref name="ledger"/>.</summary>
    public void Attach(string tag, DeliveryLedger ledger) => _target = new Target(tag + "-", ledger);

    public void OnMessage(string receiverId, string senderId, string clientMsgId)
    {
        var target = _target;
        if (target is null || string.Equals(receiverId, senderId, StringComparison.Ordinal)
            || !clientMsgId.StartsWith(target.Prefix, StringComparison.Ordinal))
        {
            return;
        }

        if (int.TryParse(clientMsgId.AsSpan(target.Prefix.Length), out var index))
        {
            target.Ledger.Delivered(index, receiverId, _slots.TryGetValue(receiverId, out var slot) ? slot : -1);
        }
    }

    private sealed record Target(string Prefix, DeliveryLedger Ledger);
}
