namespace Orleans.Im.Bench.Load;

/// <summary>One measured messaging run.</summary>
/// <param name="OfferedRate">Messages per second the pacer issued.</param>
/// <param name="SendSeconds">The send phase.</param>
/// <param name="DrainSeconds">After the send phase, until every owed delivery arrived or the drain limit.</param>
/// <param name="Skipped">Sends not made because too many were awaiting their ack (the generator's own limit).</param>
/// <param name="Counts">What was sent, acked, delivered, lost, duplicated, and the latencies.</param>
/// <param name="Resources">CPU and memory of the generator and the hosts over the send phase and drain.</param>
/// <param name="Start">When the run began, and the load average then.</param>
/// <param name="MaxPacerLagMilliseconds">The largest delay of a send behind its scheduled time (see <see cref="PacerResult.MaxLag"/>).</param>
public sealed record MessagingRunResult(
    double OfferedRate, double SendSeconds, double DrainSeconds, long Skipped, DeliveryCounts Counts, IReadOnlyList<ResourceUse> Resources, RunStart Start,
    double MaxPacerLagMilliseconds)
{
    /// <summary>Sends the pacer issued: sent plus skipped.</summary>
    public long Offered { get; init; }

    /// <summary>Skipped ÷ offered (0 when nothing was offered).</summary>
    public double SkippedShare => Offered == 0 ? 0 : (double)Skipped / Offered;

    /// <summary>Refused ÷ offered: a refused send owes no delivery, so the delivered ratio does not show it.</summary>
    public double RefusedShare => Offered == 0 ? 0 : (double)Counts.Refused / Offered;

    /// <summary>Stored messages per second over the send phase.</summary>
    public double StoredPerSecond => Counts.Acked / SendSeconds;

    /// <summary>Deliveries per second over the send phase and drain.</summary>
    public double DeliveredPerSecond => Counts.Delivered / (SendSeconds + DrainSeconds);
}
