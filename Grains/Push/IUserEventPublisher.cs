using Orleans.Im.Users;

namespace Orleans.Im.Push;

/// <summary>
/// The grain side of the push path (DESIGN section 6): how a user grain hands events to the edges that hold the
/// user's devices. One seam, so the mechanism can be measured and swapped.
/// </summary>
public interface IUserEventPublisher
{
    /// <summary>Hands <paramref name="batch"/> to every edge that holds one of the user's devices.</summary>
    /// <param name="batch">The user's events.</param>
    /// <param name="routes">
    /// One entry per device to reach: the push observer of the edge holding it, or null for a device that takes its
    /// pushes from the user's stream.
    /// </param>
    Task PublishAsync(UserEventBatch batch, IEnumerable<IEdgePushObserver?> routes);

    /// <summary>
    /// Learns from a device's login what its route takes (whether its edge takes several batches per call), before
    /// anything is published to it.
    /// </summary>
    /// <param name="device">The device that logged in, as its edge describes it.</param>
    /// <param name="route">Its edge's push observer, or null for a device that takes its pushes from the user's stream.</param>
    void NoteRoute(DeviceSession device, IEdgePushObserver? route);
}
