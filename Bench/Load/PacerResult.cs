namespace Orleans.Im.Bench.Load;

/// <summary>What an <see cref="OpenLoopPacer"/> run issued, and how far behind its schedule it fell.</summary>
/// <param name="Issued">Items issued.</param>
/// <param name="MaxLag">
/// The largest delay of an item's issue behind its scheduled time (start + (n + 1) ÷ rate): how long the generator itself
/// stalled (GC, a blocked callback, no CPU). Latencies are timed from the schedule, so a stall shows in them; this says
/// how much of them may be the generator's.
/// </param>
public sealed record PacerResult(long Issued, TimeSpan MaxLag);
