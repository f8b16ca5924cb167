namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>How an edge host takes its users' pushes from the cluster (<see cref="EdgeOptions.PushPath"/>).</summary>
public enum PushPath
{
    /// <summary>
    /// User grains call this edge's push observer directly (one-way), once per batch for all the user's devices here.
    /// Nothing is registered per user in the cluster: a login costs no stream subscription.
    /// </summary>
    Observer,

    /// <summary>
    /// This edge subscribes to each user's Orleans stream (provider <c>im</c>, namespace <c>user</c>) while it holds one
    /// of the user's devices. Each subscribe and unsubscribe is written to the stream pub-sub store.
    /// </summary>
    Stream,
}
