namespace Orleans.Im.Bench.Load;

/// <summary>
/// Where every user's received messages go. Client message ids are "{run tag}-{ledger index}"; arrivals from another run
/// (a previous sweep step) or from the user itself (its own message echoed to its devices) are ignored.
/// </summary>
public sealed class DeliverySink
{
    private volatile Target? _target;

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
            target.Ledger.Delivered(index);
        }
    }

    private sealed record Target(string Prefix, DeliveryLedger Ledger);
}
