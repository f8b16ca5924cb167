namespace Orleans.Im.Push;

/// <summary>How a silo's outbox calls an edge's push observer: the newest way the edge said it takes, in that order.</summary>
internal enum EdgeCalls
{
    /// <summary><see cref="IEdgePushObserver.PushAsync"/>, one batch per call (edges from before the others).</summary>
    One = 0,

    /// <summary><see cref="IEdgePushObserver.PushManyAsync"/>, several batches per call.</summary>
    Many = 1,

    /// <summary><see cref="IEdgePushObserver.PushInOrderAsync"/>, several batches per numbered call.</summary>
    InOrder = 2,
}
