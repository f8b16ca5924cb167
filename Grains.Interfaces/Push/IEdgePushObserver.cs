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

    /// <summary>
    /// Hands the edge several batches in one call, each handled as by <see cref="PushAsync"/>, in array order: a silo
    /// coalesces what its user grains push to one edge (a group message reaches many users on the same edge), so the
    /// per-call cost on both sides is paid once per flush instead of once per user. One-way, like <see cref="PushAsync"/>.
    /// A silo calls it only on edges that said they take it (<c>DeviceSession.EdgeTakesPushMany</c>): an edge from
    /// before this method keeps getting <see cref="PushAsync"/> during a rolling upgrade.
    /// </summary>
    /// <param name="batches">Batches for any users of this edge; those of one user are in the order they were pushed.</param>
    [OneWay, Alias("PushMany")]
    Task PushManyAsync(UserEventBatch[] batches);

    /// <summary>
    /// As <see cref="PushManyAsync"/>, numbered: Orleans does not keep one-way calls in the order they were made (now and
    /// then a call overtakes the one before it), so a silo numbers its calls to each edge and the edge hands them on in
    /// that order, waiting a moment for a call that was overtaken. A silo calls it only on edges that said they take it
    /// (<c>DeviceSession.EdgeTakesPushInOrder</c>).
    /// </summary>
    /// <param name="sender">Whose count the number is: a silo's queue for this edge (new when the silo starts, or made the queue again).</param>
    /// <param name="number">The call's number in that count: 1, 2, 3, …</param>
    /// <param name="batches">Batches for any users of this edge, in the order they were pushed.</param>
    [OneWay, Alias("PushInOrder")]
    Task PushInOrderAsync(long sender, long number, UserEventBatch[] batches);
}
