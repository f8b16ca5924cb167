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
}
