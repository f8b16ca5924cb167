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
    /// Not stored because another message of its run was a duplicate, found its seq taken or was rejected (a run is stored whole or
    /// not at all, so that seqs stay dense): nothing is wrong with it, and it is appended again.
    /// </summary>
    NotStored,

    /// <summary>
    /// Refused by the database as invalid (a value it cannot store, such as a NUL character): a fault of this message
    /// alone that a retry cannot cure. The other messages of its batch are stored all the same, and the others of its
    /// run come back <see cref="NotStored"/>.
    /// </summary>
    Rejected,
}
