namespace Orleans.Im.Bench.Load;

/// <summary>The outcome of a run's messages.</summary>
/// <param name="Sent">Messages sent.</param>
/// <param name="Acked">Acked as stored.</param>
/// <param name="Refused">Acked with an error (rate limit, unavailable, …): not expected to arrive.</param>
/// <param name="ExpectedDeliveries">Recipients × stored-or-unacked messages.</param>
/// <param name="Delivered">Expected deliveries that arrived (each counted once).</param>
/// <param name="Lost">Expected deliveries that never arrived.</param>
/// <param name="Duplicates">Arrivals beyond the expected count.</param>
/// <param name="Unknown">Arrivals of messages this run did not send.</param>
/// <param name="AckLatency">Send → ack, ms.</param>
/// <param name="DeliverLatency">Send → arrival at a recipient, ms.</param>
public sealed record DeliveryCounts(
    long Sent, long Acked, long Refused, long ExpectedDeliveries, long Delivered, long Lost, long Duplicates, long Unknown,
    LatencySummary AckLatency, LatencySummary DeliverLatency)
{
    /// <summary>Delivered ÷ expected (1 when nothing was expected).</summary>
    public double DeliveredRatio => ExpectedDeliveries == 0 ? 1 : (double)Delivered / ExpectedDeliveries;
}
