namespace Orleans.Im.Bench.Load;

/// <summary>The outcome of a run's messages.</summary>
/// <param name="Sent">Messages sent.</param>
/// <param name="Acked">Acked as stored.</param>
/// <param name="Refused">Acked with an error (rate limit, unavailable, …): not expected to arrive.</param>
/// <param name="ExpectedDeliveries">Recipients × stored-or-unacked messages.</param>
/// <param name="Delivered">Expected deliveries that arrived (each counted once).</param>
/// <param name="Lost">Expected deliveries that never arrived.</param>
/// <param name="Duplicates">
/// Arrivals at a recipient that had the message already (per recipient, see <see cref="PerRecipient"/>).
/// </param>
/// <param name="Unknown">Arrivals of messages this run did not send.</param>
/// <param name="AckLatency">Send → ack, ms; acks never answered are in it at their wait.</param>
/// <param name="DeliverLatency">Send → arrival at a recipient, ms; lost deliveries are in it at their wait (see <see cref="LatencySummary.Unarrived"/>).</param>
public sealed record DeliveryCounts(
    long Sent, long Acked, long Refused, long ExpectedDeliveries, long Delivered, long Lost, long Duplicates, long Unknown,
    LatencySummary AckLatency, LatencySummary DeliverLatency)
{
    /// <summary>Arrivals at a user the message was not for (counted neither delivered nor duplicate).</summary>
    public long Misdelivered { get; init; }

    /// <summary>
    /// True when duplicates were told per recipient. False when a run's messages to several users were too many to track
    /// each user's arrivals (<see cref="DeliveryLedger.MaxRecipientBitsetBytes"/>): their duplicates are then arrivals
    /// beyond the expected count, so one user's duplicate hides another's loss.
    /// </summary>
    public bool PerRecipient { get; init; } = true;

    /// <summary>Delivered ÷ expected (1 when nothing was expected).</summary>
    public double DeliveredRatio => ExpectedDeliveries == 0 ? 1 : (double)Delivered / ExpectedDeliveries;
}
