namespace Orleans.Im.Bench.Heap;

/// <summary>
/// What the request for a full GC came to: whether the target reported the end of an induced gen2 collection, its
/// number (the target's GC count), and how long the request took until then.
/// </summary>
public sealed record InducedGcResult(bool Confirmed, long GcNumber, double Seconds, string? Error);
