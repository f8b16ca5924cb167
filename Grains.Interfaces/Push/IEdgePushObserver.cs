using Orleans.Concurrency;

namespace Orleans.Im.Push;

/// <summary>
/// An edge host's push endpoint (a grain observer the edge creates once): a user grain calls it directly with the
/// user's events, for the devices of the user that edge holds. The alternative to the per-user stream on the push path
/// (DESIGN section 6), chosen per edge with <c>IM:Edge:PushPath</c>; see <c>docs/BENCHMARKS.md</c> for the figures.
/// </summary>
[Alias("im.IEdgePushObserver")]
public interface IEdgePushObserver : IGrainObserver
{
    /// <summary>
    /// Hands the edge a batch for every device of <see cref="UserEventBatch.UserId"/> it holds. One-way: pushes are hints
    /// (a lost one is found by the device's next sync), and a user grain must never wait on an edge.
    /// </summary>
    [OneWay, Alias("Push")]
    Task PushAsync(UserEventBatch batch);
}
