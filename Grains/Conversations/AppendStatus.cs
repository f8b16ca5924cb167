namespace Orleans.Im.Conversations;

/// <summary>What the message log did with an append.</summary>
public enum AppendStatus
{
    /// <summary>Committed under the seq asked for.</summary>
    Appended,

    /// <summary>The same sender already stored this client message id: the original seq and time come back.</summary>
    Duplicate,

    /// <summary>
    /// The seq is taken by another message: this activation's idea of the log head is stale (an earlier commit whose
    /// ack was lost, or another activation). The grain must reload the head.
    /// </summary>
    SeqTaken,

    /// <summary>
    /// Not stored because another message of its run was a duplicate or found its seq taken (a run is stored whole or
    /// not at all, so that seqs stay dense): nothing is wrong with it, and it is appended again.
    /// </summary>
    NotStored,
}
