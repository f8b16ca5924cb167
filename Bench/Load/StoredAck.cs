using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Bench.Load;

/// <summary>What a send ack's status means to the ledger: stored (owed to its recipients) or refused.</summary>
public static class StoredAck
{
    /// <summary>
    /// True for <see cref="SendStatus.Sent"/> and <see cref="SendStatus.Duplicate"/>: a duplicate is a resend of a message
    /// the server stored earlier (the SDK resends after a lost connection), so it is owed to its recipients as much as a
    /// first send. Counting it refused took a stored message out of the expected deliveries and its arrival became a
    /// "duplicate".
    /// </summary>
    public static bool IsStored(SendStatus status) => status is SendStatus.Sent or SendStatus.Duplicate;
}
