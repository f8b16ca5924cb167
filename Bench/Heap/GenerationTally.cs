namespace Orleans.Im.Bench.Heap;

/// <summary>
/// One generation (gen0, gen1, gen2, LOH, POH, frozen): the objects in it, their bytes, and the memory the GC has
/// committed for its segments (regions). Committed includes free space between objects and the unused end of a region.
/// </summary>
public sealed record GenerationTally(string Generation, long Objects, long Bytes, long CommittedBytes);
