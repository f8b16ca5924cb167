using Orleans.Im.EdgeHost.Drain;
using Orleans.Im.Push;

namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>A connected device that pushes are written to, whatever its transport (TCP, SignalR).</summary>
public interface IPushTarget
{
    /// <summary>The device this target is.</summary>
    string DeviceId { get; }

    /// <summary>Pushes (and replies) waiting in this device's outbound queue, for the push-queue metrics.</summary>
    int QueuedPushes { get; }

    /// <summary>
    /// Queues a batch for the device without waiting. A transport that cannot keep up drops it and tells the device
    /// to resync; it never blocks the caller, which serves every device of the user.
    /// </summary>
    void Push(UserEventBatch batch);

    /// <summary>
    /// Tells the device to sync and pull (a <c>resync</c> event): pushes may have been missed, e.g. while its user grain
    /// was activated again after a silo was lost.
    /// </summary>
    void RequestResync();

    /// <summary>Ends the connection with a reason the device can show (session ended, replaced by another login).</summary>
    void Kick(string reason);

    /// <summary>
    /// Ends the connection after telling the device where to reconnect (this edge host is draining). What was queued
    /// before goes out first; the device catches up on anything later by sync on its new edge.
    /// </summary>
    void Redirect(EdgeRedirect redirect);
}
