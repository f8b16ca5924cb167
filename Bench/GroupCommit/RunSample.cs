namespace Orleans.Im.Bench.GroupCommit;

/// <summary>What one run of one configuration measured.</summary>
/// <param name="Messages">Messages appended and acknowledged.</param>
/// <param name="Elapsed">From the first append to the last acknowledgement.</param>
/// <param name="LatencyP50Ms">Median latency: of a batch for direct batches, of an acknowledgement for senders.</param>
/// <param name="LatencyP99Ms">99th percentile of the same latencies.</param>
/// <param name="Batches">Insert statements seen on the wire while the run ran.</param>
/// <param name="TimeLimited">True when the run stopped at its time limit before its message count.</param>
public sealed record RunSample(int Messages, TimeSpan Elapsed, double LatencyP50Ms, double LatencyP99Ms, long Batches, bool TimeLimited)
{
    public double MessagesPerSecond => Messages / Elapsed.TotalSeconds;

    /// <summary>Messages per insert statement; NaN when no statement was seen (the observer did not work).</summary>
    public double AverageBatchSize => Batches > 0 ? (double)Messages / Batches : double.NaN;
}
