namespace Orleans.Im.Push;

/// <summary>
/// Hands notifications for devices that are not connected to the operator's push gateway. Never in the way of a
/// message: enqueuing only, and a notification the gateway does not take is dropped (the log is the truth).
/// </summary>
public interface IOfflineNotifier
{
    /// <summary>Whether a gateway is configured: without one, user grains compose nothing.</summary>
    bool Enabled { get; }

    /// <summary>Queues <paramref name="notification"/> for the gateway; never blocks.</summary>
    void Enqueue(OfflineNotification notification);
}
